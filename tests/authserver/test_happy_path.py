"""The whole flow over real HTTP: register, authorize, log in, consent, exchange, introspect,
refresh, revoke, introspect again."""

from __future__ import annotations

from tests.databases import both_backends
from tests.flow import REDIRECT_URI, authorize, exchange, introspect, refresh
from tests.harness import AuthServer

pytestmark = both_backends


def test_register_authorize_exchange_introspect_refresh_revoke(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with auth_server.http() as client:
        registered = client.post(
            "/register",
            json={
                "client_name": "Happy Path Assistant",
                "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
            },
        )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]

    result = authorize(auth_server, client_id, account.email)
    assert set(result.params) == {"code", "state", "iss"}
    assert result.params["iss"] == auth_server.url
    assert result.location.startswith(REDIRECT_URI + "?")

    tokens = exchange(auth_server, client_id, result.params["code"], result.verifier)
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read:data read:bookings offline_access"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("hospiai_at_") and len(body["access_token"]) >= 43

    info = introspect(auth_server, body["access_token"]).json()
    assert info["active"] is True
    assert info["sub"] == account.id
    assert info["client_id"] == client_id
    assert info["aud"] == auth_server.resource
    assert info["iss"] == auth_server.url
    assert info["email"] == account.email
    assert info["role"] == "patient"
    assert {"exp", "iat", "given_name", "family_name", "token_type", "scope"} <= set(info)

    refreshed = refresh(auth_server, client_id, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != body["refresh_token"]
    assert introspect(auth_server, new["access_token"]).json()["active"] is True

    with auth_server.http() as client:
        revoked = client.post(
            "/revoke",
            data={"token": new["refresh_token"], "client_id": client_id,
                  "token_type_hint": "refresh_token"},
        )
    assert revoked.status_code == 200, revoked.text
    assert introspect(auth_server, new["access_token"]).json() == {"active": False}
    assert introspect(auth_server, body["access_token"]).json() == {"active": False}
