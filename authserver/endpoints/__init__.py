"""The protocol endpoints. The OAuth JSON endpoints (token, introspection, revocation,
registration) are one plain ASGI app each: read the request once, run the engine operation,
write its answer. What each endpoint does is its RFC's module in oauth/; a module per endpoint
here would only repeat this adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from authserver.oauth.bridge import (
    HttpRequest,
    OAuthResponse,
    parse_request,
    read_body,
    send_response,
)


class OAuthEndpoint:
    """Authlib and the store are synchronous, so the operation runs in the thread pool, unless
    ``on_loop`` says it costs less than the hop to a worker thread (introspection on SQLite).
    Plain ASGI rather than a Starlette endpoint: introspection is the hottest path there is,
    and Starlette's request and response objects cost a third of it. ``prepare`` runs on the
    event loop first, for what the operation needs from the network (a client's keys)."""

    def __init__(
        self,
        operation: Callable[[HttpRequest], OAuthResponse],
        issuer: str,
        *,
        on_loop: bool = False,
        prepare: Callable[[HttpRequest], Awaitable[None]] | None = None,
    ) -> None:
        self.operation = operation
        self.issuer = issuer
        self.on_loop = on_loop
        self.prepare = prepare

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive) if scope["method"] in {"POST", "PUT"} else b""
        http = parse_request(scope, body, self.issuer)
        if self.prepare is not None:
            await self.prepare(http)
        if self.on_loop:
            response = self.operation(http)
        else:
            response = await run_in_threadpool(self.operation, http)
        await send_response(response, send)
        if response.after is not None:
            await run_in_threadpool(response.after)
