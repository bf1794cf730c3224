"""create_app(settings): the FastMCP server behind the bearer guard, plus RFC 9728 metadata."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import urlsplit

import httpx
from fastmcp import FastMCP
from fastmcp.server.http import StarletteWithLifespan
from fastmcp.server.middleware import Middleware
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware as AppMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from mcpserver import access_log
from mcpserver.auth import IntrospectionVerifier
from mcpserver.capabilities import StatelessCapabilities
from mcpserver.context import Services
from mcpserver.domain.store import DomainStore
from mcpserver.edge import RefuseNul
from mcpserver.guard import BearerGuard
from mcpserver.messages import CATALOGUE
from mcpserver.security_events import Feed, SecurityEventReceiver
from mcpserver.settings import DATA_ACCESS_PATH, MCP_PATH, Settings
from mcpserver.tools import (
    Tools,
    bookings,
    data_access,
    desk,
    hospitals,
    profile,
    records,
    schedule,
)
from shared import logs, scopes
from shared.cors import Cors, RouteCors
from shared.database import create_db_engine
from shared.health import Check, database_check, health_routes
from shared.metrics import Metrics
from shared.observe import Observe, ObservedApp

# What a browser page sends on /mcp (Streamable HTTP, with the current revision's routing
# headers) and must be able to read back (the 401 challenge, the session and revision).
MCP_REQUEST_HEADERS = (
    "Authorization", "Content-Type", "Accept", "Mcp-Session-Id", "Mcp-Protocol-Version",
    "Last-Event-ID", "Mcp-Method", "Mcp-Name",
)
MCP_RESPONSE_HEADERS = ("WWW-Authenticate", "Mcp-Session-Id", "Mcp-Protocol-Version")
# The metadata is public: any origin may read it, as the authorization server's.
_DOCUMENT = Cors(("GET",), headers=("MCP-Protocol-Version",))

log = logging.getLogger(__name__)

# Every answer is JSON or text: never to be sniffed into something a browser would run.
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]

INSTRUCTIONS = (
    "HospiAI: find French hospitals, their live status, doctors and free slots, and book or "
    "cancel the user's own appointments. Times are shown in Europe/Paris."
)


def build_mcp(
    guard: Sequence[Middleware] = (), *, step_up_max_age: int = 0,
    clock: Callable[[], float] = time.time,
) -> Tools:
    """The MCP server with every tool (each with its scope), resource template and prompt; no
    transport. ``guard``: middleware that runs before all the rest (over stdio, the token
    check, which the access log needs to know who is acting). ``step_up_max_age``: see
    mcpserver.user_authentication."""
    tools = Tools(FastMCP(
        "HospiAI", instructions=INSTRUCTIONS, mask_error_details=True,
        middleware=[*guard, StatelessCapabilities(), RefuseNul()],
    ), step_up_max_age=step_up_max_age, clock=clock)
    for area in (hospitals, bookings, profile, records, schedule, desk, data_access):
        area.register(tools)
    return tools


def protected_resource_metadata(settings: Settings) -> dict[str, object]:
    return {
        "resource": settings.resource,
        "authorization_servers": [settings.issuer],
        "scopes_supported": list(scopes.RESOURCE_NAMES),
        "bearer_methods_supported": ["header"],
        "resource_name": "HospiAI",
    }


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    # FastMCP sets up its own logger when imported (its own handlers, not propagating): its
    # records must go through the process's redacting handler like every other.
    logs.adopt("fastmcp")
    CATALOGUE.load()  # the French refusals, read now rather than on a first refusal
    store = DomainStore(create_db_engine(settings.database_url))
    tools = build_mcp(step_up_max_age=settings.step_up_max_age, clock=clock)
    mcp_app = _mcp_http_app(tools.mcp, settings)
    http_client = _introspection_client(transport)
    metadata = _metadata_endpoint(settings)
    metrics = Metrics("mcpserver")
    verifier = verifier_for(settings, http_client, clock)
    receiver = receiver_for(settings, http_client, verifier, metrics.registry)
    app = ObservedApp(
        outer=[AppMiddleware(Observe, metrics=metrics, headers=SECURITY_HEADERS,
                             fixed_paths={MCP_PATH})],
        routes=[
            Route(f"/.well-known/oauth-protected-resource{MCP_PATH}", metadata),
            Route("/.well-known/oauth-protected-resource", metadata),
            *health_routes([database_check(store), _authorization_server_check(
                settings, http_client)]),
            Route("/metrics", metrics.endpoint),
            Route(DATA_ACCESS_PATH, data_access.endpoint, methods=["GET"]),
            Mount("/", app=mcp_app),
        ],
        lifespan=_lifespan(settings, clock, store=store, tools=tools, mcp_app=mcp_app,
                           http_client=http_client, receiver=receiver),
    )
    app.add_middleware(
        BearerGuard, verifier=verifier,
        services=Services(store=store, clock=clock), settings=settings,
        tool_scopes=tools.scopes, strong_tools=tools.strong,
    )
    # Outside the guard, so that its 401 challenge is readable by an allowed page.
    app.add_middleware(RouteCors, routes=_cors_routes(settings))
    return app


def _lifespan(
    settings: Settings,
    clock: Callable[[], float],
    *,
    store: DomainStore,
    tools: Tools,
    mcp_app: StarletteWithLifespan,
    http_client: httpx.AsyncClient,
    receiver: SecurityEventReceiver | None,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Checks before serving (schema, tool declarations, the first access-log purge), the
    background jobs while serving (the purge, security events), then everything closed."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store.check_schema()
        await tools.check()
        if settings.purge_interval > 0:  # before serving: no request meets it half-done
            await access_log.purge(store, settings, clock)
        tasks = [asyncio.create_task(access_log.purge_every(store, settings, clock))]
        if receiver is not None:
            tasks.append(asyncio.create_task(receiver.run()))
        try:
            async with mcp_app.lifespan(app):
                yield
        finally:
            for task in tasks:
                task.cancel()
            # Its purge may be running in a worker thread: the engine goes after it ends.
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await http_client.aclose()
            store.dispose()

    return lifespan


def _introspection_client(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """One pooled client for every introspection call of this process."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(5.0),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        transport=transport,
    )


