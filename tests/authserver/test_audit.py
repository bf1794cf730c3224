"""The audit log: every event a hospital IT team asks about, with actor, client and IP, and
never a secret."""

from __future__ import annotations

import json

from tests.databases import both_backends
from tests.flow import REDIRECT_URI, authorize, csrf_token, exchange, refresh
from tests.harness import PASSWORD, AuthServer

pytestmark = both_backends


def test_a_connection_lifecycle_is_audited_without_secrets(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with auth_server.http() as client:
        registered = client.post("/register", json={
            "client_name": "Audited Assistant", "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"]}).json()
    client_id = registered["client_id"]
    with auth_server.http() as browser:  # one failed login first
        first = browser.get("/login")
        page = browser.get(first.headers["location"])
        browser.post("/login", data={"email": account.email, "password": "wrong-password",
                                     "csrf_token": csrf_token(page.text)})
    result = authorize(auth_server, client_id, account.email)
    tokens = exchange(auth_server, client_id, result.params["code"], result.verifier).json()
    refreshed = refresh(auth_server, client_id, tokens["refresh_token"]).json()
    auth_server.clock.advance(3600)  # past the grace window: reuse revokes the grant
    assert refresh(auth_server, client_id, tokens["refresh_token"]).status_code == 400
    with auth_server.http() as client:
        client.post("/revoke", data={"token": refreshed["access_token"], "client_id": client_id})

    events = list(reversed(auth_server.store.audit_events(limit=100)))
    names = [event.event for event in events]
    assert names == [
        "client.registered", "login.failed", "login.succeeded", "consent.given",
        "token.issued", "token.refreshed", "refresh_token.reuse_detected", "token.revoked",
    ]
    by_name = {event.event: event for event in events}
    assert by_name["login.failed"].actor is None
    assert by_name["login.failed"].detail == {"email": account.email}
    for name in names[2:]:
        assert by_name[name].actor == account.id, name
    for name in names[3:]:
        assert by_name[name].client_id == client_id, name
    assert all(event.ip == "127.0.0.1" for event in events)
    assert by_name["token.issued"].detail["scope"] == "read:data read:bookings offline_access"

    stored = json.dumps([event.model_dump() for event in events])
    secrets = [tokens["access_token"], tokens["refresh_token"], refreshed["access_token"],
               refreshed["refresh_token"], registered["registration_access_token"],
               result.params["code"], PASSWORD, "wrong-password"]
    for secret in secrets:
        assert secret not in stored
    # Filters: by event prefix, actor and client, newest first, in pages.
    token_events = auth_server.store.audit_events(event="token.")
    assert [event.event for event in token_events] == [
        "token.revoked",
        "token.refreshed",
        "token.issued",
    ]
    assert len(auth_server.store.audit_events(actor=account.id)) == len(names) - 2
    page_one = auth_server.store.audit_events(client_id=client_id, limit=3)
    page_two = auth_server.store.audit_events(client_id=client_id, limit=3, before=page_one[-1].id)
    assert [e.event for e in page_one + page_two] == [
        *reversed(names[3:]),
        "client.registered",
    ]
