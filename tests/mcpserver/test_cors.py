"""CORS on the MCP server: /mcp only for its own origin and the browser origins allowed by
HOSPIAI_MCP_BROWSER_ORIGINS (the DNS-rebinding rule answers any other with 403), the
protected-resource metadata for any origin; never with credentials."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from mcpserver.app import MCP_REQUEST_HEADERS
from tests.databases import Databases
from tests.harness import Stack, start_stack
from tests.mcpserver.helpers import MCP_HEADERS, token_for

PAGE = "http://localhost:6274"
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


@pytest.fixture
def allowing(databases: Databases) -> Iterator[Stack]:
    with start_stack(databases, browser_origins=(PAGE,)) as stack:
        yield stack


def _cors(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items()
            if name.startswith("access-control-")}


def _preflight(url: str, origin: str, headers: str) -> httpx.Response:
    return httpx.options(url, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    })


@pytest.mark.parametrize("path", ["/mcp", "/mcp/"])
def test_an_allowed_page_may_send_every_mcp_request_header(allowing: Stack, path: str) -> None:
    url = allowing.mcp_url.removesuffix("/mcp") + path
    response = _preflight(url, PAGE, ",".join(name.lower() for name in MCP_REQUEST_HEADERS))
    assert response.status_code == 200, response.text
    cors = _cors(response)
    assert cors["access-control-allow-origin"] == PAGE
    assert {"GET", "POST", "DELETE"} <= set(cors["access-control-allow-methods"].split(", "))
    allowed = {name.lower() for name in cors["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type", "accept", "mcp-session-id",
            "mcp-protocol-version", "last-event-id"} <= allowed
    assert "access-control-allow-credentials" not in cors


def test_the_401_challenge_is_readable_by_an_allowed_page(allowing: Stack) -> None:
    response = httpx.post(allowing.mcp_url, json=TOOLS_LIST, headers={**MCP_HEADERS,
                                                                      "Origin": PAGE})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer resource_metadata=")
    cors = _cors(response)
    assert cors["access-control-allow-origin"] == PAGE
    exposed = set(cors["access-control-expose-headers"].split(", "))
    assert {"WWW-Authenticate", "Mcp-Session-Id", "Mcp-Protocol-Version"} <= exposed
    assert "access-control-allow-credentials" not in cors


def test_an_authenticated_call_from_an_allowed_page_runs(allowing: Stack) -> None:
    token, _ = token_for(allowing)
    response = httpx.post(allowing.mcp_url, json=TOOLS_LIST, headers={
        **MCP_HEADERS, "Origin": PAGE, "Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert _cors(response)["access-control-allow-origin"] == PAGE


@pytest.mark.parametrize(
    "origin",
    [
        # Another loopback page: FastMCP's own check lets loopback reach loopback.
        "http://localhost:6275",
        "http://127.0.0.1:6274",
        "https://rebound.example",
        "null",
    ],
)
def test_any_other_origin_is_refused_before_the_token_is_read(
    allowing: Stack, origin: str
) -> None:
    preflight = _preflight(allowing.mcp_url, origin, "authorization,content-type")
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in _cors(preflight)
    token, _ = token_for(allowing)
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        response = httpx.post(allowing.mcp_url, json=TOOLS_LIST, headers={
            **MCP_HEADERS, "Origin": origin, **headers})
        assert response.status_code == 403, (headers, response.text)
        assert "access-control-allow-origin" not in _cors(response)


def test_a_page_of_the_host_the_request_names_is_same_origin(allowing: Stack) -> None:
    """The same server under another loopback name: its own page, not another site's (the
    Host itself is checked by FastMCP, as the rebound host shows)."""
    token, _ = token_for(allowing)
    port = urlsplit(allowing.mcp_url).port
    for host, origin, status in (
        (f"localhost:{port}", f"http://localhost:{port}", 200),
        ("rebound.example", "http://rebound.example", 421),
    ):
        response = httpx.post(allowing.mcp_url, json=TOOLS_LIST, headers={
            **MCP_HEADERS, "Host": host, "Origin": origin, "Authorization": f"Bearer {token}"})
        assert response.status_code == status, (host, response.text)


def test_without_the_setting_only_the_own_origin_passes(stack: Stack) -> None:
    token, _ = token_for(stack)
    own = stack.mcp_url.removesuffix("/mcp")
    for origin, status in ((own, 200), (PAGE, 403)):
        response = httpx.post(stack.mcp_url, json=TOOLS_LIST, headers={
            **MCP_HEADERS, "Origin": origin, "Authorization": f"Bearer {token}"})
        assert response.status_code == status, (origin, response.text)


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
)
def test_the_resource_metadata_is_readable_from_any_origin(stack: Stack, path: str) -> None:
    url = stack.mcp_url.removesuffix("/mcp") + path
    preflight = httpx.options(url, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "mcp-protocol-version"})
    assert preflight.status_code == 200
    assert _cors(preflight)["access-control-allow-origin"] == "*"
    document = httpx.get(url, headers={"Origin": "https://app.example"})
    assert document.status_code == 200
    assert _cors(document)["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in _cors(document)


def test_other_paths_get_no_cors(stack: Stack) -> None:
    base = stack.mcp_url.removesuffix("/mcp")
    for path in ("/healthz", "/readyz", "/metrics", "/other"):
        response = httpx.options(base + path, headers={
            "Origin": PAGE, "Access-Control-Request-Method": "GET"})
        assert _cors(response) == {}, path
