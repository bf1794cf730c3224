"""`hospiai mcpserver` as a real process: every line it logs is a redacted JSON record,
FastMCP's included, a refused tool call is an answer (INFO), not a fault (ERROR), and no line
is logged per request but the access log's."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import httpx
import pytest

from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.database import create_db_engine
from tests.flow import tokens_for
from tests.harness import AuthServer
from tests.mcpserver.helpers import MCP_HEADERS
from tests.servers import free_port, hospiai

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes


def test_every_line_is_redacted_json_and_refusals_are_not_errors(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    port = free_port()
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    credentials = auth_server.add_resource_server(mcp_url)
    database_url = f"sqlite:///{tmp_path / 'mcp.sqlite3'}"
    domain = DomainStore(create_db_engine(database_url))
    domain.upgrade_schema()
    seed_demo(domain, datetime.date.today(), auth_server.clock())
    domain.dispose()
    env = {
        **os.environ,
        "HOSPIAI_MCP_URL": mcp_url,
        "HOSPIAI_ISSUER": auth_server.settings.issuer,
        "HOSPIAI_MCP_CLIENT_ID": credentials.id,
        "HOSPIAI_MCP_CLIENT_SECRET": credentials.secret or "",
        "HOSPIAI_MCP_DATABASE_URL": database_url,
        "HOSPIAI_MCP_HOST": "127.0.0.1",
        "HOSPIAI_MCP_PORT": str(port),
    }
    token = tokens_for(auth_server, auth_server.client(public=True).id,
                       auth_server.account().email, resource=mcp_url)["access_token"]
    log = tmp_path / "mcpserver.log"
    ready = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource"
    with hospiai("mcpserver", env, ready, log):
        for arguments in ({"hospital_id": "nowhere-1"}, {"hospital_id": "lyon-1"}):
            response = httpx.post(mcp_url, headers={
                **MCP_HEADERS, "Authorization": f"Bearer {token}",
            }, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "get_hospital", "arguments": arguments}}, timeout=30)
            assert response.status_code == 200, response.text
        assert response.json()["result"]["isError"] is False

    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    refused = [r for r in records if r["logger"].startswith("fastmcp")
               and "Error calling tool 'get_hospital'" in r["message"]]
    assert [r["level"] for r in refused] == ["INFO"], text
    assert refused[0]["request_id"], text
    assert not [r for r in records if r["level"] in {"ERROR", "CRITICAL"}], text
    # The MCP SDK says it after every stateless request (issue 17 item 4).
    assert not [r for r in records if "Terminating session" in r["message"]], text
    assert credentials.secret is not None
    assert token not in text and credentials.secret not in text
