"""Which scopes a JSON-RPC body needs, and which of them a step-up can still obtain."""

from __future__ import annotations

import pytest

from mcpserver.app import build_mcp
from mcpserver.auth import Identity
from mcpserver.step_up import (
    Unreadable,
    challenge_scopes,
    missing_scopes,
    parse,
    required_scopes,
)

# What the app registers: each tool with the scope it declared.
TOOLS = build_mcp().scopes


def _identity(role: str, granted: str) -> Identity:
    return Identity(sub="u", client_id="c", scopes=frozenset(granted.split()), email="",
                    given_name="", family_name="", role=role, expires_at=2**40)


def _tool(name: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}}


def test_a_tool_call_needs_its_catalogue_scope() -> None:
    assert required_scopes(_tool("book_appointment"), TOOLS) == ["write:bookings"]
    assert required_scopes(_tool("get_my_profile"), TOOLS) == ["read:profile"]
    assert required_scopes(_tool("no_such_tool"), TOOLS) == []


def test_resources_read_needs_read_data_and_other_methods_nothing() -> None:
    assert required_scopes({"method": "resources/read", "params": {}}, TOOLS) == ["read:data"]
    assert required_scopes({"method": "tools/list"}, TOOLS) == []
    assert required_scopes({"method": "tools/call", "params": "book_appointment"}, TOOLS) == []


def test_a_batch_needs_the_union_in_catalogue_order_and_junk_needs_nothing() -> None:
    batch = [_tool("get_my_profile"), "junk", _tool("book_appointment"),
             {"method": "resources/read"}, _tool("get_my_profile")]
    assert required_scopes(batch, TOOLS) == ["read:data", "write:bookings", "read:profile"]
    junk: tuple[object, ...] = (None, 3, "tools/call", [], {"method": 7})
    for message in junk:
        assert required_scopes(message, TOOLS) == []


def test_only_scopes_the_role_could_be_granted_are_missing() -> None:
    patient = _identity("patient", "read:data")
    assert missing_scopes(_tool("book_appointment"), patient, TOOLS) == ["write:bookings"]
    assert missing_scopes({"method": "resources/read"}, patient, TOOLS) == []
    staff = _identity("staff", "read:data")
    assert missing_scopes(_tool("update_hospital_status"), patient, TOOLS) == []
    assert missing_scopes(_tool("update_hospital_status"), staff, TOOLS) == ["write:data"]


def test_the_challenge_names_the_token_scopes_with_the_missing_ones() -> None:
    holder = _identity("patient", "read:profile offline_access read:data")
    assert challenge_scopes(["write:bookings"], holder) == [
        "read:data", "write:bookings", "read:profile"]
    # Never offline_access (a resource server does not ask for it), nor a name it does not know.
    assert challenge_scopes(["read:bookings"], _identity("patient", "offline_access x:y")) == [
        "read:bookings"]
    staff = _identity("staff", "write:data")
    assert challenge_scopes(["read:data", "write:bookings"], staff) == [
        "read:data", "write:bookings", "write:data"]


@pytest.mark.parametrize("body", [
    b"[" * 5000 + b"]" * 5000,  # past the recursion limit
    b'{"x": ' + b"1" * 5000 + b"}",  # past int()'s digit limit
    b'{"method": ',
    b'\xff',
    # Python's json reads these, the MCP transport's parser does not: the guard reads as it does.
    b'\xef\xbb\xbf{"jsonrpc": "2.0", "id": 1, "method": "ping"}',  # a byte-order mark
    b'{"method": "\\ud800"}',  # a lone surrogate
    b"[" * 300 + b"]" * 300,
])
def test_a_body_the_transport_cannot_read_is_unreadable_never_unchecked(body: bytes) -> None:
    with pytest.raises(Unreadable):
        parse(body)


def test_an_empty_body_is_left_to_fastmcp() -> None:
    assert parse(b"") is None
