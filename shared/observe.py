"""One ASGI middleware for what every HTTP request gets on both services: a request id (in
the logs and the X-Request-ID response header), metrics by route, and the service's fixed
response headers. One wrapper, because every layer is paid on the introspection hot path; and
an app that serves it outside Starlette's own error middleware."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Collection, Iterable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import request_id
from shared.metrics import Metrics

_SANE_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
# Made-up ids are unique, not secret: a random per-process prefix and a counter.
_PROCESS = secrets.token_hex(8)
_SEQUENCE = itertools.count(1)
# The status counted for a request left unanswered because its client went away.
CLIENT_GONE = 499


class ObservedApp(Starlette):
    """A Starlette app with ``outer`` middleware (Observe first) outside Starlette's own
    error middleware, where ``add_middleware`` would put it inside: the 500 answer to a crash
    gets its request id and fixed headers too, and is counted; and a shortcut there (an
    endpoint taken straight, authserver.endpoints.Shortcut) skips every layer Starlette adds."""

    def __init__(self, *, outer: Sequence[Middleware], **options: Any) -> None:
        super().__init__(**options)
        self.outer = list(outer)

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.outer):
            app = cls(app, *args, **kwargs)
        return app


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
        self._names = frozenset(name for name, _ in self.headers)
        self.fixed_paths = set(fixed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        current = _request_id(scope["headers"])
        token = request_id.set(current)
        observed = _Observed(send, receive, self, (b"x-request-id", current.encode()))
        try:
            await self.app(scope, observed.receive, observed)
        finally:
            request_id.reset(token)
            path = scope["path"].rstrip("/") or "/"
            route = path if path in self.fixed_paths else getattr(scope.get("route"), "path", "")
            self.metrics.http.record(
                route or "unmatched", scope["method"],
                # Unanswered: the client went away first (499, as nginx counts it), or else
                # the server answers with its own 500 (a crash, an app that never answered).
                observed.status or (CLIENT_GONE if observed.gone else 500),
                time.perf_counter() - started,
            )

    def marked(
        self, own: Sequence[tuple[bytes, bytes]], marks: tuple[bytes, bytes]
    ) -> list[tuple[bytes, bytes]]:
        """The response's own headers, then the fixed ones it does not set itself."""
        named = {name for name, _ in own}
        if named.isdisjoint(self._names):
            return [*own, *self.headers, marks]
        return [*own, *(header for header in self.headers if header[0] not in named), marks]


class _Observed:
    """The send of one request, marking its response's headers and noting its status. A plain
    call that hands back the server's own awaitable: no coroutine of its own per message (a
    closure's cost twice per request, on every request of both services). And its receive,
    noting whether the client went away."""

    __slots__ = ("_receive", "gone", "marks", "observe", "send", "status")

    def __init__(
        self, send: Send, receive: Receive, observe: Observe, marks: tuple[bytes, bytes]
    ) -> None:
        self.send, self._receive, self.observe, self.marks = send, receive, observe, marks
        self.status = 0  # none sent yet
        self.gone = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
        return message

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = self.observe.marked(message.get("headers", ()), self.marks)
        return self.send(message)


def _request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is sane, else a new one. Read from the raw header list:
    a Headers mapping and its KeyError for an absent header cost a fifth of this middleware."""
    for name, value in headers:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _SANE_ID.fullmatch(given):
                return given
            break
    return f"{_PROCESS}-{next(_SEQUENCE):x}"
