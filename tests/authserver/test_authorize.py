"""The authorization endpoint: validation, error pages that never redirect, error redirects
with state and iss, prompt handling, and the browser binding of an interaction."""

from __future__ import annotations

import base64

import httpx
import pytest

from authserver.provisioning import Credentials
from shared import scopes
from tests.databases import both_backends
from tests.flow import (
    REDIRECT_URI,
    authorize,
    authorize_params,
    begin,
    code_only_client,
    csrf_token,
    decide,
    login,
    pkce_pair,
    query_of,
    start,
)
from tests.harness import AuthServer


def _error_redirect(response: httpx.Response, server: AuthServer, state: str) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["state"] == state
    assert params["iss"] == server.url
    return params


def _error_page(response: httpx.Response) -> None:
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("change", "expected_error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"resource": "https://unknown.example/mcp"}, "invalid_target"),
        ({"resource": "http://127.0.0.1:8000/mcp/"}, "invalid_target"),
        ({"scope": "read:data delete:everything"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_invalid_request_redirects_with_error_state_and_iss(
    auth_server: AuthServer, public_client: str, change: dict[str, str], expected_error: str
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(public_client, challenge, **change)
    with auth_server.http() as browser:
        response = start(browser, params)
    assert _error_redirect(response, auth_server, params["state"])["error"] == expected_error


def test_repeated_resource_is_invalid_target(auth_server: AuthServer, public_client: str) -> None:
    _, challenge = pkce_pair()
    params = list(authorize_params(public_client, challenge).items())
    params += [("resource", auth_server.resource), ("resource", "https://other.example/")]
    with auth_server.http() as browser:
        response = browser.get("/authorize", params=tuple(params))
    state = dict(params)["state"]
    assert _error_redirect(response, auth_server, state)["error"] == "invalid_target"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1:5555/callback/../evil",
        "http://127.0.0.1:5555/callback?next=https://evil.example",
        "http://127.0.0.1:5555/other",
        "http://localhost:5555/callback",
        "http://127.0.0.1:5555@evil.example/callback",
        "https://127.0.0.1:5555/callback",
        "//evil.example/callback",
    ],
)
def test_unregistered_redirect_uri_renders_a_page_and_never_redirects(
    auth_server: AuthServer, public_client: str, redirect_uri: str
) -> None:
    _, challenge = pkce_pair()
    with auth_server.http() as browser:
        response = start(
            browser, authorize_params(public_client, challenge, redirect_uri=redirect_uri)
        )
    _error_page(response)


def test_loopback_redirect_accepts_any_port(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    other_port = "http://127.0.0.1:61234/callback"
    result = authorize(auth_server, public_client, account.email, redirect_uri=other_port)
    assert result.location.startswith(other_port + "?")
    assert "code" in result.params


def test_missing_redirect_uri_renders_a_page(auth_server: AuthServer, public_client: str) -> None:
    _, challenge = pkce_pair()
    with auth_server.http() as browser:
        response = start(browser, authorize_params(public_client, challenge, redirect_uri=""))
    _error_page(response)


@pytest.mark.parametrize("client_id", ["", "client_does-not-exist"])
def test_unknown_client_renders_a_page(auth_server: AuthServer, client_id: str) -> None:
    _, challenge = pkce_pair()
    with auth_server.http() as browser:
        response = start(browser, authorize_params(client_id, challenge))
    _error_page(response)


def test_repeated_parameters_render_a_page(auth_server: AuthServer, public_client: str) -> None:
    _, challenge = pkce_pair()
    params = list(authorize_params(public_client, challenge).items())
    params.append(("redirect_uri", "https://evil.example/callback"))
    with auth_server.http() as browser:
        response = browser.get("/authorize", params=tuple(params))
    _error_page(response)


@both_backends
def test_deny_redirects_access_denied_with_state_and_iss(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    result = authorize(auth_server, public_client, account.email, decision="deny")
    assert result.params["error"] == "access_denied"
    assert result.params["iss"] == auth_server.url
    assert "code" not in result.params


@both_backends
def test_omitted_resource_uses_the_default_and_omitted_scope_the_defaults(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    result = authorize(auth_server, public_client, account.email, scope="")
    assert "code" in result.params
    row = auth_server.store.code(auth_server.keys.hash_secret(result.params["code"]))
    assert row is not None
    assert row.resource == auth_server.resource
    # The defaults, and offline_access: the client registered the refresh_token grant (issue 12).
    assert row.scope == "read:data read:bookings write:bookings read:profile offline_access"


@both_backends
def test_patient_is_not_granted_staff_scope(auth_server: AuthServer, public_client: str) -> None:
    patient = auth_server.account("patient")
    # offline_access in both: the client registered the refresh_token grant (issue 12).
    result = authorize(auth_server, public_client, patient.email, scope="read:data write:data")
    row = auth_server.store.code(auth_server.keys.hash_secret(result.params["code"]))
    assert row is not None and row.scope == "read:data offline_access"
    staff = auth_server.account("staff")
    result = authorize(auth_server, public_client, staff.email, scope="read:data write:data")
    row = auth_server.store.code(auth_server.keys.hash_secret(result.params["code"]))
    assert row is not None and row.scope == "read:data write:data offline_access"


def test_prompt_none_without_session_is_login_required(
    auth_server: AuthServer, public_client: str
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(public_client, challenge, prompt="none")
    with auth_server.http() as browser:
        response = start(browser, params)
    assert _error_redirect(response, auth_server, params["state"])["error"] == "login_required"


def _interaction(browser: httpx.Client, client_id: str, **extra: str) -> str:
    response, _ = begin(browser, client_id, **extra)
    assert response.status_code == 303
    location: str = response.headers["location"]
    return location


def test_login_gives_the_same_message_for_unknown_email_and_wrong_password(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        wrong_password = login(browser, interaction, account.email, "not-the-password")
        unknown_email = login(browser, interaction, "nobody@hospiai.test", "not-the-password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert "incorrect" in wrong_password.text
    assert _message(wrong_password.text) == _message(unknown_email.text)
    assert "set-cookie" not in wrong_password.headers


def _message(html: str) -> str:
    start = html.index('role="alert">')
    return html[start : html.index("<", start + 13)]


@both_backends
def test_email_is_case_insensitive(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    result = authorize(auth_server, public_client, account.email.upper())
    assert "code" in result.params


@both_backends
def test_disabled_account_cannot_log_in(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    auth_server.store.set_account_disabled(account.id, True, auth_server.clock())
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        response = login(browser, interaction, account.email, "correct-horse-battery")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_valid_csrf_token_is_refused(
    auth_server: AuthServer, public_client: str, token: str | None
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        data = {"email": account.email, "password": "correct-horse-battery"}
        if token is not None:
            data["csrf_token"] = token
        response = browser.post(f"{interaction}/login", data=data)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_consent_without_valid_csrf_token_is_refused(
    auth_server: AuthServer, public_client: str, token: str | None
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        assert (
            login(browser, interaction, account.email, "correct-horse-battery").status_code == 303
        )
        data = {"decision": "allow"}
        if token is not None:
            data["csrf_token"] = token
        response = browser.post(f"{interaction}/consent", data=data)
        assert response.status_code == 403
        # The interaction is still open: the real form still works afterwards.
        back = decide(browser, interaction, "allow")
    assert "code" in query_of(back.headers["location"])


def test_csrf_token_of_another_browser_is_refused(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as attacker:
        attacker_token = csrf_token(attacker.get(_interaction(attacker, public_client)).text)
    with auth_server.http() as victim:
        interaction = _interaction(victim, public_client)
        response = victim.post(
            f"{interaction}/login",
            data={
                "email": account.email,
                "password": "correct-horse-battery",
                "csrf_token": attacker_token,
            },
        )
    assert response.status_code == 403


@both_backends
def test_interaction_cannot_be_finished_in_another_browser(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as first:
        interaction = _interaction(first, public_client)
    with auth_server.http() as second:
        # The second browser has a browser id of its own, but not the one bound to the request.
        _interaction(second, public_client)
        page = second.get(interaction)
        assert page.status_code == 403
        response = login(
            second, _interaction(second, public_client), account.email, "correct-horse-battery"
        )
        assert response.status_code == 303
        assert second.get(interaction).status_code == 403


@both_backends
def test_consent_is_single_use(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        login(browser, interaction, account.email, "correct-horse-battery")
        page = browser.get(interaction)
        token = csrf_token(page.text)
        first = browser.post(
            f"{interaction}/consent", data={"decision": "allow", "csrf_token": token}
        )
        second = browser.post(
            f"{interaction}/consent", data={"decision": "allow", "csrf_token": token}
        )
        assert first.status_code == 303
        assert second.status_code == 400
        resume = first.headers["location"]
        assert browser.get(resume).status_code == 303
        again = browser.get(resume)
    _error_page(again)


def test_pages_set_security_headers_and_cookie_attributes(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        page = browser.get(interaction)
        logged_in = login(browser, interaction, account.email, "correct-horse-battery")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    cookie = logged_in.headers["set-cookie"]
    assert cookie.startswith("hospiai_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # http loopback issuer; https: test_https_issuer_cookies


def test_tampered_session_cookie_is_ignored(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    other = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        login(browser, interaction, account.email, "correct-horse-battery")
        session = browser.cookies["hospiai_session"]
        payload, _, stamp_and_signature = session.partition(".")
        claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert account.id.encode() in claims and b"password" not in claims
        forged_claims = claims.replace(account.id.encode(), other.id.encode())
        forged = base64.urlsafe_b64encode(forged_claims).rstrip(b"=").decode()
        for value in (f"{forged}.{stamp_and_signature}", session[:-4] + "AAAA", "not-a-session"):
            browser.cookies.delete("hospiai_session")
            browser.cookies.set("hospiai_session", value)
            page = browser.get(interaction)
            assert page.status_code == 200
            assert 'name="password"' in page.text, "a tampered session must not count as login"


@pytest.mark.parametrize(
    "change",
    [
        {"redirect_uri": 'http://127.0.0.1:5555/cb"x'},
        {"redirect_uri": "https://evil.example/\u00e9"},
        {"response_type": 'co"de'},
    ],
)
def test_unquotable_values_get_the_error_page(
    auth_server: AuthServer, public_client: str, change: dict[str, str]
) -> None:
    _, challenge = pkce_pair()
    with auth_server.http() as browser:
        response = start(browser, authorize_params(public_client, challenge, **change))
    _error_page(response)


def test_nul_in_authorize_request_is_refused(auth_server: AuthServer, public_client: str) -> None:
    _, challenge = pkce_pair()
    with auth_server.http() as browser:
        response = start(browser, authorize_params(public_client, challenge, state="a\x00b"))
    assert response.status_code == 400
    assert "location" not in response.headers


def test_non_ascii_csrf_token_is_refused_not_a_crash(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        response = browser.post(
            f"{interaction}/login",
            data={
                "email": account.email,
                "password": "correct-horse-battery",
                "csrf_token": "\u00e9t\u00e9",
            },
        )
    assert response.status_code == 403


def test_consent_page_shows_client_redirect_host_scopes_and_loopback_warning(
    auth_server: AuthServer,
) -> None:
    account = auth_server.account()
    loopback = auth_server.client(name="Desk <b>Tool</b>", public=True).id
    hosted = auth_server.client(
        name="Hosted", redirect_uris=["https://assistant.example.org/cb", REDIRECT_URI]
    ).id
    pages = {}
    for name, client_id, redirect_uri in (
        ("loopback", loopback, REDIRECT_URI),
        ("hosted", hosted, "https://assistant.example.org/cb"),
        # The warning follows the redirect used: any local program could claim that one.
        ("hosted, local redirect", hosted, REDIRECT_URI),
    ):
        with auth_server.http() as browser:
            interaction = _interaction(browser, client_id, redirect_uri=redirect_uri)
            login(browser, interaction, account.email, "correct-horse-battery")
            pages[name] = browser.get(interaction).text
    page = pages["loopback"]
    assert "Desk &lt;b&gt;Tool&lt;/b&gt;" in page  # escaped, never rendered as markup
    assert "127.0.0.1:5555" in page
    assert "runs on your own computer" in page
    for text in ("See hospitals and availability", "See your appointments", "Stay connected"):
        assert text in page
    assert 'name="decision" value="allow"' in page and 'name="decision" value="deny"' in page
    assert "runs on your own computer" not in pages["hosted"]
    assert "runs on your own computer" in pages["hosted, local redirect"]


def test_consent_page_says_stay_connected_exactly_when_a_refresh_token_follows(
    auth_server: AuthServer, public_client: str
) -> None:
    """Issue 12: the pre-registered client has the refresh_token grant and asks only for
    read:data; the code-only client asks for offline_access but will get no refresh token."""
    account = auth_server.account()
    pages = {}
    for name, client_id, scope in (
        ("refreshing", public_client, "read:data"),
        ("code only", code_only_client(auth_server), "read:data offline_access"),
    ):
        with auth_server.http() as browser:
            interaction = _interaction(browser, client_id, scope=scope)
            login(browser, interaction, account.email, "correct-horse-battery")
            pages[name] = browser.get(interaction).text
    assert "Stay connected" in pages["refreshing"]
    assert "Stay connected" not in pages["code only"]
    for page in pages.values():
        assert "See hospitals and availability" in page


@both_backends
def test_interaction_expires(auth_server: AuthServer, public_client: str) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        interaction = _interaction(browser, public_client)
        auth_server.clock.advance(auth_server.settings.interaction_ttl)
        page = browser.get(interaction)
        assert page.status_code == 400 and "no longer valid" in page.text
        response = login(
            browser, _interaction(browser, public_client), account.email, "correct-horse-battery"
        )
        assert response.status_code == 303  # a fresh request still works


@both_backends
def test_prompt_login_asks_again_despite_a_session(
    auth_server: AuthServer, public_client: str
) -> None:
    account = auth_server.account()
    with auth_server.http() as browser:
        first = _interaction(browser, public_client)
        assert login(browser, first, account.email, "correct-horse-battery").status_code == 303
        auth_server.clock.advance(5)
        # With a session, a plain request goes straight to consent...
        plain = browser.get(_interaction(browser, public_client))
        assert 'name="decision"' in plain.text and 'name="password"' not in plain.text
        # ...but prompt=login shows the login form again, and a new login satisfies it.
        _, challenge = pkce_pair()
        forced = start(browser, authorize_params(public_client, challenge, prompt="login"))
        interaction = forced.headers["location"]
        assert 'name="password"' in browser.get(interaction).text
        auth_server.clock.advance(1)
        assert (
            login(browser, interaction, account.email, "correct-horse-battery").status_code == 303
        )
        assert 'name="decision"' in browser.get(interaction).text


def test_medical_records_are_never_a_default_and_marked_sensitive(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    """Issue 16 item 3: read:records is granted only when asked for, with a warning."""
    assert "read:records" not in scopes.DEFAULT_NAMES
    account = auth_server.account()
    pages = {}
    for name, scope in (("asked", "read:data read:records"), ("default", "")):
        with auth_server.http() as browser:
            interaction = _interaction(browser, confidential_client.id, scope=scope)
            login(browser, interaction, account.email, "correct-horse-battery")
            pages[name] = browser.get(interaction).text
    assert "See your medical records" in pages["asked"]
    assert "Sensitive: health data" in pages["asked"]
    assert "See your medical records" not in pages["default"]
    assert "Sensitive" not in pages["default"]
