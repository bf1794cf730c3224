"""Scope authorization in front of /mcp: a call lacking a scope the user could be granted gets
the 403 insufficient_scope step-up challenge (RFC 6750 section 3.1, MCP "Scope challenge"),
naming the token's scopes with the missing ones."""

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
