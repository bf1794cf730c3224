"""The audit log: one call per event, from wherever it happens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from authserver.models import AuditEvent
from shared.metrics import Metrics

# Audit events that are also token outcomes in the metrics.
TOKEN_OUTCOMES = {
    "token.issued": "issued",
    "token.refreshed": "refreshed",
    "token.revoked": "revoked",
    "refresh_token.reuse_detected": "reuse_detected",
    "code.reuse_detected": "reuse_detected",
}


class EventLog(Protocol):
    """What the audit log needs of the store."""

    def record(self, event: AuditEvent) -> None: ...


class Audit:
    def __init__(self, store: EventLog, clock: Callable[[], int], metrics: Metrics) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics

    def record(
        self,
        event: str,
        *,
        actor: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        **detail: str | int | None,
    ) -> None:
        """``detail`` holds ids, scopes and emails; never a token, secret or password."""
        row = self.entry(event, actor=actor, client_id=client_id, ip=ip, **detail)
        self._store.record(row)
        self.stored(row)

    def entry(
        self,
        event: str,
        *,
        actor: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        **detail: str | int | None,
    ) -> AuditEvent:
        """The row of an event that the store writes in the transaction of what it records
        (a refresh token's rotation); `stored` once that transaction committed."""
        return AuditEvent(
            at=self._clock(),
            event=event,
            actor=actor,
            client_id=client_id,
            ip=ip,
            detail={key: value for key, value in detail.items() if value is not None},
        )

    def stored(self, row: AuditEvent) -> None:
        if row.event in TOKEN_OUTCOMES:
            self._metrics.token(TOKEN_OUTCOMES[row.event])
