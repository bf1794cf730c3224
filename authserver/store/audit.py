"""The audit log's rows: written once, read newest first by the admin console."""

from __future__ import annotations

from sqlmodel import col, select

from authserver.models import AuditEvent
from shared.database import SQLStore


class AuditEventStore(SQLStore):
    def record(self, event: AuditEvent) -> None:
        self._add(event)

    def audit_events(
        self,
        *,
        event: str | None = None,
        actor: str | None = None,
        client_id: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        """Newest first; ``event`` matches a prefix ("token." for every token event); pages
        continue ``before`` the last id seen."""
        query = select(AuditEvent)
        if event:
            query = query.where(col(AuditEvent.event).startswith(event, autoescape=True))
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if client_id:
            query = query.where(AuditEvent.client_id == client_id)
        if before is not None:
            query = query.where(col(AuditEvent.id) < before)
        with self._session() as session:
            return list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)))
