"""Every tool declares its scope where it is registered: what build_mcp() serves is exactly
what the guard enforces, a tool without a scope stops the start, a call of one is refused."""

from __future__ import annotations

import asyncio

import pytest
from fastmcp import Client
from mcp_types import ToolAnnotations

from mcpserver.app import build_mcp
from mcpserver.tools import UndeclaredScope
from shared import scopes
from tests.harness import Stack
from tests.mcpserver.helpers import call, error_text, token_for

EXPECTED = {
    "search_hospitals": "read:data",
    "get_hospital": "read:data",
    "get_hospital_status": "read:data",
    "list_doctors": "read:data",
    "find_available_slots": "read:data",
    "update_hospital_status": "write:data",
    "list_my_appointments": "read:bookings",
    "book_appointment": "write:bookings",
    "cancel_appointment": "write:bookings",
    "get_my_profile": "read:profile",
    "get_my_medical_records": "read:records",
    "get_my_medical_record": "read:records",
    "mark_appointment": "write:schedule",
    "add_consultation_note": "write:schedule",
    "list_my_data_access": "read:profile",
    "list_data_access": "read:schedule",
    "open_slots": "write:schedule",
    "close_slot": "write:schedule",
    "save_doctor": "write:schedule",
    "list_hospital_appointments": "read:schedule",
}


def test_every_served_tool_has_its_catalogue_scope() -> None:
    tools = build_mcp()
    served = asyncio.run(tools.mcp.list_tools(run_middleware=False))
    assert {tool.name for tool in served} == set(tools.scopes) == set(EXPECTED)
    assert tools.scopes == EXPECTED
    assert set(tools.scopes.values()) <= set(scopes.RESOURCE_NAMES)
    asyncio.run(tools.check())


async def _extra(x: int) -> int:
    return x


def test_a_tool_without_a_declared_scope_stops_the_start() -> None:
    tools = build_mcp()
    tools.mcp.tool(_extra)  # straight into FastMCP: no scope declared
    with pytest.raises(UndeclaredScope, match="_extra"):
        asyncio.run(tools.check())


@pytest.mark.parametrize("scope", ["offline_access", "read:everything", ""])
def test_a_tool_cannot_declare_a_scope_a_resource_server_cannot_ask_for(scope: str) -> None:
    tools = build_mcp()
    with pytest.raises(UndeclaredScope):
        tools.add(_extra, scope=scope, annotations=ToolAnnotations(read_only_hint=True))
    assert "_extra" not in tools.scopes


def test_a_call_of_a_tool_with_no_scope_is_refused(stack: Stack) -> None:
    """Answered as FastMCP answers a tool it does not serve (a tool error under the request's
    id, which the conformance suite expects)."""
    token, _ = token_for(stack)
    for name in ("no_such_tool", "_extra"):
        result = call(stack, token, name, {})
        assert error_text(result) == f"Unknown tool: {name!r}"


def test_a_served_tool_without_a_declared_scope_never_runs() -> None:
    """Fail closed where it matters: a tool FastMCP serves that the scope map lacks (one added
    after the start-up check) is refused before it runs."""
    tools = build_mcp()
    ran: list[int] = []

    async def sneaked(x: int) -> int:
        ran.append(x)
        return x

    tools.mcp.tool(sneaked)

    async def scenario() -> None:
        async with Client(tools.mcp) as client:
            result = await client.call_tool("sneaked", {"x": 1}, raise_on_error=False)
            assert result.is_error

    asyncio.run(scenario())
    assert ran == []
