"""Scope authorization in front of /mcp: a call lacking a scope the user could be granted gets
the 403 insufficient_scope step-up challenge (RFC 6750 section 3.1, MCP "Scope challenge")."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse, Response

from mcpserver.auth import Identity
from shared import scopes

# Method-level needs; tools/call is looked up per tool in the scope catalogue.
METHOD_SCOPES = {"resources/read": "read:data"}


def _needs(message: object) -> str | None:
    """The scope one JSON-RPC message needs, if any."""
    if not isinstance(message, dict):
        return None
    method, params = message.get("method"), message.get("params")
    if method == "tools/call" and isinstance(params, dict):
        return scopes.TOOL_SCOPES.get(str(params.get("name")))
    return METHOD_SCOPES.get(method) if isinstance(method, str) else None


def required_scopes(messages: object) -> list[str]:
    """The scopes the JSON-RPC message(s) of a POST body need, in catalogue order."""
    batch = messages if isinstance(messages, list) else [messages]
    needed = {_needs(message) for message in batch}
    return [name for name in scopes.NAMES if name in needed]


def parse(body: bytes) -> object:
    """The JSON-RPC message(s) of a POST body; None when malformed (FastMCP answers those)."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def missing_scopes(messages: object, identity: Identity) -> list[str]:
    """What the message(s) need that the token lacks. Step-up only for scopes this user could
    be granted; for the others (write:data for a patient) re-authorizing cannot help, so the
    tool answers with its own error."""
    return [
        name for name in required_scopes(messages)
        if name not in identity.scopes and scopes.allowed_for_role([name], identity.role)
    ]


def step_up(missing: list[str], metadata_url: str) -> Response:
    needed = " ".join(missing)
    return JSONResponse(
        {"error": "insufficient_scope",
         "error_description": f"This call needs the scope: {needed}."},
        status_code=403,
        headers={"WWW-Authenticate": (
            f'Bearer error="insufficient_scope", scope="{needed}", '
            f'resource_metadata="{metadata_url}"'
        )},
    )
