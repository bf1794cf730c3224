"""Scope authorization in front of /mcp: a call lacking a scope the user could be granted gets
the 403 insufficient_scope step-up challenge (RFC 6750 section 3.1, MCP "Scope challenge"),
naming the token's scopes with the missing ones. A tool with no declared scope needs none
here: mcpserver.tools.DeclaredOnly refuses to run it."""

from __future__ import annotations

from collections.abc import Mapping

import pydantic_core
from starlette.responses import JSONResponse, Response

from mcpserver.auth import Identity
from shared import scopes

# Method-level needs; tools/call is looked up per tool in the map the tools were registered
# with (mcpserver.tools.Tools.scopes).
METHOD_SCOPES = {"resources/read": "read:data"}


def _batch(messages: object) -> list[object]:
    return messages if isinstance(messages, list) else [messages]


def _called_tool(message: object) -> str | None:
    """The tool name a tools/call message names (as text), else None."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    return str(params.get("name")) if isinstance(params, dict) else None


def called_tools(messages: object) -> list[str]:
    """The tools the JSON-RPC message(s) of a POST body call."""
    return [name for message in _batch(messages) if (name := _called_tool(message))]


def _needs(message: object, tools: Mapping[str, str]) -> str | None:
    """The scope one JSON-RPC message needs, if any."""
    tool = _called_tool(message)
    if tool is not None:
        return tools.get(tool)
    method = message.get("method") if isinstance(message, dict) else None
    return METHOD_SCOPES.get(method) if isinstance(method, str) else None


def required_scopes(messages: object, tools: Mapping[str, str]) -> list[str]:
    """The scopes the JSON-RPC message(s) of a POST body need, in catalogue order."""
    needed = {_needs(message, tools) for message in _batch(messages)}
    return [name for name in scopes.NAMES if name in needed]


class Unreadable(Exception):
    """A POST body the guard cannot read as JSON."""


def parse(body: bytes) -> object:
    """The JSON-RPC message(s) of a POST body, None for an empty one (FastMCP answers that),
    read by the parser the MCP transport reads it with (pydantic-core's): the guard checks the
    scopes of exactly the message a tool then runs for. What it cannot read (malformed, nested
    past its recursion limit, a number out of range, a byte-order mark, a lone surrogate)
    raises Unreadable: such a body never reaches FastMCP."""
    try:
        return pydantic_core.from_json(body) if body else None
    except ValueError:
        raise Unreadable from None


def missing_scopes(
    messages: object, identity: Identity, tools: Mapping[str, str]
) -> list[str]:
    """What the message(s) need that the token lacks. Step-up only for scopes this user could
    be granted; for the others (write:data for a patient) re-authorizing cannot help, so the
    tool answers with its own error."""
    return [
        name for name in required_scopes(messages, tools)
        if name not in identity.scopes and scopes.allowed_for_role([name], identity.role)
    ]


def challenge_scopes(missing: list[str], identity: Identity) -> list[str]:
    """The scopes a 403 names: what the token holds and what the call still needs, in
    catalogue order. The MCP spec lets a server name more than the missing scopes; naming the
    union keeps earlier permissions for clients that re-authorize with exactly the challenge
    (the TypeScript SDK). offline_access is the authorization server's own, never named here."""
    wanted = identity.scopes | set(missing)
    return [name for name in scopes.RESOURCE_NAMES if name in wanted]


def step_up(missing: list[str], identity: Identity, metadata_url: str) -> Response:
    return JSONResponse(
        {"error": "insufficient_scope",
         "error_description": f"This call needs the scope: {' '.join(missing)}."},
        status_code=403,
        headers={"WWW-Authenticate": (
            f'Bearer error="insufficient_scope", '
            f'scope="{" ".join(challenge_scopes(missing, identity))}", '
            f'resource_metadata="{metadata_url}"'
        )},
    )
