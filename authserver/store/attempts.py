"""Throttled attempts (logins, registrations): recorded before they are let through, so the
limits hold across replicas."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlmodel import Session, col, delete, select

from authserver.models import Attempt
from shared.database import SQLStore


class RecentAttempts(NamedTuple):
    """Times of the newest attempts of the same kind inside the window, newest first, the new
    one included: on the same email key (empty without one), and from the same network (empty
    without one)."""

    account: list[int]
    network: list[int]


class AttemptStore(SQLStore):
    def begin_attempt(
        self, attempt: Attempt, *, since: int, account_limit: int, network_limit: int
    ) -> tuple[int, RecentAttempts]:
        """Record an attempt before it is let through, then read the newest attempts of its
        kind after ``since`` on its email key and its network, at most ``account_limit`` and
        ``network_limit`` of them. Recording first is what holds with replicas: of attempts
        running at once, the one that reads last sees every one of them, so no more than the
        limit get through, however many arrive together."""
        with self._session() as session:
            session.add(attempt)
            session.flush()
            assert attempt.id is not None
            attempt_id = attempt.id
            session.commit()
            recent = RecentAttempts(
                account=[] if attempt.account_key is None else _attempt_times(
                    session, col(Attempt.account_key) == attempt.account_key, since,
                    account_limit,
                ),
                network=[] if attempt.network is None else _attempt_times(
                    session,
                    (col(Attempt.kind) == attempt.kind) & (col(Attempt.network) == attempt.network),
                    since, network_limit,
                ),
            )
        return attempt_id, recent

    def end_attempt(self, attempt_id: int) -> None:
        """Forget one attempt: it logged in, or it was refused without being let through."""
        with self._session() as session:
            session.exec(delete(Attempt).where(col(Attempt.id) == attempt_id))
            session.commit()


def _attempt_times(session: Session, same: Any, since: int, limit: int) -> list[int]:
    query = (
        select(Attempt.at)
        .where(same, col(Attempt.at) > since)
        .order_by(col(Attempt.at).desc())
        .limit(limit)
    )
    return list(session.exec(query))
