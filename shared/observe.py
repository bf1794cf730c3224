"""One ASGI middleware for what every HTTP request gets on both services: a request id (in
the logs and the X-Request-ID response header), metrics by route, and the service's fixed
response headers. One wrapper, because every layer is paid on the introspection hot path."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Collection, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import request_id
from shared.metrics import Metrics

_SANE_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
# Made-up ids are unique, not secret: a random per-process prefix and a counter.
_PROCESS = secrets.token_hex(8)
_SEQUENCE = itertools.count(1)


class Observe:
    """``headers``: what every response gets, unless it sets that header itself (a page with
    its own security policy). ``fixed_paths`` are routes by themselves; every other request is
    labelled by its route template, never by a raw path whose ids would explode the label
    set."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        headers: Sequence[tuple[bytes, bytes]] = (),
        fixed_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = list(headers)
        self.fixed_paths = set(fixed_paths)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        given = Headers(scope=scope).get("x-request-id", "")
        current = given if _SANE_ID.fullmatch(given) else f"{_PROCESS}-{next(_SEQUENCE):x}"
        token = request_id.set(current)

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                own = message.get("headers", [])
                named = {name for name, _ in own}
                message["headers"] = [
                    *own,
                    *(header for header in self.headers if header[0] not in named),
                    (b"x-request-id", current.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            request_id.reset(token)
            path = scope["path"].rstrip("/") or "/"
            route = path if path in self.fixed_paths else getattr(scope.get("route"), "path", "")
            count, latency = self._labelled(route or "unmatched", scope["method"], status)
            count.inc()
            latency.observe(time.perf_counter() - started)

    def _labelled(self, route: str, method: str, status: int) -> tuple[Any, Any]:
        """The labelled series, looked up once per label set (labels() costs more than the
        increment)."""
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            metrics = self.metrics
            series = self._series[key] = (
                metrics.requests.labels(metrics.service, route, method, str(status)),
                metrics.latency.labels(metrics.service, route),
            )
        return series
