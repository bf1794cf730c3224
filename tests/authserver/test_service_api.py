"""The service API for HospiAI's web application: a service client's client credentials token
(admin:tokens) creates, lists and revokes a named account's personal tokens, within the
account's role, audited with the service as actor; no other client gets client credentials."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from authserver.models import AccessToken
from authserver.oauth.service import service_audience
from authserver.provisioning import Credentials, create_service_client
from tests.databases import Databases, both_backends
from tests.flow import introspect, tokens_for
from tests.harness import AuthServer, start_auth_server

pytestmark = both_backends


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, service_api_enabled=True) as started:
        yield started


def _service(server: AuthServer) -> Credentials:
    return create_service_client(server.store, server.keys, name="HospiAI web", now=server.clock())


def _service_token(server: AuthServer, credentials: Credentials, **extra: str) -> httpx.Response:
    with server.http() as client:
        return client.post(
            "/token", data={"grant_type": "client_credentials", **extra},
            auth=(credentials.id, credentials.secret or ""),
        )


def _api(server: AuthServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/service", headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_create_list_revoke_a_personal_token_for_an_account(server: AuthServer) -> None:
    service = _service(server)
    issued = _service_token(server, service)
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "admin:tokens" and "refresh_token" not in issued.json()
    token = issued.json()["access_token"]
    # Good at the service API only: no resource server sees it.
    assert introspect(server, token).json() == {"active": False}
    account = server.account()
    with _api(server, token) as api:
        created = api.post("/tokens", json={
            "account": account.email.upper(), "name": "Dashboard token",
            "scopes": ["read:data", "read:bookings"], "days": 30,
        })
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["token"].startswith("hospiai_pat_") and body["name"] == "Dashboard token"
        assert body["scopes"] == ["read:data", "read:bookings"]
        assert introspect(server, body["token"]).json()["sub"] == account.id
        listed = api.get("/tokens", params={"account": account.email}).json()["tokens"]
        assert [item["id"] for item in listed] == [body["id"]] and "token" not in listed[0]
        revoked = api.post(f"/tokens/{body['id']}/revoke", json={"account": account.email})
        assert revoked.status_code == 200 and revoked.json() == {"revoked": True}
        assert api.get("/tokens", params={"account": account.email}).json() == {"tokens": []}
    assert introspect(server, body["token"]).json() == {"active": False}
    actors = {
        (event.event, event.actor, event.detail.get("account_id"))
        for event in server.store.audit_events(client_id=service.id)
    }
    assert ("token.issued", service.id, account.id) in actors
    assert ("grant.revoked", service.id, account.id) in actors


def test_calls_cannot_exceed_the_accounts_role_or_reach_another_account(
    server: AuthServer,
) -> None:
    token = _service_token(server, _service(server)).json()["access_token"]
    patient, other = server.account(), server.account()
    tokens_for(server, server.client(public=True).id, patient.email, scope="read:data")
    [(app_grant, _, _)] = server.store.live_grants(account_id=patient.id)
    with _api(server, token) as api:
        def create(**fields: object) -> httpx.Response:
            return api.post("/tokens", json={
                "account": patient.email, "name": "x", "scopes": ["read:data"], "days": 30,
                **fields,
            })
        assert create(scopes=["write:data"]).status_code == 400  # staff only
        assert create(scopes=["offline_access"]).status_code == 400
        for days in (0, 366, True, "30"):
            assert create(days=days).status_code == 400, days
        assert create(resource="https://elsewhere.example/mcp").status_code == 400
        assert create(account="nobody@hospiai.test").status_code == 404
        assert create(name="").json()["error"] == "invalid_request"
        mine = create().json()["id"]
        # Another account's token, or the account's connected app, is not this call's to revoke.
        elsewhere = api.post(f"/tokens/{mine}/revoke", json={"account": other.email})
        assert elsewhere.status_code == 404
        assert api.post(
            f"/tokens/{app_grant.id}/revoke", json={"account": patient.email}
        ).status_code == 404
        json_type = {"Content-Type": "application/json"}
        bad_body = api.post("/tokens", content=b"[1]", headers=json_type)
        assert bad_body.status_code == 400


def test_only_a_service_token_opens_the_api(server: AuthServer) -> None:
    account = server.account()
    user_token = tokens_for(server, server.client(public=True).id, account.email, scope="read:data")
    for token in ("none", "hospiai_at_unknown", user_token["access_token"]):
        with _api(server, token) as api:
            response = api.get("/tokens", params={"account": account.email})
        assert response.status_code == 401, token
        assert response.json()["error"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_no_other_client_gets_client_credentials(server: AuthServer) -> None:
    with server.http() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        assert "client_credentials" in metadata["grant_types_supported"]
        registered = http.post("/register", json={
            "client_name": "Machine", "redirect_uris": ["https://machine.example/cb"],
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        })
        assert registered.status_code == 400
        assert registered.json()["error"] == "invalid_client_metadata"
        dynamic = http.post("/register", json={
            "client_name": "Web", "redirect_uris": ["https://web.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        }).json()
    for credentials in (
        server.client(), Credentials(dynamic["client_id"], dynamic["client_secret"])
    ):
        refused = _service_token(server, credentials)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "unauthorized_client"
    service = _service(server)
    assert _service_token(server, service, scope="read:data").json()["error"] == "invalid_scope"


def test_off_unless_enabled(auth_server: AuthServer) -> None:
    service = _service(auth_server)
    refused = _service_token(auth_server, service)
    assert refused.status_code == 400 and refused.json()["error"] == "unsupported_grant_type"
    with auth_server.http() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        assert "client_credentials" not in metadata["grant_types_supported"]
        assert http.get("/api/service/tokens").status_code == 404


def test_a_service_token_stops_working_when_revoked_expired_blocked_or_without_the_scope(
    server: AuthServer,
) -> None:
    account = server.account()
    service = _service(server)

    def answer(token: str) -> httpx.Response:
        with _api(server, token) as api:
            return api.get("/tokens", params={"account": account.email})

    revoked = _service_token(server, service).json()["access_token"]
    assert answer(revoked).status_code == 200
    with server.http() as http:
        assert http.post("/revoke", data={"token": revoked},
                         auth=(service.id, service.secret or "")).status_code == 200
    assert answer(revoked).status_code == 401

    expiring = _service_token(server, service).json()["access_token"]
    server.clock.advance(server.settings.access_token_ttl + 1)
    assert answer(expiring).status_code == 401

    blocked = _service_token(server, service).json()["access_token"]
    assert answer(blocked).status_code == 200
    server.store.set_client_blocked(service.id, True, server.clock())
    refused = answer(blocked)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    server.store.set_client_blocked(service.id, False, server.clock())

    # A token of the service client without admin:tokens (as one issued before the scope was
    # withdrawn would be): 403 naming the scope it needs.
    now = server.clock()
    narrow = "hospiai_at_" + "n" * 43
    server.store.add_access_token(AccessToken(
        token_hash=server.keys.hash_secret(narrow), grant_id="", client_id=service.id,
        account_id="", scope="", resource=service_audience(server.settings.issuer),
        issued_at=now, expires_at=now + 600,
    ))
    lacking = answer(narrow)
    assert lacking.status_code == 403 and lacking.json()["error"] == "insufficient_scope"
    assert 'scope="admin:tokens"' in lacking.headers["www-authenticate"]
