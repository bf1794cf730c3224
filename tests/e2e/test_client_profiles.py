"""How the real MCP clients talk to an authorization server, replayed against ours: Claude
(hosted), Claude Code, Mistral Le Chat, MCP Inspector, and the MCP Python SDK with a metadata
document. Each starts from the MCP server's 401 and ends with a tool call."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authserver.maintenance import purge
from tests import chatgpt
from tests.databases import Databases
from tests.e2e.client import REDIRECT_URI, Browser, connect
from tests.flow import authorize
from tests.harness import PASSWORD, Stack, start_stack
from tests.internet import (
    CLAUDE_CALLBACKS,
    CLAUDE_CODE_DOCUMENT,
    CLAUDE_CODE_METADATA,
    CLAUDE_DOCUMENT,
    CLAUDE_METADATA,
    Internet,
    client_document,
)
from tests.native import (
    CURSOR_CALLBACK,
    CURSOR_REGISTRATION,
    VSCODE_WEB_CALLBACK,
    vscode_registration,
)

LE_CHAT_CALLBACK = "https://callback.mistral.ai/v1/integrations_auth/oauth2_callback"
PROFILE = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "get_my_profile", "arguments": {}}}


@pytest.fixture
def world(databases: Databases, internet: Internet) -> Iterator[Stack]:
    """Both services, with metadata documents served by the loopback stand-in."""
    with start_stack(
        databases, egress=internet.egress(), metadata_documents_allow_private=True
    ) as stack:
        yield stack


def _discover(stack: Stack) -> tuple[str, dict[str, Any]]:
    """What every client does first: the 401, the resource metadata, the AS metadata. Returns
    the scope to ask for and the AS metadata."""
    challenge = httpx.post(stack.mcp_url, json=PROFILE).headers["www-authenticate"]
    metadata_url = re.search(r'resource_metadata="([^"]+)"', challenge)
    scope = re.search(r'scope="([^"]+)"', challenge)
    assert metadata_url and scope, challenge
    resource = httpx.get(metadata_url.group(1)).json()
    assert resource["resource"] == stack.mcp_url
    issuer = resource["authorization_servers"][0]
    server = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == issuer
    # The MCP spec's guidance: a client that wants a refresh token adds offline_access when
    # the authorization server lists it (a resource server never asks for it).
    assert "offline_access" in server["scopes_supported"]
    return f"{scope.group(1)} offline_access", server


def _register(server: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(server["registration_endpoint"], json=metadata)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _call_profile(stack: Stack, token: str) -> dict[str, Any]:
    response = httpx.post(stack.mcp_url, json=PROFILE, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"})
    assert response.status_code == 200, response.text
    payload = response.text
    # Streamable HTTP answers as JSON or as one server-sent event.
    data = payload.split("data: ", 1)[1] if payload.startswith("event:") else payload
    result: dict[str, Any] = httpx.Response(200, content=data).json()["result"]
    assert not result.get("isError"), result
    return result


def _code_grant(
    server: dict[str, Any], client_id: str, code: str, verifier: str, redirect_uri: str,
    **client_auth: Any,
) -> httpx.Response:
    return httpx.post(server["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier, **client_auth.pop("form", {"client_id": client_id}),
    }, **client_auth)


def test_claude_hosted(world: Stack) -> None:
    scope, server = _discover(world)
    email = world.auth.account().email

    def connect_once() -> tuple[dict[str, Any], dict[str, Any]]:
        # Claude registers on each connection, asking for its own scope "claudeai".
        client = _register(server, {
            "client_name": "Claude", "redirect_uris": CLAUDE_CALLBACKS,
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post", "scope": "claudeai",
        })
        assert client["client_secret"] and "scope" not in client  # claudeai ignored
        result = authorize(
            world.auth, client["client_id"], email, redirect_uri=CLAUDE_CALLBACKS[1],
            scope=scope, resource=world.mcp_url,
        )
        assert result.location.startswith(CLAUDE_CALLBACKS[1] + "?")
        assert result.params["iss"] == server["issuer"]
        tokens = _code_grant(
            server, client["client_id"], result.params["code"], result.verifier,
            CLAUDE_CALLBACKS[1],
            form={"client_id": client["client_id"], "client_secret": client["client_secret"]},
        )
        assert tokens.status_code == 200, tokens.text
        return client, tokens.json()

    forgotten, _ = connect_once()
    client, tokens = connect_once()
    assert client["client_id"] != forgotten["client_id"]
    assert _call_profile(world, tokens["access_token"])["structuredContent"]["email"] == email
    # A client the server no longer knows gets 401 invalid_client, so Claude registers again.
    httpx.delete(forgotten["registration_client_uri"], headers={
        "Authorization": f"Bearer {forgotten['registration_access_token']}"})
    unknown = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": forgotten["client_id"], "client_secret": forgotten["client_secret"]})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    # Forgotten registrations are cleaned up; the connected one stays.
    abandoned = _register(server, {"client_name": "Claude", "redirect_uris": CLAUDE_CALLBACKS,
                                   "token_endpoint_auth_method": "client_secret_post"})
    world.auth.clock.advance(world.auth.settings.unused_client_age + 1)
    refreshed = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert refreshed.status_code == 200, refreshed.text
    purge(world.auth.settings, world.auth.store, world.auth.clock())
    assert world.auth.store.client(abandoned["client_id"]) is None
    assert world.auth.store.client(client["client_id"]) is not None


def test_claude_code_with_its_metadata_document(world: Stack, internet: Internet) -> None:
    # The document Claude Code publishes: port-less loopback URIs, while it listens on a
    # random port (RFC 8252 section 7.3).
    internet.publish(CLAUDE_CODE_METADATA, CLAUDE_CODE_DOCUMENT)
    scope, server = _discover(world)
    assert server["client_id_metadata_document_supported"] is True
    redirect_uri = "http://localhost:49731/callback"
    result = authorize(
        world.auth, CLAUDE_CODE_METADATA, world.auth.account().email,
        redirect_uri=redirect_uri, scope=scope, resource=world.mcp_url,
    )
    assert result.location.startswith(redirect_uri + "?")
    tokens = _code_grant(
        server, CLAUDE_CODE_METADATA, result.params["code"], result.verifier, redirect_uri
    )
    assert tokens.status_code == 200, tokens.text
    _call_profile(world, tokens.json()["access_token"])
    assert internet.fetches(CLAUDE_CODE_METADATA) == 1


OPENCODE_METADATA = "https://opencode.ai/oauth/opencode/client.json"


def test_claude_hosted_with_its_metadata_document(world: Stack, internet: Internet) -> None:
    # Where the authorization server supports documents, Claude's connector names itself by
    # its published document instead of registering on each connection.
    internet.publish(CLAUDE_METADATA, CLAUDE_DOCUMENT)
    scope, server = _discover(world)
    email = world.auth.account().email
    result = authorize(
        world.auth, CLAUDE_METADATA, email, redirect_uri=CLAUDE_CALLBACKS[0], scope=scope,
        resource=world.mcp_url,
    )
    assert result.location.startswith(CLAUDE_CALLBACKS[0] + "?")
    assert result.params["iss"] == server["issuer"]
    tokens = _code_grant(
        server, CLAUDE_METADATA, result.params["code"], result.verifier, CLAUDE_CALLBACKS[0]
    )
    assert tokens.status_code == 200, tokens.text
    profile = _call_profile(world, tokens.json()["access_token"])
    assert profile["structuredContent"]["email"] == email
    refreshed = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"],
        "client_id": CLAUDE_METADATA})
    assert refreshed.status_code == 200, refreshed.text
    _call_profile(world, refreshed.json()["access_token"])
    assert 'route="/register"' not in httpx.get(f"{world.auth.url}/metrics").text
    assert internet.fetches(CLAUDE_METADATA) == 1


def test_opencode_with_its_metadata_document(world: Stack, internet: Internet) -> None:
    # The document opencode publishes (anomalyco/opencode pull request 47737): a native app on
    # port-less loopback URIs, public, with a member no registration defines.
    internet.publish(OPENCODE_METADATA, {
        "client_id": OPENCODE_METADATA,
        "client_name": "opencode",
        "client_uri": "https://opencode.ai",
        "logo_uri": "https://opencode.ai/web-app-manifest-512x512.png",
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "token_endpoint_auth_methods_supported": ["none"],
    })
    scope, server = _discover(world)
    redirect_uri = "http://127.0.0.1:19876/callback"
    result = authorize(
        world.auth, OPENCODE_METADATA, world.auth.account().email, redirect_uri=redirect_uri,
        scope=scope, resource=world.mcp_url,
    )
    assert result.location.startswith(redirect_uri + "?")
    tokens = _code_grant(
        server, OPENCODE_METADATA, result.params["code"], result.verifier, redirect_uri
    )
    assert tokens.status_code == 200, tokens.text
    _call_profile(world, tokens.json()["access_token"])
    revoked = httpx.post(server["revocation_endpoint"], data={
        "token": tokens.json()["refresh_token"], "client_id": OPENCODE_METADATA})
    assert revoked.status_code == 200, revoked.text
    # Revoking the refresh token ends the grant, its access token with it (RFC 7009 2.1).
    rs = world.auth.resource_server
    seen = httpx.post(server["introspection_endpoint"], auth=(rs.id, rs.secret or ""),
                      data={"token": tokens.json()["access_token"]})
    assert seen.json() == {"active": False}


def test_mistral_le_chat(world: Stack) -> None:
    scope, server = _discover(world)
    client = _register(server, {
        "client_name": "Le Chat", "redirect_uris": [LE_CHAT_CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    })
    assert client["client_secret"]
    basic = httpx.BasicAuth(client["client_id"], client["client_secret"])
    result = authorize(
        world.auth, client["client_id"], world.auth.account().email,
        redirect_uri=LE_CHAT_CALLBACK, scope=scope, resource=world.mcp_url,
    )
    tokens = _code_grant(
        server, client["client_id"], result.params["code"], result.verifier, LE_CHAT_CALLBACK,
        form={}, auth=basic,
    )
    assert tokens.status_code == 200, tokens.text
    refreshed = httpx.post(server["token_endpoint"], auth=basic, data={
        "grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    _call_profile(world, refreshed.json()["access_token"])
    # The PKCE verifier is still required with Basic authentication.
    again = authorize(
        world.auth, client["client_id"], world.auth.account().email,
        redirect_uri=LE_CHAT_CALLBACK, scope=scope, resource=world.mcp_url,
    )
    missing = httpx.post(server["token_endpoint"], auth=basic, data={
        "grant_type": "authorization_code", "code": again.params["code"],
        "redirect_uri": LE_CHAT_CALLBACK})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_mcp_inspector_sends_an_empty_scope(world: Stack) -> None:
    _, server = _discover(world)
    callback = "http://localhost:6274/oauth/callback"
    client = _register(server, {
        "client_name": "MCP Inspector", "redirect_uris": [callback],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
    result = authorize(
        world.auth, client["client_id"], world.auth.account().email,
        redirect_uri=callback, scope="", resource=world.mcp_url, keep_empty="scope",
    )
    tokens = _code_grant(server, client["client_id"], result.params["code"], result.verifier,
                         callback)
    assert tokens.status_code == 200, tokens.text
    # An empty scope means the defaults, which are enough for the MCP server's tools.
    assert set(tokens.json()["scope"].split()) >= {"read:data", "read:profile"}
    _call_profile(world, tokens.json()["access_token"])


def test_sdk_client_with_a_metadata_document_never_registers(
    world: Stack, internet: Internet
) -> None:
    url = "https://assistant.example/mcp/client-metadata.json"
    internet.publish(url, client_document(url, [REDIRECT_URI], client_name="SDK assistant"))
    patient = world.auth.account()
    browser = Browser(patient.email, PASSWORD)

    async def scenario() -> None:
        async with connect(world.mcp_url, browser, client_metadata_url=url) as connection:
            result = await connection.session.call_tool("get_my_profile", {})
            assert not result.is_error and result.structured_content
            assert result.structured_content["sub"] == patient.id
            assert connection.storage.client_info is not None
            assert connection.storage.client_info.client_id == url

    asyncio.run(scenario())
    assert "client_id=https%3A%2F%2Fassistant.example" in browser.authorize_urls[0]
    requests = httpx.get(f"{world.auth.url}/metrics").text
    assert 'route="/authorize"' in requests and 'route="/register"' not in requests
    stored = world.auth.store.client(url)
    assert stored is not None and stored.kind == "metadata_document"


def test_cursor_registers_its_private_use_callback_and_gets_the_answer_there(
    world: Stack,
) -> None:
    scope, server = _discover(world)
    # One request with all three of Cursor's callbacks; the desktop app uses cursor://.
    client = _register(server, CURSOR_REGISTRATION)
    assert client["redirect_uris"] == CURSOR_REGISTRATION["redirect_uris"]
    assert "client_secret" not in client
    email = world.auth.account().email
    result = authorize(
        world.auth, client["client_id"], email, redirect_uri=CURSOR_CALLBACK, scope=scope,
        resource=world.mcp_url,
    )
    assert result.location.startswith(CURSOR_CALLBACK + "?"), result.location
    assert result.params["iss"] == server["issuer"]
    tokens = _code_grant(
        server, client["client_id"], result.params["code"], result.verifier, CURSOR_CALLBACK
    )
    assert tokens.status_code == 200, tokens.text
    profile = _call_profile(world, tokens.json()["access_token"])
    assert profile["structuredContent"]["email"] == email
    refreshed = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"],
        "client_id": client["client_id"]})
    assert refreshed.status_code == 200, refreshed.text
    _call_profile(world, refreshed.json()["access_token"])
    # Signing out: Cursor revokes its refresh token, which ends the grant (RFC 7009 2.1).
    revoked = httpx.post(server["revocation_endpoint"], data={
        "token": refreshed.json()["refresh_token"], "client_id": client["client_id"]})
    assert revoked.status_code == 200, revoked.text
    again = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"],
        "client_id": client["client_id"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    rs = world.auth.resource_server
    seen = httpx.post(server["introspection_endpoint"], auth=(rs.id, rs.secret or ""),
                      data={"token": refreshed.json()["access_token"]})
    assert seen.json() == {"active": False}


def test_vscode_registers_then_uses_a_random_loopback_port_or_vscode_dev(world: Stack) -> None:
    scope, server = _discover(world)
    # VS Code asks for the challenge's scopes, at /register and at /authorize.
    challenge_scope = " ".join(name for name in scope.split() if name != "offline_access")
    client = _register(server, vscode_registration(server, challenge_scope))
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    assert "client_secret" not in client
    email = world.auth.account().email
    # The desktop app listens on whatever port it gets, at the root path; the web build uses
    # vscode.dev's redirect page.
    for redirect_uri in ("http://127.0.0.1:52417/", VSCODE_WEB_CALLBACK):
        result = authorize(
            world.auth, client["client_id"], email, redirect_uri=redirect_uri,
            scope=challenge_scope, resource=world.mcp_url,
        )
        assert result.location.startswith(redirect_uri + "?"), result.location
        tokens = _code_grant(
            server, client["client_id"], result.params["code"], result.verifier, redirect_uri
        )
        assert tokens.status_code == 200, tokens.text
        profile = _call_profile(world, tokens.json()["access_token"])
        assert profile["structuredContent"]["email"] == email


def test_chatgpt_with_its_metadata_document_and_private_key_jwt(
    world: Stack, internet: Internet
) -> None:
    # ChatGPT names itself by its document, declares private_key_jwt with RS256 and a jwks_uri,
    # and signs an assertion at every token request; it never registers nor falls back to none.
    chatgpt.publish(internet)
    scope, server = _discover(world)
    assert server["client_id_metadata_document_supported"] is True
    assert "private_key_jwt" in server["token_endpoint_auth_methods_supported"]
    assert "RS256" in server["token_endpoint_auth_signing_alg_values_supported"]
    email = world.auth.account().email
    result = authorize(
        world.auth, chatgpt.CHATGPT, email, redirect_uri=chatgpt.CALLBACK, scope=scope,
        resource=world.mcp_url,
    )
    assert result.location.startswith(chatgpt.CALLBACK + "?")
    assert result.params["iss"] == server["issuer"]
    tokens = _code_grant(
        server, chatgpt.CHATGPT, result.params["code"], result.verifier, chatgpt.CALLBACK,
        form={"client_id": chatgpt.CHATGPT, **chatgpt.signed(world.auth)},
    )
    assert tokens.status_code == 200, tokens.text
    profile = _call_profile(world, tokens.json()["access_token"])
    assert profile["structuredContent"]["email"] == email
    refreshed = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"],
        "client_id": chatgpt.CHATGPT, **chatgpt.signed(world.auth)})
    assert refreshed.status_code == 200, refreshed.text
    _call_profile(world, refreshed.json()["access_token"])
    # Without its assertion the same refresh is refused: the document's keys are the client's
    # credentials, not a decoration.
    unsigned = httpx.post(server["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"],
        "client_id": chatgpt.CHATGPT})
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "invalid_client"
    requests = httpx.get(f"{world.auth.url}/metrics").text
    assert 'route="/register"' not in requests
    assert internet.fetches(chatgpt.JWKS_URI) == 1
