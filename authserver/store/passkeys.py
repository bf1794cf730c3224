"""Passkeys (WebAuthn credentials) and the single use of their challenges. A sign count moves
only forwards, by a conditional UPDATE; a challenge is used by an insert its primary key
decides; both correct on any number of replicas."""

from __future__ import annotations

from sqlmodel import col, delete, or_, select, update

from authserver.models import Account, Passkey, UsedChallenge
from authserver.store.factors import keeping_one
from shared.database import SQLStore


class PasskeyStore(SQLStore):
    def add_passkey(self, row: Passkey) -> bool:
        """False when the credential is registered already (to this account or another)."""
        with self._session() as session:
            session.add(row)
            return self._commit_new(session)

    def passkeys(self, account_id: str) -> list[Passkey]:
        """The account's passkeys, the oldest first."""
        with self._session() as session:
            return list(session.exec(
                select(Passkey).where(col(Passkey.account_id) == account_id)
                .order_by(col(Passkey.created_at), col(Passkey.id))
            ))

    def passkey_by_credential(self, credential_id: bytes) -> tuple[Passkey, Account] | None:
        """The passkey an assertion names, and its account if that is active: a passkey of a
        disabled account is no passkey."""
        with self._session() as session:
            found = session.exec(
                select(Passkey, Account)
                .join(Account, col(Account.id) == col(Passkey.account_id))
                .where(col(Passkey.credential_id) == credential_id, ~col(Account.disabled))
            ).first()
        return None if found is None else (found[0], found[1])

    def passkey_used(self, passkey_id: str, seen_count: int, new_count: int, now: int) -> bool:
        """An assertion verified against ``seen_count``: its count recorded if no other use
        moved it meanwhile (a cloned authenticator racing the real one loses). An authenticator
        that counts nothing reports 0 every time (WebAuthn section 6.1.1)."""
        return self._update_one(
            update(Passkey)
            .where(
                col(Passkey.id) == passkey_id,
                or_(col(Passkey.sign_count) == seen_count, new_count == 0),
            )
            .values(sign_count=new_count, last_used_at=now)
        )

    def remove_passkey(self, account_id: str, passkey_id: str, *, keep_one: bool = False
                       ) -> bool:
        """One of the account's own passkeys goes; False if it has none by that id, or if
        ``keep_one`` (the account's role requires a second factor) and it is the last."""
        with self._session() as session:
            condition = (
                [keeping_one(session, account_id, but_passkey=passkey_id)] if keep_one else []
            )
            removed = session.exec(
                delete(Passkey).where(
                    col(Passkey.id) == passkey_id, col(Passkey.account_id) == account_id,
                    *condition,
                )
            ).rowcount
            session.commit()
        return removed == 1

    def remove_passkeys(self, account_id: str) -> int:
        """Every passkey of the account goes (an admin's reset): how many there were."""
        with self._session() as session:
            removed = session.exec(
                delete(Passkey).where(col(Passkey.account_id) == account_id)
            ).rowcount
            session.commit()
        return removed

    def with_passkeys(self, account_ids: list[str]) -> dict[str, int]:
        """How many passkeys each of the accounts that have one has (the console's list)."""
        counts: dict[str, int] = {}
        with self._session() as session:
            for account_id in session.exec(
                select(Passkey.account_id).where(col(Passkey.account_id).in_(account_ids))
            ):
                counts[account_id] = counts.get(account_id, 0) + 1
        return counts

    def use_challenge(self, challenge_hash: str, now: int, expires_at: int) -> bool:
        """The challenge answered now, for the first time; False when it was before (a replay).
        Of concurrent uses, on one replica or several, exactly one insert succeeds."""
        with self._session() as session:
            session.exec(
                delete(UsedChallenge).where(
                    col(UsedChallenge.challenge_hash) == challenge_hash,
                    col(UsedChallenge.expires_at) < now,
                )
            )
            session.add(UsedChallenge(challenge_hash=challenge_hash, expires_at=expires_at))
            return self._commit_new(session)
