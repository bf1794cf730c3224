"""The admin dashboard's counts: a handful of GROUP BY queries, each answered with a few rows
(one per role, kind, or event and hour) whatever the size of the tables."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from authserver.models import Account, AuditEvent, Client, Grant
from shared.database import SQLStore

HOUR = 3600


class StatisticsStore(SQLStore):
    def accounts_by_role(self) -> dict[str, int]:
        with self._session() as session:
            rows = session.exec(select(Account.role, func.count()).group_by(col(Account.role)))
            return dict(rows.all())

    def clients_by_kind(self) -> dict[str, int]:
        with self._session() as session:
            rows = session.exec(select(Client.kind, func.count()).group_by(col(Client.kind)))
            return dict(rows.all())

    def live_grant_count(self) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count()).select_from(Grant).where(col(Grant.revoked_at).is_(None))
            ).one()

    def hourly_events(self, events: tuple[str, ...], since: int) -> list[tuple[str, int, int]]:
        """(event, hour, count) of these audit events since ``since``; ``hour`` is Unix time
        // 3600. Hours, not days: a day is the hospital's (Europe/Paris), whose offset changes
        twice a year, and every UTC hour lies in one Paris day (the caller adds them up). A
        range of the (event, at) index per event; at most 24 rows per event and day."""
        hour = col(AuditEvent.at) // HOUR
        with self._session() as session:
            rows = session.exec(
                select(AuditEvent.event, hour, func.count())
                .where(col(AuditEvent.event).in_(events), col(AuditEvent.at) >= since)
                .group_by(col(AuditEvent.event), hour)
            )
            return [(event, int(bucket), count) for event, bucket, count in rows.all()]
