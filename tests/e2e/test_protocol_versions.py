"""The MCP server speaks the current revision (2026-07-28, discover) and the legacy
`initialize` handshake that today's clients use, both through the bearer guard."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.harness import Stack
from tests.mcpserver.helpers import rpc, token_for


@pytest.mark.parametrize(("mode", "expected"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_current_and_legacy_protocol_revisions(stack: Stack, mode: str, expected: str) -> None:
    token, account_id = token_for(stack)

    async def scenario() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(stack.mcp_url, http_client=http)
            async with Client(transport, mode=mode) as client:
                assert client.protocol_version == expected
                result = await client.call_tool("get_my_profile", {})
                assert result.structured_content is not None
                assert result.structured_content["sub"] == account_id

    asyncio.run(scenario())


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_no_capability_a_stateless_json_server_cannot_deliver(stack: Stack, mode: str) -> None:
    """No stream outlives a request here: no list-change notifications, no log messages."""
    token, _ = token_for(stack)

    async def scenario() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(stack.mcp_url, http_client=http)
            async with Client(transport, mode=mode) as client:
                capabilities = client.server_capabilities
                assert capabilities is not None and capabilities.tools is not None
                assert capabilities.logging is None
                for declared in (capabilities.tools, capabilities.prompts,
                                 capabilities.resources):
                    assert declared is not None and not declared.list_changed

    asyncio.run(scenario())


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_raw_legacy_initialize_advertises_no_notifications(stack: Stack, version: str) -> None:
    token, _ = token_for(stack)
    response = rpc(stack, token, "initialize", {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["protocolVersion"] == version
    capabilities = result["capabilities"]
    assert "logging" not in capabilities
    assert set(capabilities) >= {"tools", "prompts", "resources"}
    for name in ("tools", "prompts", "resources"):
        assert not capabilities[name].get("listChanged"), capabilities
