"""The user's account pages: login and return, connected apps, personal access tokens."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.databases import both_backends
from tests.flow import (
    REDIRECT_URI,
    begin,
    create_personal_token,
    csrf_token,
    introspect,
    logged_in,
    new_personal_token,
    post_form,
    tokens_for,
)
from tests.harness import PASSWORD, AuthServer


def test_anonymous_visitor_logs_in_and_comes_back(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        response = browser.get("/account")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Faccount"
    with logged_in(auth_server, account.email) as browser:
        page = browser.get("/account").text
    assert account.email in page and "Alice Martin" in page and "+33 1 23 45 67 89" in page


@pytest.mark.parametrize(
    "next_page", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "account"]
)
def test_login_returns_only_to_a_path_on_this_server(
    auth_server: AuthServer, next_page: str
) -> None:
    email = auth_server.account().email
    with auth_server.http() as browser:
        first = browser.get("/login", params={"next": next_page})
        page = browser.get(first.headers["location"])
        response = browser.post(
            "/login", params={"next": next_page},
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        )
    assert response.headers["location"] == "/account"


@both_backends
def test_disconnect_revokes_the_app_and_its_tokens(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    tokens = tokens_for(auth_server, public_client, account.email)
    with logged_in(auth_server, account.email) as browser:
        page = browser.get("/account").text
        assert "Test Client" in page and "127.0.0.1" in page and "See your appointments" in page
        grant_id = re.search(r'action="/account/grants/([^/]+)/revoke"', page).group(1)  # type: ignore[union-attr]
        response = post_form(browser, "/account", f"/account/grants/{grant_id}/revoke")
        assert response.status_code == 303
        assert "Test Client" not in browser.get("/account").text
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    with auth_server.http() as client:
        refreshed = client.post("/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": public_client})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


@both_backends
def test_nobody_revokes_another_accounts_grant(auth_server: AuthServer, public_client: str) -> None:
    victim, attacker = auth_server.account(), auth_server.account()
    tokens = tokens_for(auth_server, public_client, victim.email)
    with logged_in(auth_server, victim.email) as browser:
        grant_id = re.search(  # type: ignore[union-attr]
            r'action="/account/grants/([^/]+)/revoke"', browser.get("/account").text
        ).group(1)
    with logged_in(auth_server, attacker.email) as browser:
        response = post_form(browser, "/account", f"/account/grants/{grant_id}/revoke")
    assert response.status_code == 404
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True


def test_personal_token_is_shown_once_introspects_and_revokes(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser:
        created = create_personal_token(browser, auth_server)
        assert created.status_code == 201
        token = new_personal_token(created)
        listing = browser.get("/account").text
        assert token not in listing  # shown once, stored only as a hash
        assert token[: len("hospiai_pat_") + 4] + "…" in listing
        assert "My desktop assistant" in listing
        info = introspect(auth_server, token).json()
        assert info["active"] is True and info["sub"] == account.id
        assert info["scope"] == "read:data read:bookings" and info["aud"] == auth_server.resource
        # Its use is recorded after the introspection answer is sent: looked for a while.
        for _ in range(100):
            used = browser.get("/account").text.split("My desktop assistant")[1]
            if "never" not in used:
                break
            time.sleep(0.05)
        assert "never" not in used
        grant_id = re.search(  # type: ignore[union-attr]
            r'action="/account/grants/([^/]+)/revoke"', listing
        ).group(1)
        assert (
            post_form(browser, "/account", f"/account/grants/{grant_id}/revoke").status_code == 303
        )
    assert introspect(auth_server, token).json() == {"active": False}
    database = auth_server.settings.database_url.removeprefix("sqlite:///")
    stored = b"".join(path.read_bytes() for path in Path(database).parent.glob("auth.sqlite3*"))
    assert token.encode() not in stored
    assert auth_server.keys.hash_secret(token).encode() in stored


@both_backends
def test_personal_token_expires(auth_server: AuthServer) -> None:
    with logged_in(auth_server, auth_server.account().email) as browser:
        token = new_personal_token(create_personal_token(browser, auth_server, days="1"))
    assert introspect(auth_server, token).json()["active"] is True
    auth_server.clock.advance(86400)
    assert introspect(auth_server, token).json() == {"active": False}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"days": "0"}, "between 1 and 365"),
        ({"days": "366"}, "between 1 and 365"),
        ({"days": "ten"}, "between 1 and 365"),
        ({"scope": []}, "at least one"),
        ({"scope": ["write:data"]}, "at least one"),  # a patient cannot hold it
        ({"scope": ["offline_access"]}, "at least one"),
        ({"name": ""}, "a name"),
        ({"resource": "https://unknown.example/api"}, "services listed"),
    ],
)
def test_bad_personal_token_requests_are_refused(
    auth_server: AuthServer, overrides: dict[str, str | list[str]], message: str
) -> None:
    with logged_in(auth_server, auth_server.account().email) as browser:
        response = create_personal_token(browser, auth_server, **overrides)
        assert response.status_code == 400 and message in response.text
        assert "hospiai_pat_" not in response.text.split('<h2 id="tokens">')[1].split("<form")[0]


def test_account_forms_need_the_csrf_token(auth_server: AuthServer) -> None:
    with logged_in(auth_server, auth_server.account().email) as browser:
        response = browser.post(
            "/account/tokens",
            data={"name": "x", "scope": "read:data", "resource": auth_server.resource, "days": "1"},
        )
        assert response.status_code == 403
        assert "hospiai_pat_" not in response.text


def test_account_and_admin_pages_are_never_framed_cached_or_scripted(
    auth_server: AuthServer,
) -> None:
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as browser:
        for path in ("/account", "/admin", "/admin/accounts", "/admin/audit", "/login"):
            page = browser.get(path)
            assert page.status_code == 200, path
            assert page.headers["x-frame-options"] == "DENY"
            policy = page.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
            assert "script-src" not in policy and "<script" not in page.text
            assert page.headers["cache-control"] == "no-store"


@both_backends
def test_the_personal_token_client_can_never_authorize_or_get_tokens(
    auth_server: AuthServer,
) -> None:
    """Personal tokens are issued only from /account: their built-in client has no redirect
    URI and no grant type, so /authorize shows an error page and /token refuses it."""
    with auth_server.http() as browser:
        page, _ = begin(browser, "hospiai_personal_tokens")
    assert page.status_code == 400 and "location" not in page.headers
    with auth_server.http() as client:
        for grant_type in ("authorization_code", "refresh_token"):
            refused = client.post(
                "/token",
                data={
                    "grant_type": grant_type,
                    "client_id": "hospiai_personal_tokens",
                    "code": "x",
                    "refresh_token": "x",
                    "code_verifier": "x" * 43,
                    "redirect_uri": REDIRECT_URI,
                },
            )
            assert refused.status_code in (400, 401), refused.text
            assert refused.json()["error"] in ("unauthorized_client", "invalid_client")
            assert "access_token" not in refused.json()
