"""A refusal a person may read verbatim, in the language the assistant says (Accept-Language on
the MCP request, with the official SDK client), else the MCP server's default; the tools'
descriptions stay English whatever it says."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
from mcp.types import TextContent

from mcpserver.app import create_app as create_mcp_app
from tests.e2e.client import Browser, connect
from tests.harness import PASSWORD, Stack
from tests.mcpserver.helpers import MCP_HEADERS, error_text, token_for
from tests.servers import bind_loopback, serve

GONE = {
    "fr": "Ce créneau n\u2019est plus disponible. Cherchez-en un autre.",
    "en": "This slot is no longer available. Search again for another one.",
}


async def _refusal(mcp_url: str, email: str, headers: dict[str, str] | None) -> tuple[str, str]:
    """The refusal of a slot that does not exist, and the description of a tool."""
    async with connect(mcp_url, Browser(email, PASSWORD), headers=headers) as connection:
        refused = await connection.session.call_tool(
            "book_appointment", {"slot_id": "no-such-slot", "reason": "Check-up"}
        )
        tools = await connection.session.list_tools()
    assert refused.is_error and isinstance(refused.content[0], TextContent)
    described = next(tool for tool in tools.tools if tool.name == "book_appointment")
    return refused.content[0].text, described.description or ""


def test_a_refusal_in_the_assistants_language(stack: Stack) -> None:
    email = stack.auth.account().email
    french, description = asyncio.run(
        _refusal(stack.mcp_url, email, {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    )
    english, same_description = asyncio.run(
        _refusal(stack.mcp_url, email, {"Accept-Language": "en-US"})
    )
    assert french == GONE["fr"] and english == GONE["en"]
    assert description == same_description and description.isascii()


def test_without_accept_language_the_default(stack: Stack) -> None:
    """The harness's MCP server defaults to English; one that defaults to French (the
    setting's own default) answers in French, for the same audience (over plain JSON-RPC: the
    SDK client insists on the URL the metadata names)."""
    email = stack.auth.account().email
    assert asyncio.run(_refusal(stack.mcp_url, email, None))[0] == GONE["en"]
    token, _account = token_for(stack)
    sock = bind_loopback()
    french = replace(stack.mcp_settings, default_locale="fr")
    with serve(create_mcp_app(french, clock=stack.auth.clock), sock):
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        for headers, expected in (({"Accept-Language": "de"}, "fr"), ({}, "fr"),
                                  ({"Accept-Language": "en"}, "en")):
            response = httpx.post(url, json={
                "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "book_appointment",
                           "arguments": {"slot_id": "no-such-slot", "reason": "Check-up"}},
            }, headers={**MCP_HEADERS, **headers, "Authorization": f"Bearer {token}"}, timeout=30)
            assert error_text(response.json()["result"]) == GONE[expected]
