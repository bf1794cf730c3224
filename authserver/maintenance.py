"""Garbage collection: expired and spent rows, forgotten dynamic clients (Claude's hosted
connector registers a new client on every connection), and registrations never used."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from authserver.settings import Settings

log = logging.getLogger(__name__)


class Purgeable(Protocol):
    """What garbage collection needs of the store."""

    def purge(
        self, now: int, *, retention: int, unused_client_age: int, unused_registration_age: int,
        audit_retention: int, attempt_window: int,
    ) -> dict[str, int]: ...


def purge(settings: Settings, store: Purgeable, now: int) -> dict[str, int]:
    return store.purge(
        now,
        retention=settings.purge_retention,
        unused_client_age=settings.unused_client_age,
        unused_registration_age=settings.unused_registration_age,
        audit_retention=settings.audit_retention,
        # Attempts of either kind count for their own window; kept until both have passed.
        attempt_window=max(settings.login_failure_window, settings.registration_window),
    )


async def purge_every(settings: Settings, store: Purgeable, clock: Callable[[], int]) -> None:
    """On a schedule; every replica may run it (the deletes are idempotent)."""
    while True:
        await asyncio.sleep(settings.purge_interval)
        try:
            counts = await run_in_threadpool(purge, settings, store, clock())
        except Exception:
            log.exception("scheduled purge failed; retrying at the next interval")
        else:
            log.info("purged %s", counts)
