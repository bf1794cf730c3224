"""/healthz and /readyz on both services: ready only when what they depend on answers."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import create_engine

from mcpserver.app import create_app as create_mcp_app
from mcpserver.domain.store import DomainStore
from mcpserver.settings import Settings as McpSettings
from shared.database import SQLStore, create_db_engine
from shared.health import database_check
from tests.databases import Databases
from tests.harness import AuthServer, Stack
from tests.servers import bind_loopback, serve


def test_both_services_are_live_and_ready(stack: Stack) -> None:
    mcp_base = stack.mcp_url.removesuffix("/mcp")
    for base in (stack.auth.url, mcp_base):
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    # The MCP server is not ready without its authorization server, but still alive.
    stack.auth.stop()
    ready = httpx.get(f"{mcp_base}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable",
                            "reason": "the authorization server cannot be reached"}
    assert httpx.get(f"{mcp_base}/healthz").status_code == 200


def test_an_unreachable_database_is_not_ready() -> None:
    store = SQLStore(create_engine("sqlite:////nonexistent-directory/hospiai.sqlite3"))
    async def check() -> str | None:
        return await database_check(store)()

    assert asyncio.run(check()) == "the database cannot be reached"


def test_the_mcp_server_checks_the_authorization_server_where_it_introspects(
    auth_server: AuthServer, databases: Databases
) -> None:
    """In compose the MCP server reaches the AS by its service name; the public issuer URL
    (here a port nothing listens on) may not be reachable from inside."""
    nobody = bind_loopback()
    issuer = f"http://127.0.0.1:{nobody.getsockname()[1]}"
    nobody.close()
    sock = bind_loopback()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = McpSettings(
        resource=f"{base}/mcp",
        issuer=issuer,
        client_id=auth_server.resource_server.id,
        client_secret=auth_server.resource_server.secret or "",
        introspection_url=f"{auth_server.url}/introspect",
        database_url=databases.url("mcp"),
    )
    domain = DomainStore(create_db_engine(settings.database_url))
    domain.upgrade_schema()
    domain.dispose()
    with serve(create_mcp_app(settings), sock):
        ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200, ready.text
