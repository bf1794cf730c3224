"""CORS on the authorization server: any origin, never credentials, on the endpoints a
browser-based client calls (metadata, registration, token, revocation); none at all on
/authorize, the pages and introspection, not even on a preflight."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import AuthServer

PAGE = "http://127.0.0.1:6274"  # the MCP Inspector's page, or any web app


def _preflight(server: AuthServer, path: str, method: str, headers: str = "") -> httpx.Response:
    request = {"Origin": PAGE, "Access-Control-Request-Method": method}
    if headers:
        request["Access-Control-Request-Headers"] = headers
    return httpx.options(server.url + path, headers=request)


def _cors(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items()
            if name.startswith("access-control-")}


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        # The TypeScript SDK sends MCP-Protocol-Version when it discovers.
        ("/.well-known/oauth-authorization-server", "GET", "mcp-protocol-version"),
        ("/.well-known/openid-configuration", "GET", "mcp-protocol-version"),
        ("/register", "POST", "content-type"),
        ("/register/some-client", "PUT", "authorization,content-type"),
        ("/register/some-client", "DELETE", "authorization"),
        ("/token", "POST", "content-type,authorization"),
        ("/revoke", "POST", "content-type,authorization"),
    ],
)
def test_preflights_allow_any_origin_without_credentials(
    auth_server: AuthServer, path: str, method: str, headers: str
) -> None:
    response = _preflight(auth_server, path, method, headers)
    assert response.status_code == 200, response.text
    cors = _cors(response)
    assert cors["access-control-allow-origin"] == "*"
    assert method in cors["access-control-allow-methods"].split(", ")
    allowed = {name.lower() for name in cors["access-control-allow-headers"].split(", ")}
    assert set(headers.split(",")) <= allowed
    assert "access-control-allow-credentials" not in cors


def test_a_method_the_route_does_not_take_is_not_allowed(auth_server: AuthServer) -> None:
    cors = _cors(_preflight(auth_server, "/token", "DELETE"))
    assert cors["access-control-allow-methods"] == "POST"


def test_answers_and_their_errors_are_readable_by_the_page(
    auth_server: AuthServer, public_client: str
) -> None:
    origin = {"Origin": PAGE}
    metadata = httpx.get(f"{auth_server.url}/.well-known/oauth-authorization-server",
                         headers=origin)
    registered = httpx.post(f"{auth_server.url}/register", headers=origin, json={
        "client_name": "Web app", "redirect_uris": [f"{PAGE}/oauth/callback"],
        "token_endpoint_auth_method": "none",
    })
    # A client that authenticates and fails is a 401 invalid_client: the page must see why.
    refused = httpx.post(f"{auth_server.url}/token", headers=origin,
                         data={"grant_type": "authorization_code", "code": "x"},
                         auth=("nobody", "wrong"))
    revoked = httpx.post(f"{auth_server.url}/revoke", headers=origin,
                         data={"token": "unknown", "client_id": public_client})
    assert (metadata.status_code, registered.status_code, refused.status_code,
            revoked.status_code) == (200, 201, 401, 200)
    assert refused.json()["error"] == "invalid_client"
    for response in (metadata, registered, refused, revoked):
        cors = _cors(response)
        assert cors["access-control-allow-origin"] == "*", response.request.url
        assert "access-control-allow-credentials" not in cors
    assert "WWW-Authenticate" in _cors(refused)["access-control-expose-headers"].split(", ")


def test_registration_management_is_readable_with_its_token(auth_server: AuthServer) -> None:
    registered = httpx.post(f"{auth_server.url}/register", json={
        "client_name": "Web app", "redirect_uris": [f"{PAGE}/oauth/callback"],
        "token_endpoint_auth_method": "none",
    }).json()
    read = httpx.get(registered["registration_client_uri"], headers={
        "Origin": PAGE, "Authorization": f"Bearer {registered['registration_access_token']}",
    })
    assert read.status_code == 200, read.text
    assert _cors(read)["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/authorize", "GET"),
        ("/authorize/resume/some-interaction", "GET"),
        ("/interaction/some-interaction", "GET"),
        ("/interaction/some-interaction/consent", "POST"),
        ("/login", "POST"),
        ("/logout", "POST"),
        ("/account", "GET"),
        ("/account/tokens", "POST"),
        ("/admin", "GET"),
        ("/admin/accounts", "POST"),
        ("/introspect", "POST"),
    ],
)
def test_authorize_pages_and_introspection_get_no_cors(
    auth_server: AuthServer, path: str, method: str
) -> None:
    preflight = _preflight(auth_server, path, method, "content-type")
    assert preflight.status_code in {404, 405}, (path, preflight.status_code)
    assert _cors(preflight) == {}
    answer = httpx.request(method, auth_server.url + path, headers={"Origin": PAGE})
    assert _cors(answer) == {}, path
