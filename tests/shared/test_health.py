"""/healthz and /readyz on both services: ready only when what they depend on answers."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import create_engine

from shared.database import SQLStore
from shared.health import database_check
from tests.conftest import Stack


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
    assert asyncio.run(database_check(store)()) == "the database cannot be reached"
