"""The token endpoint: PKCE, single-use codes, expiry, resource binding, client authentication,
refresh rotation, reuse detection and the grace window."""

from __future__ import annotations

import base64

import pytest

from tests.databases import Databases, both_backends
from tests.flow import (
    authorize,
    code_only_client,
    exchange,
    introspect,
    pkce_pair,
    refresh,
    tokens_for,
)
from tests.harness import AuthServer, start_auth_server

pytestmark = both_backends


def _error(response: object, status: int, error: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.json()["error"] == error  # type: ignore[attr-defined]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]


def test_wrong_pkce_verifier_is_invalid_grant(auth_server: AuthServer, public_client: str) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    other_verifier, _ = pkce_pair()
    _error(
        exchange(auth_server, public_client, result.params["code"], other_verifier),
        400,
        "invalid_grant",
    )


def test_missing_pkce_verifier_is_refused(auth_server: AuthServer, public_client: str) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    response = exchange(auth_server, public_client, result.params["code"], None)  # type: ignore[arg-type]
    _error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("verifier", "error"),
    [("another", "invalid_grant"), (None, "invalid_request"), ("too-short", "invalid_request")],
)
def test_a_failed_pkce_check_burns_the_code(
    auth_server: AuthServer, public_client: str, verifier: str | None, error: str
) -> None:
    """Issue 13 item 16: each guess at a stolen code's verifier costs a new authorization.
    Burnt, not spent: the grant and what it bought before stay (no reuse is detected)."""
    email = auth_server.account().email
    earlier = tokens_for(auth_server, public_client, email)
    result = authorize(auth_server, public_client, email)
    guess = pkce_pair()[0] if verifier == "another" else verifier
    code = result.params["code"]
    _error(exchange(auth_server, public_client, code, guess), 400, error)  # type: ignore[arg-type]
    _error(exchange(auth_server, public_client, code, result.verifier), 400, "invalid_grant")
    assert introspect(auth_server, earlier["access_token"]).json()["active"] is True
    [burnt] = auth_server.store.audit_events(event="code.pkce_failed")
    assert burnt.client_id == public_client
    assert auth_server.store.audit_events(event="code.reuse_detected") == []
    # Once only: the store's conditional UPDATE finds nothing left to burn.
    code_hash = auth_server.keys.hash_secret(code)
    assert auth_server.store.burn_code(code_hash, auth_server.clock()) is False


def test_code_replay_is_refused_and_kills_the_tokens_it_bought(
    auth_server: AuthServer, public_client: str
) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    first = exchange(auth_server, public_client, result.params["code"], result.verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True

    replay = exchange(auth_server, public_client, result.params["code"], result.verifier)
    _error(replay, 400, "invalid_grant")
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    _error(refresh(auth_server, public_client, tokens["refresh_token"]), 400, "invalid_grant")


def test_code_expires_after_its_ttl(auth_server: AuthServer, public_client: str) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    auth_server.clock.advance(auth_server.settings.code_ttl)
    _error(
        exchange(auth_server, public_client, result.params["code"], result.verifier),
        400,
        "invalid_grant",
    )


def test_redirect_uri_must_match_the_code(auth_server: AuthServer, public_client: str) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    response = exchange(
        auth_server,
        public_client,
        result.params["code"],
        result.verifier,
        redirect_uri="http://127.0.0.1:5556/callback",
    )
    _error(response, 400, "invalid_grant")


def test_resource_must_match_the_code(auth_server: AuthServer, public_client: str) -> None:
    auth_server.add_resource_server("https://other.hospiai.test/api")
    result = authorize(auth_server, public_client, auth_server.account().email)
    response = exchange(
        auth_server,
        public_client,
        result.params["code"],
        result.verifier,
        resource="https://other.hospiai.test/api",
    )
    _error(response, 400, "invalid_target")
    matching = exchange(
        auth_server,
        public_client,
        result.params["code"],
        result.verifier,
        resource=auth_server.resource,
    )
    assert matching.status_code == 200, matching.text


def test_code_of_another_client_is_invalid_grant(
    auth_server: AuthServer, public_client: str
) -> None:
    other = auth_server.client(public=True).id
    result = authorize(auth_server, public_client, auth_server.account().email)
    _error(
        exchange(auth_server, other, result.params["code"], result.verifier), 400, "invalid_grant"
    )


@pytest.mark.parametrize("client", ["client_unknown", ""])
def test_unknown_client_at_token_is_401_invalid_client(
    auth_server: AuthServer, client: str
) -> None:
    for data in (
        {"client_id": client},
        {"client_id": client, "client_secret": "hospiai_cs_guess"},
    ):
        with auth_server.http() as http:
            response = http.post(
                "/token", data={"grant_type": "authorization_code", "code": "x", **data}
            )
        _error(response, 401, "invalid_client")
    with auth_server.http() as http:
        response = http.post(
            "/token",
            data={"grant_type": "authorization_code", "code": "x"},
            auth=(client or "x", "hospiai_cs_guess"),
        )
    _error(response, 401, "invalid_client")


def test_confidential_client_must_use_its_registered_method(auth_server: AuthServer) -> None:
    credentials = auth_server.client()  # client_secret_basic
    assert credentials.secret is not None
    account = auth_server.account()
    result = authorize(auth_server, credentials.id, account.email)
    code, verifier = result.params["code"], result.verifier
    # No secret at all, then the secret in the body instead of Basic: both refused.
    _error(exchange(auth_server, credentials.id, code, verifier), 401, "invalid_client")
    _error(
        exchange(auth_server, credentials.id, code, verifier, client_secret=credentials.secret),
        401,
        "invalid_client",
    )
    with auth_server.http() as http:
        wrong = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": "http://127.0.0.1:5555/callback",
            },
            auth=(credentials.id, "hospiai_cs_wrong"),
        )
        _error(wrong, 401, "invalid_client")
        right = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": "http://127.0.0.1:5555/callback",
            },
            auth=(credentials.id, credentials.secret),
        )
    assert right.status_code == 200, right.text


