"""hospiai mcpserver --stdio (issue 16 item 5), driven by the official MCP client's stdio
transport: the same tools for the user of the personal access token in HOSPIAI_TOKEN, the
same scopes, the same access log; a revoked token stops working, a bad one stops the start."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from authserver.models import PERSONAL_CLIENT_ID
from tests.flow import logged_in, post_form
from tests.harness import Stack

# It starts the stdio server as a process, as a desktop assistant does.
pytestmark = pytest.mark.processes

COMMAND = [sys.executable, "-m", "hospiai.cli", "mcpserver", "--stdio"]


def _env(stack: Stack, token: str, cache_ttl: int = 0) -> dict[str, str]:
    settings = stack.mcp_settings
    return {
        **os.environ,
        "HOSPIAI_MCP_URL": settings.resource, "HOSPIAI_ISSUER": settings.issuer,
        "HOSPIAI_MCP_CLIENT_ID": settings.client_id,
        "HOSPIAI_MCP_CLIENT_SECRET": settings.client_secret,
        "HOSPIAI_MCP_DATABASE_URL": settings.database_url,
        # No cache, by default: the revocation below is seen at the next call.
        "HOSPIAI_INTROSPECTION_CACHE_TTL": str(cache_ttl),
        "HOSPIAI_SECURITY_EVENTS_POLL_MS": "200",
        "HOSPIAI_TOKEN": token,
    }


def _personal_token(stack: Stack, email: str) -> str:
    with logged_in(stack.auth, email) as browser:
        created = post_form(browser, "/account", "/account/tokens", name="Claude Desktop",
                            scope=["read:data", "read:bookings", "read:profile"],
                            resource=stack.mcp_url, days="30")
    match = re.search(r'value="(hospiai_pat_[^"]+)"', created.text)
    assert created.status_code == 201 and match, created.text
    return match.group(1)


def _text(result: CallToolResult) -> str:
    assert result.is_error, result
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def test_the_same_tools_scopes_and_log_over_stdio(stack: Stack) -> None:
    patient = stack.auth.account()
    token = _personal_token(stack, patient.email)

    async def scenario() -> None:
        parameters = StdioServerParameters(command=COMMAND[0], args=COMMAND[1:],
                                           env=_env(stack, token))
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            names = {tool.name for tool in (await mcp.list_tools()).tools}
            assert {"search_hospitals", "book_appointment", "list_my_data_access"} <= names
            found = await mcp.call_tool("search_hospitals", {"city": "Nantes", "limit": 2})
            assert not found.is_error and len(found.structured_content["hospitals"]) == 2
            profile = await mcp.call_tool("get_my_profile", {})
            assert profile.structured_content == {  # the token's user, not an argument
                "sub": patient.id, "email": patient.email, "given_name": "Alice",
                "family_name": "Martin", "role": "patient"}
            refused = await mcp.call_tool("book_appointment",
                                          {"slot_id": "nantes-1-dr1-x", "reason": "Check-up"})
            assert "lacks the scope write:bookings" in _text(refused)
            log = await mcp.call_tool("list_my_data_access", {})
            assert [(e["tool"], e["client_id"]) for e in log.structured_content["entries"]] == [
                ("get_my_profile", PERSONAL_CLIENT_ID)]
            grant = stack.auth.store.personal_tokens(patient.id, stack.auth.clock())[0][0]
            stack.auth.store.revoke_grant(grant.id, stack.auth.clock())
            revoked = await mcp.call_tool("search_hospitals", {"city": "Nantes"})
            assert "HOSPIAI_TOKEN is no longer valid" in _text(revoked)

    asyncio.run(scenario())


def test_a_revoked_token_stops_over_stdio_before_its_cached_answer_ends(stack: Stack) -> None:
    """With the cache on (30 s), the revocation feed ends it: the call is refused well before
    the TTL (the deadline below is half of it), however long the machine takes."""
    patient = stack.auth.account()
    token = _personal_token(stack, patient.email)

    async def scenario() -> None:
        parameters = StdioServerParameters(command=COMMAND[0], args=COMMAND[1:],
                                           env=_env(stack, token, cache_ttl=30))
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            assert not (await mcp.call_tool("search_hospitals", {"city": "Nantes"})).is_error
            grant = stack.auth.store.personal_tokens(patient.id, stack.auth.clock())[0][0]
            stack.auth.store.revoke_grant(grant.id, stack.auth.clock())
            deadline = time.monotonic() + 15
            while not (await mcp.call_tool("search_hospitals", {"city": "Nantes"})).is_error:
                assert time.monotonic() < deadline, "the revoked token kept working"
                await asyncio.sleep(0.05)

    asyncio.run(scenario())


def test_a_token_that_is_not_active_stops_the_start(stack: Stack) -> None:
    for token, expected in (("hospiai_pat_made_up", "is not an active token"),
                            ("", "set HOSPIAI_TOKEN")):
        result = subprocess.run(COMMAND, env=_env(stack, token), input="", capture_output=True,
                                text=True, timeout=240, check=False)
        assert result.returncode == 2 and expected in result.stderr, result.stderr
        assert result.stdout == ""
