"""The MCP server speaks the current revision (2026-07-28, discover) and the legacy
`initialize` handshake that today's clients use, both through the bearer guard."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.harness import Stack
from tests.mcpserver.helpers import token_for


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
