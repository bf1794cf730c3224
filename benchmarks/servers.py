"""One server per process for the benchmark, pinned by the caller to its own core.

kinds: auth (authorization server), mcp (MCP server behind the guard), mcp-noauth (the same
server with a fixed identity in the guard's place and no token check: the baseline), bare
(Starlette endpoint returning constant JSON: the baseline for introspection), mcp-unlogged (the
MCP server with the health-data access log recording nothing: the baseline for the log's
cost), auth-stack (the authorization server's own HTTP stack around /introspect answering
without any check: what the stack costs), auth-floor (introspection's own work alone, with
no stack: how close to the baseline any introspection can get), mcp-2 (a second
replica of mcp), mcp-nofeed (mcp without the revocation feed: the baseline for its cost)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import logs, serving

if TYPE_CHECKING:
    from fastmcp.server.middleware import Middleware

    from authserver.settings import Settings as AuthSettings
    from mcpserver.settings import Settings as McpSettings
    from mcpserver.tools import Tools

def _bare() -> Starlette:
    async def constant(_request: Request) -> Response:
        return JSONResponse({"active": False})

    return Starlette(routes=[Route("/bare", constant, methods=["GET", "POST"])])


def _auth_stack(settings: AuthSettings) -> Starlette:
    """What every /introspect call pays before and after its own work: the request read and
    parsed, the route, request id, metrics and headers, a JSON answer. No credential check, no
    token lookup, no database."""
    from starlette.middleware import Middleware

    from authserver.app import SECURITY_HEADERS, server_error
    from authserver.endpoints import INTROSPECTION_PATH, OAuthEndpoint, Shortcut
    from authserver.oauth.bridge import HttpRequest, OAuthResponse
    from shared.metrics import Metrics
    from shared.observe import Observe, ObservedApp

    async def unchecked(_http: HttpRequest) -> OAuthResponse:
        return OAuthResponse(200, {"active": False}, [])

    # On the event loop and past the router, as /introspect runs (authserver.app).
    endpoint = OAuthEndpoint(unchecked, settings.issuer)
    return ObservedApp(
        outer=[
            Middleware(Observe, metrics=Metrics("authserver"), headers=SECURITY_HEADERS,
                       fixed_paths={INTROSPECTION_PATH}),
            Middleware(Shortcut, path=INTROSPECTION_PATH, endpoint=endpoint,
                       on_error=server_error),
        ],
        routes=[Route(INTROSPECTION_PATH, endpoint, methods=["POST"])],
    )


def _auth_floor(settings: AuthSettings) -> ASGIApp:
    """What any introspection must do and nothing more, as the issue counts it: the form and
    Basic parse, two HMACs, the one point read, the 12-claim answer. Raw ASGI: no middleware,
    no request id, metrics or security headers, no check of repeats, NUL or malformed input.
    Never a server to run: the floor that /introspect's ratio to bare Starlette can approach."""
    import base64
    from urllib.parse import parse_qsl

    from pydantic_core import to_json

    from authserver.app import build_context
    from authserver.oauth.egress import Egress
    from authserver.oauth.introspection import Introspection
    from authserver.security import PASSWORDS
    from shared.clock import unix_now

    context = build_context(settings, unix_now, Egress(), PASSWORDS)
    keys, store, claims = context.keys, context.store, Introspection(context).claims

    async def floor(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        basic = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        caller, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        token = dict(parse_qsl((await receive())["body"].decode())).get("token", "")
        now = unix_now()
        found = store.introspection(caller, keys.hash_secret(token), now)
        authenticated = found is not None and found.authenticates(keys.hash_secret(secret), now)
        body = to_json(await claims(found.token if found and authenticated else None))
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    return floor


def _mcp_without_auth(settings: McpSettings) -> object:
    """The MCP server as create_app composes it (CORS, the transport's host and origin
    checks, metrics, security headers), its bearer guard replaced by a fixed identity: what
    authentication costs is all that differs. ``settings`` have the revocation feed off, which
    only the token cache needs."""
    from starlette.middleware import Middleware

    from mcpserver.app import create_app
    from mcpserver.auth import Identity
    from mcpserver.context import Call, Services, enter, leave
    from mcpserver.guard import BearerGuard

    app = create_app(settings)
    guard = next(
        layer for layer in app.user_middleware if getattr(layer, "cls", None) is BearerGuard
    )
    services = guard.kwargs["services"]
    assert isinstance(services, Services)
    identity = Identity(sub="bench", client_id="bench", scopes=frozenset({"read:data"}),
                        email="bench@hospiai.test", given_name="B", family_name="B",
                        role="patient", expires_at=2**40)
    call = Call(identity, services)

    class FixedIdentity:
        """Stands where the bearer guard stands, without checking anything."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            token = enter(call)
            try:
                await self.app(scope, receive, send)
            finally:
                leave(token)

    app.user_middleware[app.user_middleware.index(guard)] = Middleware(FixedIdentity)
    return app


def _mcp_unlogged(settings: McpSettings) -> object:
    """The MCP server whose health-data access log records no tool: its baseline."""
    from mcpserver import app as mcp_app_module

    build = mcp_app_module.build_mcp

    def unlogged(
        guard: Sequence[Middleware] = (), *, step_up_max_age: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> Tools:
        tools = build(guard, step_up_max_age=step_up_max_age, clock=clock)
        tools.logged.clear()
        return tools

    mcp_app_module.build_mcp = unlogged
    return mcp_app_module.create_app(settings)


def _auth(config: dict[str, Any], kind: str) -> object:
    from authserver.app import create_app
    from authserver.settings import Settings

    settings = Settings(**config["auth"])
    if kind == "auth-floor":
        return _auth_floor(settings)
    return _auth_stack(settings) if kind == "auth-stack" else create_app(settings)


def _mcp(config: dict[str, Any], kind: str) -> object:
    from mcpserver.app import create_app
    from mcpserver.settings import Settings

    settings = Settings(**config["mcp"])
    without_feed = Settings(**{**config["mcp"], "security_events_poll_ms": 0})
    if kind == "mcp-nofeed":
        return create_app(without_feed)
    if kind == "mcp-unlogged":
        return _mcp_unlogged(settings)
    if kind == "mcp-noauth":
        return _mcp_without_auth(without_feed)
    return create_app(settings)


def main() -> None:
    kind, port, config = sys.argv[1], int(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text())
    # Each process imports only its own service, as `hospiai authserver` and `hospiai
    # mcpserver` do: an MCP server that had loaded the authorization server too (Authlib,
    # argon2, its pages) was 13 MiB larger than production's, and its RSS is a target.
    if kind.startswith("auth"):
        app = _auth(config, kind)
    elif kind.startswith("mcp"):
        app = _mcp(config, kind)
    else:
        app = _bare()
    # Served as `hospiai authserver` and `hospiai mcpserver` serve (shared.serving.config).
    logs.configure(structured=True, level="WARNING")
    serving.Server(serving.config(app, serving.Loopback(port))).run()  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
