"""Liveness and readiness endpoints, the same on both services.

/healthz: the process answers. /readyz: what it depends on answers too (503 with the reason
otherwise), so an orchestrator sends traffic only to replicas that can serve it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.database import SQLStore
from shared.http import NO_STORE

log = logging.getLogger(__name__)

# Each check returns None when ready, or a short reason that is safe to show.
Check = Callable[[], Awaitable[str | None]]


def health_routes(checks: list[Check]) -> list[Route]:
    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(_request: Request) -> Response:
        for check in checks:
            reason = await check()
            if reason is not None:
                return JSONResponse(
                    {"status": "unavailable", "reason": reason}, status_code=503, headers=NO_STORE
                )
        return JSONResponse({"status": "ready"}, headers=NO_STORE)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def database_check(store: SQLStore) -> Check:
    async def check() -> str | None:
        try:
            await run_in_threadpool(store.ping)
        except Exception:
            log.exception("readiness: the database cannot be reached")
            return "the database cannot be reached"
        return None

    return check
