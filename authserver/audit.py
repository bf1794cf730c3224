"""The audit log: one call per event, from wherever it happens."""

from __future__ import annotations

from collections.abc import Callable

from authserver.models import AuditEvent
from authserver.store import Store


class Audit:
    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self._store = store
        self._clock = clock

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
        self._store.record(
            AuditEvent(
                at=self._clock(),
                event=event,
                actor=actor,
                client_id=client_id,
                ip=ip,
                detail={key: value for key, value in detail.items() if value is not None},
            )
        )