def test_unsupported_grant_types_are_refused(auth_server: AuthServer, public_client: str) -> None:
    for grant_type in ("password", "client_credentials", "implicit", ""):
        with auth_server.http() as http:
            response = http.post(
                "/token", data={"grant_type": grant_type, "client_id": public_client}
            )
        _error(response, 400, "unsupported_grant_type")


def test_token_parameters_in_the_query_string_are_ignored(
    auth_server: AuthServer, public_client: str
) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    with auth_server.http() as http:
        response = http.post(
            "/token",
            params={"code": result.params["code"], "code_verifier": result.verifier},
            data={
                "grant_type": "authorization_code",
                "client_id": public_client,
                "redirect_uri": "http://127.0.0.1:5555/callback",
            },
        )
    _error(response, 400, "invalid_request")


def test_access_token_expires(auth_server: AuthServer, public_client: str) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    auth_server.clock.advance(auth_server.settings.access_token_ttl)
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}


def test_access_token_is_opaque_with_256_bits(auth_server: AuthServer, public_client: str) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    for name in ("access_token", "refresh_token"):
        secret = tokens[name].split("_", 2)[2]
        assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) >= 32
    store, keys = auth_server.store, auth_server.keys
    # Looked up by keyed hash, never by value (the whole database is scanned in
    # test_secrets_at_rest).
    assert store.access_token(tokens["access_token"]) is None
    assert store.refresh_token(tokens["refresh_token"]) is None
    assert store.access_token(keys.hash_secret(tokens["access_token"]))
    assert store.refresh_token(keys.hash_secret(tokens["refresh_token"]))


def test_refresh_rotates_and_narrows_but_never_widens(
    auth_server: AuthServer, public_client: str
) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    wider = refresh(
        auth_server, public_client, tokens["refresh_token"], scope="read:data read:profile"
    )
    _error(wider, 400, "invalid_scope")
    narrower = refresh(auth_server, public_client, tokens["refresh_token"], scope="read:data")
    assert narrower.status_code == 200, narrower.text
    body = narrower.json()
    assert body["scope"] == "read:data"
    assert body["refresh_token"] != tokens["refresh_token"]
    info = introspect(auth_server, body["access_token"]).json()
    assert info["scope"] == "read:data" and info["aud"] == auth_server.resource
    # The narrowing was for that access token only: the refresh token keeps the grant's scope.
    later = refresh(auth_server, public_client, body["refresh_token"])
    assert later.status_code == 200, later.text
    assert later.json()["scope"] == tokens["scope"]


def test_refresh_scope_is_normalised(auth_server: AuthServer, public_client: str) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    response = refresh(
        auth_server, public_client, tokens["refresh_token"], scope=" read:data  read:data "
    )
    assert response.json()["scope"] == "read:data"


