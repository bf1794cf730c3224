"""The protocol endpoints. The OAuth JSON endpoints (token, introspection, revocation,
registration) are one plain ASGI app each: read the request once, run the engine operation,
write its answer. What each endpoint does is its RFC's module in oauth/; a module per endpoint
here would only repeat this adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
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
        await self.reply(await self.answer(scope, receive), send)

    async def answer(self, scope: Scope, receive: Receive) -> OAuthResponse:
        """The request read, then the operation's answer; nothing is sent yet."""
        body = await read_body(receive) if scope["method"] in {"POST", "PUT"} else b""
        http = parse_request(scope, body, self.issuer)
        if self.prepare is not None:
            await self.prepare(http)
        return await self.operation(http)

    @staticmethod
    async def reply(response: OAuthResponse, send: Send) -> None:
        await send_response(response, send)
        if response.after is not None:
            await run_in_threadpool(response.after)


ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class Shortcut:
    """One endpoint taken straight from the outer middleware (request id, metrics, security
    headers), past every layer that only other routes need: Starlette's error and exception
    middleware, CORS (none on introspection), the page language (its answer has nothing for a
    person to read), the NUL check of the address (an exact path and no query: nothing to
    check; the form's is the bridge's) and the router. They took 8-10 % of each /introspect
    (py-spy, issue 14), and Starlette's error middleware 3 % more. Anything else on that path,
    another method, a query or a trailing slash, takes the whole stack and gets its usual
    answer.

    What those layers did for it, it does itself: a malformed request is the app's OAuth error,
    and a crash before the answer is ``on_error``'s answer (the app's own 500 handler, which
    logs it), then raised again for the server to log, as Starlette's error middleware does."""

    def __init__(
        self, app: ASGIApp, path: str, endpoint: OAuthEndpoint, on_error: ErrorHandler
    ) -> None:
        self.app = app
        self.path = path
        self.endpoint = endpoint
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST"
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        try:
            response = await self.endpoint.answer(scope, receive)
        except MalformedRequest as error:
            await malformed_response(error)(scope, receive, send)
            return
        except ClientDisconnect:
            return  # nobody is left to answer; half a request is never acted on
        except Exception as error:
            await (await self.on_error(Request(scope), error))(scope, receive, send)
            raise
        await self.endpoint.reply(response, send)
