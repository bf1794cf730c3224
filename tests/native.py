"""What native MCP clients send to /register, as their published code sends it: Cursor's one
request with its private-use, https and loopback callbacks, and VS Code's."""

from __future__ import annotations

from typing import Any

CURSOR_CALLBACK = "cursor://anysphere.cursor-mcp/oauth/callback"
CURSOR_REGISTRATION: dict[str, Any] = {
    "client_name": "Cursor",
    "redirect_uris": [
        CURSOR_CALLBACK,
        "https://www.cursor.com/agents/mcp/oauth/callback",
        "http://localhost:8787/callback",
    ],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}

VSCODE_WEB_CALLBACK = "https://vscode.dev/redirect"
# VS Code's grant types: its own (authorization_code, refresh_token, the device code grant)
# that the server's grant_types_supported lists.
VSCODE_GRANT_TYPES = (
    "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"
)


def vscode_registration(server_metadata: dict[str, Any], scope: str) -> dict[str, Any]:
    """fetchDynamicRegistration in VS Code's src/vs/base/common/oauth.ts: the challenge's
    scopes, a loopback redirect without a port and one on its default port 33418."""
    supported = server_metadata.get("grant_types_supported")
    return {
        "client_name": "Visual Studio Code",
        "client_uri": "https://code.visualstudio.com",
        "grant_types": [g for g in supported if g in VSCODE_GRANT_TYPES]
        if supported else list(VSCODE_GRANT_TYPES),
        "response_types": ["code"],
        "redirect_uris": [
            "https://insiders.vscode.dev/redirect",
            VSCODE_WEB_CALLBACK,
            "http://127.0.0.1/",
            "http://127.0.0.1:33418/",
        ],
        "scope": scope,
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