def test_the_refresh_token_follows_the_clients_grant_types(
    auth_server: AuthServer, public_client: str
) -> None:
    """Issue 12: MCP clients ask for the challenge's scopes, never offline_access. A client
    registered for refresh_token gets a refresh token anyway, and its grant says so with
    offline_access; a client that is not gets neither, even when it asks."""
    email = auth_server.account().email
    tokens = tokens_for(auth_server, public_client, email, scope="read:data")
    assert tokens["scope"] == "read:data offline_access"
    assert tokens["refresh_token"]
    info = introspect(auth_server, tokens["access_token"]).json()
    assert info["scope"] == "read:data offline_access"
    renewed = refresh(auth_server, public_client, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["scope"] == "read:data offline_access"
    code_only = code_only_client(auth_server)
    tokens = tokens_for(auth_server, code_only, email, scope="read:data offline_access")
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "read:data"


def test_repeated_parameters_are_refused(auth_server: AuthServer, public_client: str) -> None:
    result = authorize(auth_server, public_client, auth_server.account().email)
    with auth_server.http() as http:
        response = http.post(
            "/token",
            content=(
                f"grant_type=authorization_code&client_id={public_client}"
                f"&code={result.params['code']}&code=other&code_verifier={result.verifier}"
                "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcallback"
            ),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    _error(response, 400, "invalid_request")
    assert "code" in response.json()["error_description"]
    # Nothing was spent: the well-formed request still works.
    assert (
        exchange(auth_server, public_client, result.params["code"], result.verifier).status_code
        == 200
    )


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_undecodable_basic_credentials_are_401(auth_server: AuthServer, path: str) -> None:
    bad = base64.b64encode(b"\xff\xfe:\xff").decode()
    no_colon = base64.b64encode(auth_server.resource_server.id.encode()).decode()
    with auth_server.http() as http:
        for header in (f"Basic {bad}", "Basic %%%", "Basic ===", f"Basic {no_colon}"):
            response = http.post(
                path,
                data={"grant_type": "authorization_code", "token": "x"},
                headers={"Authorization": header},
            )
            _error(response, 401, "invalid_client")


def test_nul_characters_are_invalid_request(auth_server: AuthServer, public_client: str) -> None:
    with auth_server.http() as http:
        response = http.post(
            "/token",
            data={"grant_type": "authorization_code", "client_id": public_client, "code": "a\x00b"},
        )
        _error(response, 400, "invalid_request")
        registered = http.post(
            "/register", json={"redirect_uris": ["http://127.0.0.1/cb"], "client_name": "x\u0000"}
        )
        _error(registered, 400, "invalid_request")


def test_refresh_cannot_change_the_audience(auth_server: AuthServer, public_client: str) -> None:
    auth_server.add_resource_server("https://other.hospiai.test/api")
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    response = refresh(
        auth_server,
        public_client,
        tokens["refresh_token"],
        resource="https://other.hospiai.test/api",
    )
    _error(response, 400, "invalid_target")


def test_refresh_token_of_another_client_is_refused(
    auth_server: AuthServer, public_client: str
) -> None:
    other = auth_server.client(public=True).id
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    _error(refresh(auth_server, other, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_reuse_after_grace_revokes_the_grant(
    auth_server: AuthServer, public_client: str
) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    rotated = refresh(auth_server, public_client, tokens["refresh_token"]).json()
    auth_server.clock.advance(auth_server.settings.refresh_grace_seconds + 1)

    _error(refresh(auth_server, public_client, tokens["refresh_token"]), 400, "invalid_grant")
    # The whole grant is dead: the newest pair as well as the first access token.
    for token in (tokens["access_token"], rotated["access_token"]):
        assert introspect(auth_server, token).json() == {"active": False}
    _error(refresh(auth_server, public_client, rotated["refresh_token"]), 400, "invalid_grant")


def test_retry_inside_grace_window_gets_the_same_pair(
    auth_server: AuthServer, public_client: str
) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    auth_server.clock.freeze()
    first = refresh(auth_server, public_client, tokens["refresh_token"])
    auth_server.clock.advance(auth_server.settings.refresh_grace_seconds - 1)
    retry = refresh(auth_server, public_client, tokens["refresh_token"])
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert introspect(auth_server, first.json()["access_token"]).json()["active"] is True


def test_grace_window_zero_means_any_reuse_revokes(databases: Databases) -> None:
    with start_auth_server(databases, refresh_grace_seconds=0) as server:
        public_client = server.client(public=True).id
        tokens = tokens_for(server, public_client, server.account().email)
        server.clock.advance(1)
        assert refresh(server, public_client, tokens["refresh_token"]).status_code == 200
        server.clock.advance(1)
        _error(refresh(server, public_client, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_expires(auth_server: AuthServer, public_client: str) -> None:
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    auth_server.clock.advance(auth_server.settings.refresh_token_ttl)
    _error(refresh(auth_server, public_client, tokens["refresh_token"]), 400, "invalid_grant")


def test_client_without_refresh_grant_gets_no_refresh_token(auth_server: AuthServer) -> None:
    with auth_server.http() as http:
        public_client = http.post(
            "/register",
            json={
                "redirect_uris": ["http://127.0.0.1:5555/callback"],
                "token_endpoint_auth_method": "none",
            },
        ).json()["client_id"]
    tokens = tokens_for(auth_server, public_client, auth_server.account().email)
    assert "refresh_token" not in tokens


def test_disabled_account_tokens_die(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    tokens = tokens_for(auth_server, public_client, account.email)
    auth_server.store.set_account_disabled(account.id, True, auth_server.clock())
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    _error(refresh(auth_server, public_client, tokens["refresh_token"]), 400, "invalid_grant")


def test_malformed_body_is_invalid_request(auth_server: AuthServer) -> None:
    with auth_server.http() as http:
        too_large = http.post(
            "/token",
            content=b"a=" + b"x" * 70_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        not_utf8 = http.post(
            "/token",
            content=b"grant_type=\xff\xfe",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    _error(too_large, 400, "invalid_request")
    _error(not_utf8, 400, "invalid_request")
