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

Operation = Callable[[HttpRequest], Awaitable[OAuthResponse]]


def in_thread_pool(operation: Callable[[HttpRequest], OAuthResponse]) -> Operation:
    """Authlib and the store are synchronous: such an operation runs in the thread pool."""

    async def run(http: HttpRequest) -> OAuthResponse:
        return await run_in_threadpool(operation, http)

    return run


class OAuthEndpoint:
    """The operation is awaited on the event loop: a synchronous one comes wrapped
    (`in_thread_pool`), and introspection, the hottest path there is, awaits its read on the
    loop itself, with no hop to a worker thread. Plain ASGI rather than a Starlette endpoint:
    Starlette's request and response objects cost a third of introspection. ``prepare`` runs on
    the event loop first, for what the operation needs from the network (a client's keys)."""

    def __init__(
        self,
        operation: Operation,
        issuer: str,
        *,
        prepare: Callable[[HttpRequest], Awaitable[None]] | None = None,
    ) -> None:
        self.operation = operation
        self.issuer = issuer
        self.prepare = prepare

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive) if scope["method"] in {"POST", "PUT"} else b""
        http = parse_request(scope, body, self.issuer)
        if self.prepare is not None:
            await self.prepare(http)
        response = await self.operation(http)
        await send_response(response, send)
        if response.after is not None:
            await run_in_threadpool(response.after)
