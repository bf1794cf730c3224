"""RFC 8707 resource indicators and the MCP canonical URI rule: a resource spelled with an
upper-case scheme or host, or an explicit default port, is the registered resource; anything
else is invalid_target, at /authorize and at /token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authserver.oauth.resource import canonical_resource
from authserver.provisioning import Credentials
from tests.databases import Databases, both_backends
from tests.flow import (
    REDIRECT_URI,
    authorize,
    authorize_params,
    exchange,
    introspect,
    pkce_pair,
    query_of,
    refresh,
    start,
)
from tests.harness import AuthServer, start_auth_server

RESOURCE = "https://mcp.hospiai.example/mcp"
LOCAL = "http://localhost/mcp"
SAME = [
    "HTTPS://mcp.hospiai.example/mcp",
    "https://MCP.HospiAI.example/mcp",
    "https://mcp.hospiai.example:443/mcp",
    "Https://MCP.HOSPIAI.EXAMPLE:443/mcp",
]
OTHER = [
    "https://mcp.hospiai.example/MCP",
    "https://mcp.hospiai.example/mcp/",
    "https://mcp.hospiai.example/mcp?x=1",
    "https://mcp.hospiai.example/mcp?",
    "https://mcp.hospiai.example/mcp#top",
    "https://mcp.hospiai.example:8443/mcp",
    "https://mcp.hospiai.example:0443/mcp",
    "https://mcp.hospiai.example:/mcp",
    "https://mcp.hospiai.example:80/mcp",
    "http://mcp.hospiai.example/mcp",
    "http://mcp.hospiai.example:443/mcp",
    "https://user@mcp.hospiai.example/mcp",
    " https://mcp.hospiai.example/mcp",
    "https://mcp.hospiai.example/m%63p",
    "https://mcp.hospiai.example.:443/mcp",
]


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, resource=RESOURCE) as started:
        yield started


@pytest.fixture
def local(server: AuthServer) -> Credentials:
    """A second resource, on http's default port."""
    return server.add_resource_server(LOCAL)


@pytest.mark.parametrize(
    ("resource", "canonical"),
    [
        *((same, RESOURCE) for same in SAME),
        ("HTTP://LocalHost:80/mcp", LOCAL),
        ("http://[::1]:80/mcp", "http://[::1]/mcp"),
        ("HTTP://127.0.0.1:8000/MCP", "http://127.0.0.1:8000/MCP"),
        # Only the default port goes: this one still names a host that is not registered.
        ("https://mcp.hospiai.example.:443/mcp", "https://mcp.hospiai.example./mcp"),
        *((other, other) for other in OTHER if ":443" not in other),
        ("https://[::1", "https://[::1"),
        ("urn:example:mcp", "urn:example:mcp"),
    ],
)
def test_canonical_form(resource: str, canonical: str) -> None:
    assert canonical_resource(resource) == canonical


@both_backends
@pytest.mark.parametrize("resource", SAME)
def test_the_same_resource_spelled_otherwise_is_accepted_as_registered(
    server: AuthServer, resource: str
) -> None:
    client_id = server.client(public=True).id
    result = authorize(server, client_id, server.account().email, resource=resource)
    response = exchange(server, client_id, result.params["code"], result.verifier,
                        resource=resource)
    assert response.status_code == 200, response.text
    tokens = response.json()
    # The audience is the registered form, which the resource server compares byte for byte.
    assert introspect(server, tokens["access_token"]).json()["aud"] == RESOURCE
    refreshed = refresh(server, client_id, tokens["refresh_token"], resource=resource)
    assert refreshed.status_code == 200, refreshed.text


@both_backends
def test_an_explicit_default_http_port_is_the_same_resource(
    server: AuthServer, local: Credentials
) -> None:
    client_id = server.client(public=True).id
    result = authorize(
        server, client_id, server.account().email, resource="HTTP://LOCALHOST:80/mcp"
    )
    response = exchange(server, client_id, result.params["code"], result.verifier,
                        resource="http://localhost:80/mcp")
    assert response.status_code == 200, response.text
    seen = introspect(server, response.json()["access_token"], (local.id, local.secret or ""))
    assert seen.json()["aud"] == LOCAL


@both_backends
@pytest.mark.parametrize("resource", OTHER)
def test_anything_else_is_invalid_target_at_authorize(server: AuthServer, resource: str) -> None:
    client_id = server.client(public=True).id
    _, challenge = pkce_pair()
    with server.http() as browser:
        response = start(browser, authorize_params(client_id, challenge, resource=resource))
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    assert query_of(response.headers["location"])["error"] == "invalid_target"


@both_backends
def test_anything_else_is_invalid_target_at_token(server: AuthServer) -> None:
    client_id = server.client(public=True).id
    result = authorize(server, client_id, server.account().email, resource=RESOURCE)
    for resource in (*OTHER, LOCAL, "http://localhost:80/mcp"):
        response = exchange(server, client_id, result.params["code"], result.verifier,
                            resource=resource)
        assert response.status_code == 400, (resource, response.text)
        assert response.json()["error"] == "invalid_target", resource
    # The code was not spent by the refusals; a canonical spelling of the grant's resource works.
    response = exchange(server, client_id, result.params["code"], result.verifier,
                        resource="HTTPS://MCP.hospiai.example:443/mcp")
    assert response.status_code == 200, response.text
    refused = refresh(server, client_id, response.json()["refresh_token"],
                      resource="https://mcp.hospiai.example/MCP")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
