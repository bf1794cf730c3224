"""The protocol endpoints. The OAuth JSON endpoints (token, introspection, revocation,
registration) are one plain ASGI app each: read the request once, run the engine operation,
write its answer. What each endpoint does is its RFC's module in oauth/; a module per endpoint
here would only repeat this adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.oauth.bridge import (
    HttpRequest,
    MalformedRequest,
    OAuthResponse,
    malformed_response,
    parse_request,
    read_body,
    send_response,
)

INTROSPECTION_PATH = "/introspect"

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


class Shortcut:
    """One endpoint taken straight from the outer middleware (request id, metrics, security
    headers; unexpected errors are still Starlette's 500, outside it), past the layers that
    only other routes need: CORS (none on introspection), the page language (its answer has
    nothing for a person to read), the NUL check of the address (an exact path and no query:
    nothing to check; the form's is the bridge's), the exception middleware and the router.
    They took 8-10 % of each /introspect (py-spy, issue 14). Anything else on that path, another
    method, a query or a trailing slash, takes the whole stack and gets its usual answer."""

    def __init__(self, app: ASGIApp, path: str, endpoint: OAuthEndpoint) -> None:
        self.app = app
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST"
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        try:
            await self.endpoint(scope, receive, send)
        except MalformedRequest as error:
            # Raised while reading the request, before any answer (the app's own handler).
            await malformed_response(error)(scope, receive, send)