def _browser_origins(settings: Settings) -> tuple[str, ...]:
    # Named, since behind a TLS proxy the request itself looks like plain http.
    return (settings.origin, *settings.browser_origins)


def _cors_routes(settings: Settings) -> dict[str, Cors]:
    # DNS rebinding (MCP transports, security warning): a browser Origin must be this server's
    # own (its public one, or that of the Host named) or one the operator allowed, checked
    # before the token; FastMCP's own check below lets any loopback page through to a
    # loopback server.
    mcp = Cors(
        ("GET", "POST", "DELETE"), headers=MCP_REQUEST_HEADERS, expose=MCP_RESPONSE_HEADERS,
        origins=_browser_origins(settings), refuse_other_origins=True,
    )
    return {
        MCP_PATH: mcp,
        f"{MCP_PATH}/": mcp,
        f"/.well-known/oauth-protected-resource{MCP_PATH}": _DOCUMENT,
        "/.well-known/oauth-protected-resource": _DOCUMENT,
    }


def _mcp_http_app(mcp: FastMCP, settings: Settings) -> StarletteWithLifespan:
    # DNS rebinding: only the public host may be named in Host, and the Origin rule again.
    return mcp.http_app(
        path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        host_origin_protection=True,
        allowed_hosts=[urlsplit(settings.resource).hostname or ""],
        allowed_origins=list(_browser_origins(settings)),
    )


def receiver_for(
    settings: Settings, client: httpx.AsyncClient, cache: IntrospectionVerifier,
    registry: CollectorRegistry,
) -> SecurityEventReceiver | None:
    """The revocation feed's receiver, when it is on and there is a cache for it to evict."""
    if not settings.security_events_poll_ms or not settings.cache_ttl:
        return None
    feed = Feed(
        url=settings.security_events_url, client_id=settings.client_id,
        client_secret=settings.client_secret, issuer=settings.issuer,
        resource=settings.resource, interval=settings.security_events_poll_ms / 1000,
    )
    return SecurityEventReceiver(client, feed, cache, registry)


def verifier_for(
    settings: Settings, client: httpx.AsyncClient, clock: Callable[[], float]
) -> IntrospectionVerifier:
    """Introspection as this server does it, over HTTP or stdio."""
    return IntrospectionVerifier(
        client,
        introspection_url=settings.introspection_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        resource=settings.resource,
        issuer=settings.issuer,
        cache_ttl=settings.cache_ttl,
        cache_size=settings.cache_size,
        clock=clock,
    )


def _metadata_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    document = protected_resource_metadata(settings)

    async def metadata(_request: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})

    return metadata


def _authorization_server_check(
    settings: Settings, client: httpx.AsyncClient
) -> Check:
    # Readiness asks the authorization server where introspection reaches it (in compose, its
    # private service name): the public issuer URL may only resolve outside, through the proxy.
    introspection = urlsplit(settings.introspection_url)
    authorization_server = (
        f"{introspection.scheme}://{introspection.netloc}/.well-known/oauth-authorization-server"
    )

    async def authorization_server_check() -> str | None:
        try:
            answer = await client.get(authorization_server, timeout=2)
        except httpx.HTTPError:
            return "the authorization server cannot be reached"
        return None if answer.status_code == 200 else "the authorization server is not answering"

    return authorization_server_check
