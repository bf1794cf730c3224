"""Browser-based clients in the real Chromium: the MCP Inspector's web page (the TypeScript SDK
running in the browser) replayed from a page on another loopback origin, every call made with
fetch() so that CORS is the browser's to enforce; and a page whose origin is not allowed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.conftest import log_in, screenshot
from tests.databases import Databases
from tests.flow import authorize_params, pkce_pair, tokens_for
from tests.harness import Stack, start_stack
from tests.mcpserver.helpers import MCP_HEADERS
from tests.servers import bind_loopback, serve

# What the Inspector's SDK (1.x) names as the protocol revision in its requests.
PROTOCOL_VERSION = "2025-11-25"

DISCOVER = """async ({mcpUrl, message}) => {
  // The SDK's first request carries no token; its 401 says where to go.
  const first = await fetch(mcpUrl, {method: "POST", body: JSON.stringify(message), headers: {
      "content-type": "application/json", accept: "application/json, text/event-stream"}});
  const version = message.params.protocolVersion;
  const challenge = first.headers.get("www-authenticate");
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)[1];
  const resource = await (await fetch(metadataUrl, {
    headers: {"MCP-Protocol-Version": version}})).json();
  const issuer = resource.authorization_servers[0];
  const server = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`, {
    headers: {"MCP-Protocol-Version": version, Accept: "application/json"}})).json();
  return {status: first.status, challenge, resource, server};
}"""

REGISTER = """async ({endpoint, metadata}) => {
  const response = await fetch(endpoint, {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(metadata)});
  return {status: response.status, body: await response.json()};
}"""

FORM = """async ({endpoint, form}) => {
  // Back on the callback page: the code comes from this page's own address.
  const code = new URLSearchParams(location.search).get("code");
  const body = new URLSearchParams(code ? {...form, code} : form);
  const response = await fetch(endpoint, {method: "POST", body, headers: {
    "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json"}});
  return {status: response.status, body: await response.text()};
}"""

CALL = """async ({mcpUrl, token, version, message}) => {
  try {
    const response = await fetch(mcpUrl, {method: "POST", body: JSON.stringify(message),
      headers: {Authorization: `Bearer ${token}`, "content-type": "application/json",
                accept: "application/json, text/event-stream", "mcp-protocol-version": version}});
    return {status: response.status, challenge: response.headers.get("www-authenticate"),
            body: await response.text()};
  } catch (error) {
    return {failed: error.name};
  }
}"""

INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
    "clientInfo": {"name": "mcp-inspector", "version": "0.17.0"}}}
PROFILE = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "get_my_profile", "arguments": {}}}


@pytest.fixture
def site() -> Iterator[str]:
    """The web app's own origin: one static page at every path, on another loopback port."""

    async def page(_request: Request) -> Response:
        return HTMLResponse("<!doctype html><title>MCP Inspector</title><p>Inspector</p>")

    sock = bind_loopback()
    with serve(Starlette(routes=[Route("/{path:path}", page)]), sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def world(databases: Databases, site: str) -> Iterator[Stack]:
    # No introspection cache: a revoked token is refused on the next call.
    with start_stack(databases, browser_origins=(site,), cache_ttl=0) as stack:
        yield stack


def _inspector_metadata(site: str) -> dict[str, Any]:
    """The Inspector's registration body (client/src/lib/auth.ts, clientMetadata); its scope
    is the one saved for this server, none on a first connection."""
    return {
        "redirect_uris": [f"{site}/oauth/callback", f"{site}/oauth/callback/debug"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "MCP Inspector",
        "client_uri": "https://github.com/modelcontextprotocol/inspector",
        "scope": "",
    }


def _evaluate(page: Page, script: str, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(script, arguments)
    return result


def test_mcp_inspector_in_the_browser(page: Page, world: Stack, site: str) -> None:
    page.goto(f"{site}/")
    found = _evaluate(page, DISCOVER, mcpUrl=world.mcp_url, message=INITIALIZE)
    assert found["status"] == 401
    assert found["resource"]["resource"] == world.mcp_url
    server = found["server"]
    assert server["issuer"] == world.auth.url
    scope = re.search(r'scope="([^"]+)"', found["challenge"])
    assert scope, found["challenge"]

    registered = _evaluate(page, REGISTER, endpoint=server["registration_endpoint"],
                           metadata=_inspector_metadata(site))
    assert registered["status"] == 201, registered
    client_id = registered["body"]["client_id"]

    # The SDK sends the browser to /authorize (window.location), the user logs in and allows.
    callback = f"{site}/oauth/callback"
    verifier, challenge = pkce_pair()
    page.goto(f"{server['authorization_endpoint']}?" + urlencode(authorize_params(
        client_id, challenge, redirect_uri=callback, scope=scope.group(1),
        resource=world.mcp_url)))
    patient = world.auth.account()
    log_in(page, patient.email)
    expect(page.get_by_role("heading", name="Allow")).to_contain_text("MCP Inspector")
    screenshot(page, "consent-browser-client")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{callback}?**")

    exchanged = _evaluate(page, FORM, endpoint=server["token_endpoint"], form={
        "grant_type": "authorization_code", "code_verifier": verifier,
        "redirect_uri": callback, "client_id": client_id, "resource": world.mcp_url})
    assert exchanged["status"] == 200, exchanged
    token = json.loads(exchanged["body"])["access_token"]

    # With the token: the SDK's initialize again, then the tool call.
    initialized = _evaluate(page, CALL, mcpUrl=world.mcp_url, token=token,
                            version=PROTOCOL_VERSION, message=INITIALIZE)
    assert initialized["status"] == 200, initialized
    called = _evaluate(page, CALL, mcpUrl=world.mcp_url, token=token,
                       version=PROTOCOL_VERSION, message=PROFILE)
    assert called["status"] == 200, called
    result = json.loads(called["body"])["result"]
    assert not result["isError"] and result["structuredContent"]["sub"] == patient.id

    revoked = _evaluate(page, FORM, endpoint=server["revocation_endpoint"], form={
        "token": token, "token_type_hint": "access_token", "client_id": client_id})
    assert revoked["status"] == 200, revoked
    again = _evaluate(page, CALL, mcpUrl=world.mcp_url, token=token,
                      version=PROTOCOL_VERSION, message=PROFILE)
    assert again["status"] == 401 and 'error="invalid_token"' in again["challenge"]


def test_a_page_whose_origin_is_not_allowed_cannot_call_mcp(
    page: Page, world: Stack, site: str
) -> None:
    # The same page under another name is another origin, and not on the list.
    other = site.replace("127.0.0.1", "localhost")
    client_id = world.auth.client(public=True).id
    token = tokens_for(world.auth, client_id, world.auth.account().email,
                       resource=world.mcp_url)["access_token"]
    page.goto(f"{other}/")
    refused = _evaluate(page, CALL, mcpUrl=world.mcp_url, token=token,
                        version=PROTOCOL_VERSION, message=PROFILE)
    # The browser's preflight is refused, so the call is never sent.
    assert refused == {"failed": "TypeError"}
    # Public documents stay readable from anywhere.
    metadata = page.evaluate("async url => (await fetch(url)).status",
                             world.mcp_url.replace("/mcp", "/.well-known/oauth-protected-resource"))
    assert metadata == 200
    # And the server itself refuses the origin (the DNS-rebinding rule).
    answer = httpx.post(world.mcp_url, json=PROFILE, headers={
        **MCP_HEADERS, "Origin": other, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 403, answer.text
