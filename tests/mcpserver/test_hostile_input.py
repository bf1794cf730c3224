"""Hostile input at the MCP edge, on both backends: NUL in a tool argument or resource URI,
JSON nested thousands deep or unreadable to the guard, dates no calendar day can follow.
Each is a clear refusal (a tool error, or JSON-RPC's parse error at HTTP 400), never a 500,
and never a body FastMCP runs without the guard having checked its scopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.databases import both_backends
from tests.harness import Stack
from tests.mcpserver.helpers import MCP_HEADERS, call, error_text, rpc, token_for

pytestmark = both_backends

NUL_CALLS = [
    ("get_hospital", {"hospital_id": "\u0000"}),
    ("get_hospital_status", {"hospital_id": "lyon-1\u0000"}),
    ("search_hospitals", {"city": "Ly\u0000on"}),
    ("list_doctors", {"hospital_id": "lyon-1", "specialty": "\u0000"}),
    ("cancel_appointment", {"appointment_id": "apt_\u0000"}),
    ("find_available_slots", {"specialty": "x", "date_from": "2030-01-01\u0000",
                              "date_to": "2030-01-02"}),
]


@pytest.mark.parametrize(("name", "arguments"), NUL_CALLS)
def test_nul_in_a_tool_argument_is_a_tool_error(
    stack: Stack, name: str, arguments: dict[str, Any]
) -> None:
    token, _ = token_for(stack)
    text = error_text(call(stack, token, name, arguments))
    assert text == "Tool arguments must not contain the NUL character."


def test_nul_in_a_resource_uri_is_refused(stack: Stack) -> None:
    token, _ = token_for(stack)
    response = rpc(stack, token, "resources/read", {"uri": "hospital://lyon-1\u0000"})
    assert response.status_code == 200, response.text
    assert response.json()["error"]["message"] == (
        "A resource URI must not contain the NUL character.")


def _post(stack: Stack, token: str, body: bytes) -> httpx.Response:
    return httpx.post(stack.mcp_url, content=body, timeout=30,
                      headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"})


def _parse_error(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    assert body["error"]["code"] == -32700


@pytest.mark.parametrize("depth", [3000, 5000])
def test_deeply_nested_json_is_a_parse_error(stack: Stack, depth: int) -> None:
    token, _ = token_for(stack)
    for nested in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        body = (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":'
                b'"get_my_profile","arguments":{"x":' + nested + b"}}}")
        _parse_error(_post(stack, token, body))
        _parse_error(_post(stack, token, nested))


def test_what_the_transport_cannot_read_the_guard_does_not_read_either(stack: Stack) -> None:
    """Python's json reads a byte-order mark, a lone surrogate and 300 levels of nesting; the
    MCP transport's parser reads none. The guard reads as the transport does, so it answers
    them itself, without the parser's detail."""
    token, _ = token_for(stack)
    call = (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_my_profile",'
            b'"arguments":{"x":%s}}}')
    for body in (b"\xef\xbb\xbf" + call % b"1", call % b'"\\ud800"',
                 call % (b"[" * 300 + b"]" * 300)):
        response = _post(stack, token, body)
        _parse_error(response)
        assert response.json()["error"]["message"] == (
            "Parse error: the body is not readable JSON."), body[:60]


def test_a_body_the_guard_cannot_read_never_reaches_a_tool(stack: Stack) -> None:
    """json refuses an integer of 5,000 digits; whatever FastMCP's parser makes of it, the
    call it carries was never checked against the token's scopes, so it is never run."""
    token, _ = token_for(stack, scope="read:data")
    body = (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":'
            b'"list_my_appointments","arguments":{"x":' + b"1" * 5000 + b"}}}")
    _parse_error(_post(stack, token, body))
    _parse_error(_post(stack, token, b'{"jsonrpc": "2.0", "id": 1, "method": '))


@pytest.mark.parametrize(
    ("date_from", "date_to", "name"),
    [
        ("2030-01-01", "9999-12-31", "date_to"),
        ("9999-12-30", "9999-12-31", "date_from"),
        ("0001-01-01", "2030-01-02", "date_from"),
        ("2030-01-01", "0001-01-01", "date_to"),
    ],
)
def test_dates_outside_a_sane_window_are_a_tool_error(
    stack: Stack, date_from: str, date_to: str, name: str
) -> None:
    token, _ = token_for(stack)
    text = error_text(call(stack, token, "find_available_slots", {
        "hospital_id": "lyon-1", "date_from": date_from, "date_to": date_to}))
    assert text == f"{name} must be between 2000-01-01 and 2999-12-31."
