"""Login sessions: a row per logged-in browser, read once per page request by the hash of its
cookie's secret, and ended by deleting it (so a copied cookie stops working at once)."""

from __future__ import annotations

from sqlalchemy.sql.dml import Delete
from sqlmodel import col, delete, select, update

from authserver.models import Account, AccountSession
from shared.database import SQLStore


def ending_sessions(account_id: str) -> Delete:
    """The statement that ends every session of an account: run in the transaction of the change
    that requires it (a disabled account, a new password), so none outlives it."""
    return delete(AccountSession).where(col(AccountSession.account_id) == account_id)


class SessionStore(SQLStore):
    def add_session(self, row: AccountSession) -> None:
        self._add(row)

    def live_session(self, secret_hash: str, now: int) -> tuple[AccountSession, Account] | None:
        """The unexpired session with this secret, and its account if it is active: one point
        read of a unique index, joined to the account's primary key."""
        with self._session() as session:
            found = session.exec(
                select(AccountSession, Account)
                .join(Account, col(Account.id) == col(AccountSession.account_id))
                .where(
                    col(AccountSession.secret_hash) == secret_hash,
                    col(AccountSession.expires_at) > now,
                    ~col(Account.disabled),
                )
            ).first()
        return None if found is None else (found[0], found[1])

    def saw_session(self, session_id: str, now: int, *, unless_since: int) -> None:
        """Record a use, unless one after ``unless_since`` is recorded already (another request
        or replica did it): at most one write per session in that time."""
        with self._session() as session:
            session.exec(
                update(AccountSession)
                .where(
                    col(AccountSession.id) == session_id,
                    col(AccountSession.last_seen_at) < unless_since,
                )
                .values(last_seen_at=now)
            )
            session.commit()

    def second_factor_given(self, session_id: str, amr: str, now: int) -> None:
        """The session's user just gave a second factor: it counts in full, authenticated now."""
        with self._session() as session:
            session.exec(
                update(AccountSession)
                .where(col(AccountSession.id) == session_id)
                .values(amr=amr, auth_time=now, second_factor_due=False)
            )
            session.commit()

    def account_sessions(self, account_id: str, now: int) -> list[AccountSession]:
        """The account's unexpired sessions, the most recently seen first."""
        with self._session() as session:
            return list(
                session.exec(
                    select(AccountSession)
                    .where(
                        col(AccountSession.account_id) == account_id,
                        col(AccountSession.expires_at) > now,
                    )
                    .order_by(col(AccountSession.last_seen_at).desc(), col(AccountSession.id))
                )
            )

    def end_session(self, secret_hash: str) -> bool:
        """Logout: the session this cookie names ends."""
        return self._delete(
            delete(AccountSession).where(col(AccountSession.secret_hash) == secret_hash)
        ) == 1

    def end_account_session(self, account_id: str, session_id: str) -> bool:
        """One of the account's own sessions ends; False if it has none by that id."""
        return self._delete(
            delete(AccountSession).where(
                col(AccountSession.id) == session_id,
                col(AccountSession.account_id) == account_id,
            )
        ) == 1

    def end_account_sessions(self, account_id: str) -> int:
        """Log out everywhere: the number of sessions ended."""
        return self._delete(ending_sessions(account_id))

    def _delete(self, statement: Delete) -> int:
        with self._session() as session:
            count = session.exec(statement).rowcount
            session.commit()
        return count
