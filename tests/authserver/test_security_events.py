"""The revocation feed (RFC 8936 polling of RFC 8417 SETs): authenticated with the resource
server's own credentials, each resource server sees its own tokens' events and nobody else's,
acknowledgements move a receiver on, errors have RFC 8936's shape, events are purged."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any

import httpx
from sqlalchemy import text

from authserver.maintenance import purge
from authserver.provisioning import rotate_resource_server_secret
from authserver.store.security_events import RETENTION_SECONDS, account_disabled
from shared.security_events import (
    ACCOUNT_DISABLED,
    CLIENT_REVOKED,
    PATH,
    SESSION_REVOKED,
    TOKEN_CLAIMS_CHANGE,
    TOKEN_REVOKED,
    UNKNOWN_POSITION,
)
from tests.databases import both_backends, postgresql_only
from tests.flow import tokens_for
from tests.harness import AuthServer

OTHER = "http://127.0.0.1:1/other/mcp"


def poll(server: AuthServer, credentials: tuple[str, str], body: object) -> httpx.Response:
    with server.http() as http:
        return http.post(PATH, json=body, auth=credentials)


def own(server: AuthServer) -> tuple[str, str]:
    return server.resource_server.id, server.resource_server.secret or ""


def claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, signature = token.split(".")
    assert signature == ""
    decoded = [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
               for part in (header, payload)]
    return decoded[0], decoded[1]


def events(server: AuthServer, credentials: tuple[str, str]) -> list[dict[str, Any]]:
    answer = poll(server, credentials, {"returnImmediately": True})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return [claims(token)[1] for token in answer.json()["sets"].values()]


def revoke(server: AuthServer, token: str, client_id: str) -> None:
    with server.http() as http:
        assert http.post("/revoke", data={"token": token, "client_id": client_id}).status_code \
            == 200


@both_backends
def test_each_resource_server_sees_its_own_tokens_events_and_no_raw_token(
    auth_server: AuthServer, public_client: str
) -> None:
    other = auth_server.add_resource_server(OTHER)
    account = auth_server.account()
    token = tokens_for(auth_server, public_client, account.email)["access_token"]
    revoke(auth_server, token, public_client)
    mine = poll(auth_server, own(auth_server), {})
    assert token not in mine.text
    ((jti, only),) = mine.json()["sets"].items()
    header, body = claims(only)
    assert header == {"typ": "secevent+jwt", "alg": "none"}
    assert body["iss"] == auth_server.settings.issuer and body["aud"] == auth_server.resource
    assert body["jti"] == jti and set(body["events"]) == {TOKEN_REVOKED}
    assert body["sub_id"] == {"format": "opaque", "id": hashlib.sha256(token.encode()).hexdigest()}
    # The other audience learns nothing of this token.
    assert events(auth_server, (other.id, other.secret or "")) == []
    # An account disabled is every resource server's business (its id, not a token's).
    assert auth_server.store.set_account_disabled(account.id, True, auth_server.clock())
    (seen,) = events(auth_server, (other.id, other.secret or ""))
    assert set(seen["events"]) == {ACCOUNT_DISABLED} and seen["aud"] == OTHER
    assert seen["sub_id"] == {"format": "iss_sub", "iss": auth_server.settings.issuer,
                              "sub": account.id}


@both_backends
def test_grant_and_client_events_name_the_user_and_the_application(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    refresh = tokens_for(auth_server, public_client, account.email,
                         scope="read:data offline_access")["refresh_token"]
    # Revoking a refresh token revokes its grant (RFC 7009 section 2.1).
    revoke(auth_server, refresh, public_client)
    assert auth_server.store.set_client_blocked(public_client, True, auth_server.clock())
    grant, client = events(auth_server, own(auth_server))
    issuer = auth_server.settings.issuer
    assert set(grant["events"]) == {SESSION_REVOKED}
    assert grant["sub_id"] == {
        "format": "complex", "user": {"format": "iss_sub", "iss": issuer, "sub": account.id},
        "application": {"format": "opaque", "id": public_client},
    }
    assert set(client["events"]) == {CLIENT_REVOKED}
    assert client["sub_id"] == {"format": "opaque", "id": public_client}
    assert int(grant["jti"]) < int(client["jti"])


@both_backends
def test_a_changed_role_or_hospital_is_a_claims_change_for_every_resource_server(
    auth_server: AuthServer,
) -> None:
    other = auth_server.add_resource_server(OTHER)
    staff = auth_server.account("staff")
    auth_server.join(staff, "lyon-1", "paris-2")
    assert auth_server.store.remove_membership(staff.id, "lyon-1", auth_server.clock())
    assert not auth_server.store.remove_membership(staff.id, "lyon-1", auth_server.clock())
    assert auth_server.store.set_account_role(staff.id, "patient", auth_server.clock())
    for credentials in (own(auth_server), (other.id, other.secret or "")):
        hospitals, role = events(auth_server, credentials)
        for seen in (hospitals, role):
            assert set(seen["events"]) == {TOKEN_CLAIMS_CHANGE}
            assert seen["sub_id"] == {"format": "iss_sub", "iss": auth_server.settings.issuer,
                                      "sub": staff.id}
        assert hospitals["events"][TOKEN_CLAIMS_CHANGE]["claims"] == {"hospital_ids": ["paris-2"]}
        assert role["events"][TOKEN_CLAIMS_CHANGE]["claims"] == {"role": "patient"}


@both_backends
def test_a_registration_updated_to_new_redirect_uris_or_deleted_ends_its_clients_tokens(
    auth_server: AuthServer,
) -> None:
    metadata = {"redirect_uris": ["http://127.0.0.1:5555/callback"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"]}
    with auth_server.http() as http:
        body = http.post("/register", json=metadata).json()
        uri = body["registration_client_uri"].removeprefix(auth_server.url)
        bearer = {"Authorization": f"Bearer {body['registration_access_token']}"}
        renamed = {**metadata, "client_id": body["client_id"], "client_name": "Renamed"}
        assert http.put(uri, headers=bearer, json=renamed).status_code == 200
        # The name alone: nobody's consent is withdrawn, no event.
        assert events(auth_server, own(auth_server)) == []
        moved = {**renamed, "redirect_uris": ["http://127.0.0.1:5556/callback"]}
        assert http.put(uri, headers=bearer, json=moved).status_code == 200
        assert http.delete(uri, headers=bearer).status_code == 204
    withdrawn, deleted = events(auth_server, own(auth_server))
    for seen in (withdrawn, deleted):
        assert set(seen["events"]) == {CLIENT_REVOKED}
        assert seen["sub_id"] == {"format": "opaque", "id": body["client_id"]}


@both_backends
def test_acknowledged_events_are_not_sent_again_and_pages_say_more_is_available(
    auth_server: AuthServer,
) -> None:
    for _ in range(3):
        auth_server.store.set_account_disabled(auth_server.account().id, True, auth_server.clock())
    first = poll(auth_server, own(auth_server), {"maxEvents": 2}).json()
    assert len(first["sets"]) == 2 and first["moreAvailable"] is True
    second = poll(auth_server, own(auth_server), {"ack": list(first["sets"])}).json()
    assert len(second["sets"]) == 1 and second["moreAvailable"] is False
    assert not set(second["sets"]) & set(first["sets"])
    last = poll(auth_server, own(auth_server), {"ack": list(second["sets"])}).json()
    assert last == {"sets": {}, "moreAvailable": False}
    # maxEvents 0: acknowledge only (RFC 8936 section 2.4.1).
    assert poll(auth_server, own(auth_server), {"maxEvents": 0}).json() == {"sets": {}}


@both_backends
def test_a_position_the_feed_never_issued_is_refused_even_once_its_events_are_purged(
    auth_server: AuthServer,
) -> None:
    """A receiver fed by another history of the database (restored from a backup, reset) is
    told so, rather than waiting past ids the feed will give to new events."""

    def refused(ack: str, **body: object) -> bool:
        answer = poll(auth_server, own(auth_server), {"ack": [ack], **body})
        if answer.status_code == 200:
            return False
        assert answer.status_code == 400
        assert answer.json() == {"err": "invalid_request", "description": UNKNOWN_POSITION}
        return True

    assert refused("1") and refused("1", maxEvents=0)
    now = auth_server.clock()
    for _ in range(2):
        auth_server.store.set_account_disabled(auth_server.account().id, True, now)
    newest = max(int(jti) for jti in poll(auth_server, own(auth_server), {}).json()["sets"])
    assert not refused(str(newest)) and not refused(str(newest - 1))
    assert refused(str(newest + 1)) and refused(str(newest + 1), maxEvents=0)
    # Purged, the events' ids stay issued: a receiver that processed them is still on track.
    assert purge(auth_server.settings, auth_server.store, now + RETENTION_SECONDS + 1)[
        "security_events"] == 2
    assert not refused(str(newest)) and refused(str(newest + 1))


def test_bad_credentials_get_the_rfc_8936_error(auth_server: AuthServer) -> None:
    rs_id, _secret = own(auth_server)
    with auth_server.http() as http:
        refused = [
            http.post(PATH, json={}),
            http.post(PATH, json={}, auth=(rs_id, "wrong")),
            http.post(PATH, json={}, auth=("rs_unknown", "wrong")),
        ]
        malformed = http.post(PATH, json={}, headers={"Authorization": "Basic !!!"})
    for answer in refused:
        assert answer.status_code == 401
        assert answer.json() == {"err": "authentication_failed",
                                 "description": "Resource server authentication failed."}
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert malformed.status_code == 401 and malformed.json()["err"] == "authentication_failed"


@both_backends
def test_a_rotated_secret_polls_while_its_grace_period_lasts(auth_server: AuthServer) -> None:
    """As for introspection: replicas still on the replaced secret keep their revocations
    within a second, not the cache TTL, until the grace period ends."""
    rs_id, old = own(auth_server)
    store, keys = auth_server.store, auth_server.keys
    graced = rotate_resource_server_secret(store, keys, rs_id, grace=3600, now=auth_server.clock())
    assert graced is not None
    assert [poll(auth_server, (rs_id, secret), {}).status_code
            for secret in (old, graced.secret)] == [200, 200]
    ended = rotate_resource_server_secret(store, keys, rs_id, grace=0, now=auth_server.clock())
    assert ended is not None
    assert [poll(auth_server, (rs_id, secret), {}).status_code
            for secret in (old, graced.secret, ended.secret)] == [401, 401, 200]


def test_a_poll_it_cannot_read_is_an_invalid_request(auth_server: AuthServer) -> None:
    bodies: list[object] = [[], {"ack": "1"}, {"ack": ["x"]}, {"ack": [1]}, {"ack": ["9" * 20]},
                            {"maxEvents": -1}, {"maxEvents": 5000}, {"maxEvents": True},
                            {"returnImmediately": "yes"}, {"setErrs": []}]
    for body in bodies:
        answer = poll(auth_server, own(auth_server), body)
        assert answer.status_code == 400, body
        assert answer.json()["err"] == "invalid_request" and answer.json()["description"]
    with auth_server.http() as http:
        unread = [
            http.post(PATH, data={"ack": "1"}, auth=own(auth_server)),
            http.post(PATH, content=b'{"ack": [', auth=own(auth_server),
                      headers={"Content-Type": "application/json"}),
            http.post(PATH, content=b'{"ack": ["\\u0000"]}', auth=own(auth_server),
                      headers={"Content-Type": "application/json"}),
            http.post(PATH, content=b"[" * 70_000, auth=own(auth_server),
                      headers={"Content-Type": "application/json"}),
        ]
    for answer in unread:
        assert answer.status_code in (400, 413), answer.text
        assert answer.json()["err"] == "invalid_request" and answer.json()["description"]


@both_backends
def test_events_are_purged_after_their_retention(auth_server: AuthServer) -> None:
    account = auth_server.account()
    now = auth_server.clock()
    auth_server.store.set_account_disabled(account.id, True, now)
    kept = purge(auth_server.settings, auth_server.store, now + RETENTION_SECONDS)
    assert kept["security_events"] == 0 and len(events(auth_server, own(auth_server))) == 1
    purged = purge(auth_server.settings, auth_server.store, now + RETENTION_SECONDS + 1)
    assert purged["security_events"] == 1 and events(auth_server, own(auth_server)) == []


@postgresql_only
def test_on_postgresql_events_become_visible_in_jti_order(auth_server: AuthServer) -> None:
    """A writer that took an id waits for the one before it to commit: a receiver's position
    can never pass an event that is not visible yet (and so miss it for good)."""
    store, now = auth_server.store, auth_server.clock()
    first, second = auth_server.account(), auth_server.account()
    with store._engine.connect() as slow:  # an event written, its transaction still open
        for statement in store._recording(account_disabled(first.id, now)):
            slow.execute(statement)
        writer = threading.Thread(
            target=store.set_account_disabled, args=(second.id, True, now), daemon=True
        )
        writer.start()
        deadline = time.monotonic() + 30
        with store._engine.connect() as watcher:
            while not watcher.execute(text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted "
                "AND relation = 'securityevent'::regclass"
            )).scalar():
                assert time.monotonic() < deadline, "the second writer did not wait"
                time.sleep(0.01)
        # Neither is visible yet: a receiver polling now moves past nothing.
        assert events(auth_server, own(auth_server)) == []
        slow.commit()
    writer.join(timeout=30)
    seen = events(auth_server, own(auth_server))
    assert [event["sub_id"]["sub"] for event in seen] == [first.id, second.id]
    assert int(seen[0]["jti"]) < int(seen[1]["jti"])
