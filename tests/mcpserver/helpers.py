"""Calling the MCP server over raw HTTP with a token, as a JSON-RPC client would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.flow import tokens_for
from tests.harness import Stack

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def token_for(stack: Stack, role: str = "patient", scope: str = "read:data read:bookings "
              "write:bookings read:profile", hospitals: tuple[str, ...] = ()) -> tuple[str, str]:
    """(access token, account id) for a new account of ``role``, a member of ``hospitals``."""
    account = stack.auth.account(role)
    stack.auth.join(account, *hospitals)
    client_id = stack.auth.client(public=True).id
    tokens = tokens_for(stack.auth, client_id, account.email, scope=scope, resource=stack.mcp_url)
    return tokens["access_token"], account.id


def rpc(stack: Stack, token: str | None, method: str, params: dict[str, Any],
        path: str = "/mcp") -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = stack.mcp_url.removesuffix("/mcp") + path
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                      headers=headers, timeout=30)


def call(stack: Stack, token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tools/call result (asserting HTTP 200 and a JSON-RPC result)."""
    response = rpc(stack, token, "tools/call", {"name": name, "arguments": arguments})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "result" in body, body
    result: dict[str, Any] = body["result"]
    return result


def error_text(result: dict[str, Any]) -> str:
    assert result.get("isError") is True, result
    text: str = result["content"][0]["text"]
    return text
