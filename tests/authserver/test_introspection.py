"""Introspection (RFC 7662): authenticated resource servers, each seeing only its own audience."""

from __future__ import annotations

from tests.databases import both_backends
from tests.flow import introspect, tokens_for
from tests.harness import AuthServer

pytestmark = both_backends


def _tokens(server: AuthServer, **extra: str) -> dict[str, str]:
    client_id = server.client(public=True).id
    return tokens_for(server, client_id, server.account().email, **extra)


def test_other_resource_server_sees_the_token_inactive(auth_server: AuthServer) -> None:
    other = auth_server.add_resource_server("https://records.hospiai.test/api")
    tokens = _tokens(auth_server)
    response = introspect(auth_server, tokens["access_token"], (other.id, other.secret or ""))
    assert response.status_code == 200
    assert response.json() == {"active": False}
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True


def test_token_for_another_resource_is_inactive_here(auth_server: AuthServer) -> None:
    other = auth_server.add_resource_server("https://records.hospiai.test/api")
    tokens = _tokens(auth_server, resource="https://records.hospiai.test/api")
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    info = introspect(auth_server, tokens["access_token"], (other.id, other.secret or "")).json()
    assert info["active"] is True and info["aud"] == "https://records.hospiai.test/api"


def test_introspection_requires_credentials(auth_server: AuthServer) -> None:
    tokens = _tokens(auth_server)
    rs = auth_server.resource_server
    with auth_server.http() as http:
        anonymous = http.post("/introspect", data={"token": tokens["access_token"]})
        wrong_secret = http.post(
            "/introspect", data={"token": tokens["access_token"]}, auth=(rs.id, "hospiai_rs_x")
        )
        unknown = http.post(
            "/introspect", data={"token": tokens["access_token"]}, auth=("rs_nope", "x")
        )
        # A client's credentials are not a resource server's.
        client = auth_server.client()
        as_client = http.post(
            "/introspect", data={"token": tokens["access_token"]},
            auth=(client.id, client.secret or ""),
        )
    for response in (anonymous, wrong_secret, unknown, as_client):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert "active" not in response.json()


def test_unknown_refresh_and_garbage_tokens_are_inactive(auth_server: AuthServer) -> None:
    tokens = _tokens(auth_server)
    for token in ("hospiai_at_unknown", tokens["refresh_token"], "", "x" * 5000):
        assert introspect(auth_server, token).json() == {"active": False}


def test_missing_token_parameter_is_invalid_request(auth_server: AuthServer) -> None:
    rs = auth_server.resource_server
    with auth_server.http() as http:
        response = http.post("/introspect", data={}, auth=(rs.id, rs.secret or ""))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
