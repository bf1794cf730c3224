"""Revocation (RFC 7009) by the owning client."""

from __future__ import annotations

from tests.databases import both_backends
from tests.flow import introspect, refresh, tokens_for
from tests.harness import AuthServer

pytestmark = both_backends


def test_revoking_an_access_token_leaves_the_refresh_token(auth_server: AuthServer) -> None:
    client_id = auth_server.client(public=True).id
    tokens = tokens_for(auth_server, client_id, auth_server.account().email)
    with auth_server.http() as http:
        response = http.post(
            "/revoke", data={"token": tokens["access_token"], "client_id": client_id}
        )
    assert response.status_code == 200
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    assert refresh(auth_server, client_id, tokens["refresh_token"]).status_code == 200


def test_another_client_cannot_revoke(auth_server: AuthServer) -> None:
    client_id = auth_server.client(public=True).id
    intruder = auth_server.client(public=True).id
    tokens = tokens_for(auth_server, client_id, auth_server.account().email)
    with auth_server.http() as http:
        response = http.post(
            "/revoke", data={"token": tokens["refresh_token"], "client_id": intruder}
        )
    assert response.status_code == 400
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True


def test_unknown_token_revocation_is_200(auth_server: AuthServer) -> None:
    client_id = auth_server.client(public=True).id
    with auth_server.http() as http:
        response = http.post(
            "/revoke", data={"token": "hospiai_at_unknown", "client_id": client_id}
        )
    assert response.status_code == 200


def test_revocation_requires_client_authentication(auth_server: AuthServer) -> None:
    client = auth_server.client()
    tokens = tokens_for(auth_server, client.id, auth_server.account().email, secret=client.secret)
    with auth_server.http() as http:
        unauthenticated = http.post(
            "/revoke", data={"token": tokens["access_token"], "client_id": client.id}
        )
        assert unauthenticated.status_code == 401
        assert introspect(auth_server, tokens["access_token"]).json()["active"] is True
        authenticated = http.post(
            "/revoke", data={"token": tokens["access_token"]}, auth=(client.id, client.secret or "")
        )
    assert authenticated.status_code == 200
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
