"""Accounts: who may log in, and with which role."""

from __future__ import annotations

from sqlmodel import col, select, update

from authserver.models import Account
from authserver.store.search import contains_text
from authserver.store.security_events import (
    SecurityEventStore,
    account_disabled,
    claims_changed,
)
from authserver.store.sessions import ending_sessions


class AccountStore(SecurityEventStore):
    def add_account(self, account: Account) -> None:
        self._add(account)

    def account(self, account_id: str) -> Account | None:
        with self._session() as session:
            return session.get(Account, account_id)

    def account_by_email(self, email: str) -> Account | None:
        with self._session() as session:
            return session.exec(select(Account).where(Account.email_key == email.lower())).first()

    def set_account_disabled(self, account_id: str, disabled: bool, now: int) -> bool:
        """Disabling also ends every session of the account and records its event, in the
        same transaction."""
        return self._update_one(
            update(Account).where(col(Account.id) == account_id).values(disabled=disabled),
            then=[ending_sessions(account_id), *self._recording(account_disabled(account_id, now))]
            if disabled else [],
        )

    def set_account_password(self, account_id: str, password_hash: str) -> bool:
        """A new password ends every session of the account, in the same transaction: whoever
        knew the old one is logged out too."""
        return self._update_one(
            update(Account).where(col(Account.id) == account_id)
            .values(password_hash=password_hash),
            then=[ending_sessions(account_id)],
        )

    def search_accounts(self, query: str, *, offset: int = 0, limit: int = 50) -> list[Account]:
        """Accounts whose email or name contains ``query`` (any case; every account if it is
        empty), by email: a page of the unique email index."""
        select_accounts = select(Account)
        if query:
            select_accounts = select_accounts.where(contains_text(
                query, col(Account.email_key), col(Account.family_name), col(Account.given_name),
            ))
        with self._session() as session:
            return list(session.exec(
                select_accounts.order_by(col(Account.email_key)).offset(offset).limit(limit)
            ))

    def account_emails(self, account_ids: set[str]) -> dict[str, str]:
        """The email of each of these accounts that exists (the audit log's actors)."""
        if not account_ids:
            return {}
        with self._session() as session:
            rows = session.exec(
                select(Account.id, Account.email).where(col(Account.id).in_(account_ids))
            )
            return dict(rows.all())

    def set_account_role(self, account_id: str, role: str, now: int) -> bool:
        """With its event: resource servers drop the answers that claim the old role."""
        return self._update_one(
            update(Account).where(col(Account.id) == account_id).values(role=role),
            then=self._recording(claims_changed(account_id, {"role": role}, now)),
        )

    def replace_password_hash(self, account_id: str, old_hash: str, new_hash: str) -> bool:
        """Re-hash a password at login; False if the hash changed since it was verified."""
        return self._update_one(
            update(Account)
            .where(col(Account.id) == account_id, col(Account.password_hash) == old_hash)
            .values(password_hash=new_hash)
        )
