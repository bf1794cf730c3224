"""Login attempts: recorded before the password is checked, so throttling holds across
replicas."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlmodel import Session, col, delete, select

from authserver.models import LoginAttempt
from shared.database import SQLStore


class RecentAttempts(NamedTuple):
    """Times of the newest login attempts inside the window, newest first, the new one
    included: on the same email key, and from the same network (empty without one)."""

    account: list[int]
    network: list[int]


class LoginAttemptStore(SQLStore):
    def begin_login_attempt(
        self, attempt: LoginAttempt, *, since: int, account_limit: int, network_limit: int
    ) -> tuple[int, RecentAttempts]:
        """Record an attempt before its password is checked, then read the newest attempts
        after ``since`` on its email key and its network, at most ``account_limit`` and
        ``network_limit`` of them. Recording first is what holds with replicas: of attempts
        running at once, the one that reads last sees every one of them, so no more than the
        limit get their password checked, however many arrive together."""
        with self._session() as session:
            session.add(attempt)
            session.flush()
            assert attempt.id is not None
            attempt_id = attempt.id
            session.commit()
            recent = RecentAttempts(
                account=_attempt_times(
                    session, col(LoginAttempt.account_key) == attempt.account_key, since,
                    account_limit,
                ),
                network=[] if attempt.network is None else _attempt_times(
                    session, col(LoginAttempt.network) == attempt.network, since, network_limit
                ),
            )
        return attempt_id, recent

    def end_login_attempt(self, attempt_id: int) -> None:
        """Forget one attempt: it logged in, or it was refused without a password check."""
        with self._session() as session:
            session.exec(delete(LoginAttempt).where(col(LoginAttempt.id) == attempt_id))
            session.commit()


def _attempt_times(session: Session, same: Any, since: int, limit: int) -> list[int]:
    query = (
        select(LoginAttempt.at)
        .where(same, col(LoginAttempt.at) > since)
        .order_by(col(LoginAttempt.at).desc())
        .limit(limit)
    )
    return list(session.exec(query))
