"""Both servers for real on loopback: the authorization server and the MCP server, seeded."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcpserver.app import create_app as create_mcp_app
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from mcpserver.settings import Settings as McpSettings
from shared.database import create_db_engine
from tests.conftest import AuthServer, start_auth_server
from tests.servers import bind_loopback, serve


@dataclass
class Stack:
    auth: AuthServer
    mcp_url: str
    mcp_settings: McpSettings
    domain: DomainStore


def start_stack(
    tmp_path: Path, *, cache_ttl: int = 30, **auth_overrides: object
) -> Iterator[Stack]:
    sock = bind_loopback()
    mcp_url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    for auth in start_auth_server(tmp_path, resource=mcp_url, **auth_overrides):
        settings = McpSettings(
            resource=mcp_url,
            issuer=auth.settings.issuer,
            client_id=auth.resource_server.id,
            client_secret=auth.resource_server.secret or "",
            database_url=f"sqlite:///{tmp_path / 'mcp.sqlite3'}",
            cache_ttl=cache_ttl,
        )
        domain = DomainStore(create_db_engine(settings.database_url))
        domain.create_schema()
        seed_demo(domain, datetime.date.today(), auth.clock())
        with serve(create_mcp_app(settings, clock=auth.clock), sock):
            yield Stack(auth, mcp_url, settings, domain)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from start_stack(tmp_path)
