"""private_key_jwt (RFC 7523) for metadata-document clients, replayed as ChatGPT does it: its
document and key set served over real HTTPS by the loopback stand-in, RS256 assertions signed
with joserfc, and every way an assertion can be wrong answered 401 invalid_client."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from joserfc import jwk

from authserver.maintenance import purge
from authserver.models import Client
from authserver.oauth.cimd import KIND, document_columns
from authserver.store import Store
from shared.database import create_db_engine
from tests.chatgpt import (
    ASSERTION_TYPE,
    CALLBACK,
    CHATGPT,
    JWKS_URI,
    KEY,
    KID,
    chatgpt_document,
    key_set,
    publish,
    short_rsa_key,
    signed,
)
from tests.databases import Databases, both_backends
from tests.flow import authorize, begin, introspect
from tests.harness import AuthServer, start_auth_server
from tests.internet import Internet

OTHER_CONNECTOR = "https://chatgpt.com/oauth/zQ81bYtR0aVw/client.json"
# Another key under the same kid: what a forger without ChatGPT's private key holds.
FORGED = jwk.RSAKey.generate_key(2048, {"kid": KID})
ROTATED = jwk.RSAKey.generate_key(2048, {"kid": "cimd-20260901000000"})


def _unsigned(server: AuthServer) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = server.clock()
    claims = {"iss": CHATGPT, "sub": CHATGPT, "aud": server.settings.issuer, "exp": now + 60,
              "jti": secrets.token_urlsafe(16)}
    return f"{part({'alg': 'none', 'kid': KID})}.{part(claims)}."


def post(server: AuthServer, path: str, **form: str) -> httpx.Response:
    with server.http() as http:
        return http.post(path, data=form)


def authenticate(server: AuthServer, **form: str) -> httpx.Response:
    """A token request whose refresh token is made up: 400 invalid_grant says the client
    authenticated, 401 invalid_client that it did not."""
    return post(server, "/token", grant_type="refresh_token", refresh_token="rt_made_up", **form)


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client", body
    assert reason in body["error_description"], body


def assert_authenticated(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant", response.text


@pytest.fixture
def server(databases: Databases, internet: Internet) -> Iterator[AuthServer]:
    # A fetch gets 2 seconds here (5 in production), so the slow key set costs 3, not 6.
    with start_auth_server(
        databases, egress=internet.egress(timeout=2.0), metadata_documents_allow_private=True
    ) as server:
        yield server


@pytest.fixture
def chatgpt(server: AuthServer, internet: Internet) -> AuthServer:
    """The server, with ChatGPT's document and keys published and its client known (as after
    a first /authorize)."""
    publish(internet)
    with server.http() as browser:
        assert begin(browser, CHATGPT, redirect_uri=CALLBACK)[0].status_code == 303
    return server


def test_chatgpt_connects_refreshes_and_revokes(chatgpt: AuthServer, internet: Internet) -> None:
    server = chatgpt
    result = authorize(server, CHATGPT, server.account().email, redirect_uri=CALLBACK)
    assert result.location.startswith(CALLBACK + "?")
    tokens = post(
        server, "/token", grant_type="authorization_code", code=result.params["code"],
        redirect_uri=CALLBACK, code_verifier=result.verifier, client_id=CHATGPT,
        **signed(server),
    )
    assert tokens.status_code == 200, tokens.text
    assert introspect(server, tokens.json()["access_token"]).json()["client_id"] == CHATGPT
    refreshed = post(
        server, "/token", grant_type="refresh_token", refresh_token=tokens.json()["refresh_token"],
        client_id=CHATGPT, **signed(server),
    )
    assert refreshed.status_code == 200, refreshed.text
    revoked = post(
        server, "/revoke", token=refreshed.json()["refresh_token"],
        token_type_hint="refresh_token", **signed(server),
    )
    assert revoked.status_code == 200, revoked.text
    assert introspect(server, refreshed.json()["access_token"]).json() == {"active": False}
    stored = server.store.client(CHATGPT)
    assert stored is not None and stored.token_endpoint_auth_method == "private_key_jwt"
    # Three assertions, one fetch of the key set: it is cached.
    assert internet.fetches(JWKS_URI) == 1


def test_a_valid_assertion_authenticates_with_or_without_client_id(chatgpt: AuthServer) -> None:
    assert_authenticated(authenticate(chatgpt, client_id=CHATGPT, **signed(chatgpt)))
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))
    # The issuer is an audience as good as the token endpoint (RFC 7523 section 3, item 3).
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt, aud=chatgpt.settings.issuer)))
    assert_authenticated(authenticate(
        chatgpt, **signed(chatgpt, aud=["https://other.example", chatgpt.settings.issuer])
    ))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # No assertion at all: the client is told which method it must use.
        ({"client_assertion": None, "client_assertion_type": None}, "private_key_jwt"),
        ({"client_assertion_type": "urn:example:other"}, "client_assertion_type must be"),
        ({"client_assertion": ""}, "client_assertion is missing"),
        ({"client_assertion": "not.a.jwt"}, "Invalid JWT"),
        # Another private_key_jwt client's id beside ChatGPT's assertion (RFC 7521 4.2).
        ({"client_id": OTHER_CONNECTOR}, "client_id is not the subject"),
    ],
)
def test_a_missing_or_malformed_assertion_is_invalid_client(
    chatgpt: AuthServer, internet: Internet, changes: dict[str, str | None], reason: str
) -> None:
    other = chatgpt_document(client_id=OTHER_CONNECTOR, redirect_uris=[CALLBACK + "-2"])
    internet.publish(OTHER_CONNECTOR, other)
    with chatgpt.http() as browser:
        assert begin(browser, OTHER_CONNECTOR, redirect_uri=CALLBACK + "-2")[0].status_code == 303
    form = {"client_id": CHATGPT, **signed(chatgpt), **changes}
    assert_refused(
        authenticate(chatgpt, **{k: v for k, v in form.items() if v is not None}), reason
    )


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "expired"),
        ({"exp": None}, "exp"),
        ({"exp": 3600}, "seconds ahead"),
        ({"jti": None}, "jti"),
        ({"aud": "https://elsewhere.example/token"}, "aud"),
        ({"aud": None}, "aud"),
        ({"iss": "https://chatgpt.com/oauth/other/client.json"}, "iss"),
        ({"iss": None}, "iss"),
        ({"sub": "https://chatgpt.com/oauth/other/client.json"}, "does not exist"),
        ({"sub": None}, "sub"),
        ({"nbf": 600}, "not yet valid"),
        ({"jti": "x" * 256}, "jti"),
    ],
)
def test_a_wrong_claim_is_invalid_client(
    chatgpt: AuthServer, claims: dict[str, object], reason: str
) -> None:
    now = chatgpt.clock()
    timed: dict[str, Any] = {k: now + v if k in {"exp", "nbf"} and isinstance(v, int) else v
             for k, v in claims.items()}
    assert_refused(authenticate(chatgpt, client_id=CHATGPT, **signed(chatgpt, **timed)), reason)


def test_a_bad_signature_or_algorithm_is_invalid_client(chatgpt: AuthServer) -> None:
    assert_refused(authenticate(chatgpt, **signed(chatgpt, FORGED)), "signature does not verify")
    # HMAC with a key anyone could know, and no signature at all: never accepted.
    hmac = signed(chatgpt, jwk.OctKey.import_key(secrets.token_bytes(32), {"kid": KID}),
                  alg="HS256")
    assert_refused(authenticate(chatgpt, **hmac), "must be signed with one of: RS256")
    unsigned = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": _unsigned(chatgpt)}
    assert_refused(authenticate(chatgpt, **unsigned), "must be signed with one of: RS256")
    # The document registers RS256: PS256, with the right key, is refused too.
    assert_refused(authenticate(chatgpt, **signed(chatgpt, alg="PS256")), "signed with RS256")
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))


@both_backends
def test_a_replayed_assertion_is_invalid_client(chatgpt: AuthServer) -> None:
    once = signed(chatgpt)
    assert_authenticated(authenticate(chatgpt, **once))
    assert_refused(authenticate(chatgpt, **once), "already used")
    # At /revoke as well: one jti, one use, whatever the endpoint.
    assert_refused(post(chatgpt, "/revoke", token="at_made_up", **once), "already used")


@both_backends
def test_a_jti_is_used_once_across_replicas_and_purged_once_expired(
    databases: Databases,
) -> None:
    url = databases.url("auth")
    replicas = [Store(create_db_engine(url)) for _ in range(4)]
    replicas[0].upgrade_schema()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            won = list(pool.map(
                lambda i: replicas[i % 4].use_assertion(CHATGPT, "jti-1", 1000, 1120), range(8)
            ))
        assert won.count(True) == 1
        store = replicas[0]
        assert store.use_assertion(CHATGPT, "jti-2", 1000, 1120)
        # Another client's jti is its own.
        assert store.use_assertion("https://tools.example/client.json", "jti-1", 1000, 1120)
        counts = store.purge(1100, retention=60, unused_client_age=3600,
                             unused_registration_age=86400, audit_retention=86400,
                             attempt_window=900)
        assert counts["assertions"] == 0
        assert not store.use_assertion(CHATGPT, "jti-1", 1100, 1220)
        assert store.purge(1121, retention=60, unused_client_age=3600,
                           unused_registration_age=86400, audit_retention=86400,
                           attempt_window=900)["assertions"] == 3
        assert store.use_assertion(CHATGPT, "jti-1", 1121, 1241)
        # Past its time a jti may come back even before a purge: the assertion's exp decides.
        assert store.use_assertion(CHATGPT, "jti-2", 1121, 1241)
    finally:
        for replica in replicas:
            replica.dispose()


def test_purge_deletes_expired_jtis(chatgpt: AuthServer) -> None:
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))
    assert purge(chatgpt.settings, chatgpt.store, chatgpt.clock())["assertions"] == 0
    chatgpt.clock.advance(60 + 60 + 1)
    assert purge(chatgpt.settings, chatgpt.store, chatgpt.clock())["assertions"] == 1


def test_a_rotated_key_is_fetched_at_most_once_a_minute(
    chatgpt: AuthServer, internet: Internet
) -> None:
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))
    assert internet.fetches(JWKS_URI) == 1
    internet.publish(JWKS_URI, key_set(ROTATED, KEY))
    # Just fetched: an unknown kid does not make the server fetch again, however often.
    for _ in range(3):
        assert_refused(authenticate(chatgpt, **signed(chatgpt, ROTATED)), "kid")
    assert internet.fetches(JWKS_URI) == 1
    chatgpt.clock.advance(61)
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt, ROTATED)))
    assert internet.fetches(JWKS_URI) == 2
    # A kid nobody publishes: one more fetch a minute later, then none for a minute.
    stranger = jwk.RSAKey.generate_key(2048, {"kid": "unknown"})
    chatgpt.clock.advance(61)
    for _ in range(3):
        assert_refused(authenticate(chatgpt, **signed(chatgpt, stranger)), "kid")
    assert internet.fetches(JWKS_URI) == 3
    # The key that was rotated out stops working once the set without it is fetched.
    internet.publish(JWKS_URI, key_set(ROTATED))
    chatgpt.clock.advance(3601)
    assert_refused(authenticate(chatgpt, **signed(chatgpt)), "kid")
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt, ROTATED)))


def test_the_key_set_is_kept_as_cache_control_says(
    chatgpt: AuthServer, internet: Internet
) -> None:
    internet.publish(JWKS_URI, key_set(KEY), headers={
        "content-type": "application/jwk-set+json", "cache-control": "max-age=600"})
    chatgpt.clock.freeze()  # "still fresh one second before" must not meet a real second
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))
    assert internet.fetches(JWKS_URI) == 1
    chatgpt.clock.advance(599)
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))
    assert internet.fetches(JWKS_URI) == 1
    chatgpt.clock.advance(2)
    assert_authenticated(authenticate(chatgpt, **signed(chatgpt)))
    assert internet.fetches(JWKS_URI) == 2


@pytest.mark.parametrize(
    ("body", "page", "reason"),
    [
        (key_set(KEY), {"status": 404}, "HTTP 404"),
        (key_set(KEY), {"status": 302, "headers": {"location": "https://tools.example/k"}},
         "HTTP 302"),
        (key_set(KEY), {"headers": {"content-type": "text/html"}}, "not JSON"),
        (b"{not json", {}, "not JSON"),
        ({"keys": [KEY.as_dict(private=False)], "padding": "x" * 33_000}, {}, "32 KB"),
        ({"keys": [jwk.OctKey.generate_key(256).as_dict()]}, {}, "no usable public"),
        ({"keys": [{**KEY.as_dict(private=False), "use": "enc"}]}, {}, "no usable public"),
        ({"keys": [short_rsa_key()]}, {}, "no usable public"),
        ([1, 2], {}, "not a JWK Set"),
        (key_set(KEY), {"delay": 3.0}, "took too long"),
    ],
)
def test_a_key_set_that_cannot_be_used_is_invalid_client(
    server: AuthServer, internet: Internet, body: object, page: dict[str, Any], reason: str
) -> None:
    internet.publish(CHATGPT, chatgpt_document())
    internet.publish(JWKS_URI, body, **page)
    with server.http() as browser:
        assert begin(browser, CHATGPT, redirect_uri=CALLBACK)[0].status_code == 303
    assert_refused(authenticate(server, **signed(server)), reason)
    assert internet.fetches("https://tools.example/k") == 0


def test_the_key_set_is_fetched_through_the_egress_guard(
    databases: Databases, internet: Internet
) -> None:
    # Without the development setting, the stand-in's loopback address is refused, as any
    # private or reserved one is.
    with start_auth_server(databases, egress=internet.egress()) as server:
        now = server.clock()
        columns = document_columns(CHATGPT, json.dumps(chatgpt_document()).encode(), frozenset())
        server.store.save_metadata_client(
            Client(client_id=CHATGPT, kind=KIND, created_at=now, metadata_expires_at=now + 3600,
                   **columns),
            now,
        )
        internet.publish(JWKS_URI, key_set(KEY))
        assert_refused(authenticate(server, **signed(server)), "private or reserved address")
    assert internet.requests == []


def test_inline_keys_need_no_fetch(server: AuthServer, internet: Internet) -> None:
    es256 = jwk.ECKey.generate_key("P-256", {"kid": "inline"})
    internet.publish(CHATGPT, chatgpt_document(
        jwks_uri=None, jwks=key_set(es256), token_endpoint_auth_signing_alg=None))
    with server.http() as browser:
        assert begin(browser, CHATGPT, redirect_uri=CALLBACK)[0].status_code == 303
    assert_authenticated(authenticate(server, **signed(server, es256, alg="ES256")))
    assert_refused(authenticate(server, **signed(server)), "kid")
    assert internet.fetches(JWKS_URI) == 0


def test_a_public_document_client_still_authenticates_with_none(
    server: AuthServer, internet: Internet
) -> None:
    # Keys in a document that uses none are ignored, and the client is public as before.
    internet.publish(CHATGPT, chatgpt_document(token_endpoint_auth_method="none"))
    with server.http() as browser:
        assert begin(browser, CHATGPT, redirect_uri=CALLBACK)[0].status_code == 303
    stored = server.store.client(CHATGPT)
    assert stored is not None and "jwks_uri" not in stored.extra_metadata
    assert_authenticated(authenticate(server, client_id=CHATGPT))
    assert internet.fetches(JWKS_URI) == 0
