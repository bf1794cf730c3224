"""Memberships: which hospitals a staff account belongs to."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam
from sqlalchemy import select as select_columns
from sqlmodel import col, delete, select

from authserver.models import Membership
from authserver.store.security_events import SecurityEventStore, claims_changed

_HOSPITAL_IDS = (
    select_columns(col(Membership.hospital_id))
    .where(col(Membership.account_id) == bindparam("account_id"))
    .order_by(col(Membership.hospital_id))
)


class MembershipStore(SecurityEventStore):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # Introspection reads it for every staff token, on the event loop.
        self._hospital_ids = self._hot_read(_HOSPITAL_IDS)

    def add_membership(self, membership: Membership) -> bool:
        """False when the account already belongs to the hospital (nothing changes): the
        primary key decides, so two concurrent adds store one row."""
        with self._session() as session:
            session.add(membership)
            return self._commit_new(session)

    def remove_membership(self, account_id: str, hospital_id: str, now: int) -> bool:
        """With its event, naming the hospitals left: resource servers drop the answers that
        still claim this one."""
        with self._session() as session:
            removed = session.exec(
                delete(Membership).where(
                    col(Membership.account_id) == account_id,
                    col(Membership.hospital_id) == hospital_id,
                )
            ).rowcount
            if removed == 1:
                left = session.exec(
                    select(Membership.hospital_id)
                    .where(Membership.account_id == account_id)
                    .order_by(col(Membership.hospital_id))
                ).all()
                self._record_in(
                    session, claims_changed(account_id, {"hospital_ids": list(left)}, now)
                )
            session.commit()
        return bool(removed == 1)

    def hospital_ids(self, account_id: str) -> list[str]:
        """The hospitals ``account_id`` belongs to, sorted."""
        return [str(row[0]) for row in self._hospital_ids.all({"account_id": account_id})]

    async def hospital_ids_on_loop(self, account_id: str) -> list[str]:
        """`hospital_ids`, for the event loop: it never blocks it (see HotRead)."""
        rows = await self._hospital_ids.all_on_loop({"account_id": account_id})
        return [str(row[0]) for row in rows]
