"""One-time codes as a second factor (issue 15 item 1): enrolment by QR code and a first code,
ten recovery codes shown once and stored as keyed hashes, a second step after the password
that nothing skips, a code's time step used once (also across replicas on one database), a
recovery code used once, throttling, and every enrolment, removal and failure audited. Time is
the servers' injected clock, frozen, moved by whole TOTP steps."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx
import pyotp

from authserver.models import AuditEvent
from tests.databases import Databases, both_backends
from tests.flow import (
    begin,
    csrf_token,
    decide,
    enrol_one_time_codes,
    logged_in,
    login,
    post_form,
)
from tests.harness import PASSWORD, AuthServer, start_auth_server

pytestmark = both_backends
PAGE = "/account/one-time-codes"
STEP = 30


def _password(server: AuthServer, browser: httpx.Client, email: str) -> httpx.Response:
    """The password step of /login; the response, not followed."""
    first = browser.get("/login", params={"next": "/account"})
    page = browser.get(first.headers["location"])
    return browser.post(first.headers["location"], data={
        "email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text),
    })


def _second_step(browser: httpx.Client, code: str) -> httpx.Response:
    page = browser.get("/login/code", params={"next": "/account"})
    assert page.status_code == 200, page.text
    return browser.post("/login/code?next=%2Faccount", data={
        "code": code, "csrf_token": csrf_token(page.text),
    })


def _sign_in(server: AuthServer, email: str, code: str) -> httpx.Response:
    with server.http() as browser:
        password = _password(server, browser, email)
        assert password.headers["location"] == "/login/code?next=%2Faccount"
        return _second_step(browser, code)


def _events(server: AuthServer, actor: str) -> list[AuditEvent]:
    return server.store.audit_events(actor=actor, limit=100)


def _enrolled(server: AuthServer) -> tuple[str, str, pyotp.TOTP, list[str]]:
    server.clock.freeze()
    account = server.account("staff")
    with logged_in(server, account.email) as browser:
        totp, codes = enrol_one_time_codes(server, browser)
    return account.id, account.email, totp, codes


def test_enrolment_shows_a_qr_code_then_ten_recovery_codes_once(auth_server: AuthServer) -> None:
    account_id, _email, totp, codes = _enrolled(auth_server)
    factor = auth_server.store.one_time_code_factor(account_id)
    assert factor is not None and factor.confirmed_at is not None
    # At rest: the secret sealed (never in the clear), recovery codes as keyed hashes.
    assert totp.secret.encode() not in factor.secret_sealed
    assert auth_server.store.recovery_codes_left(account_id) == 10
    stored = auth_server.keys.hash_secret(codes[0].replace("-", ""))
    assert auth_server.store.use_recovery_code(account_id, stored, auth_server.clock())
    assert {"factor.enrolled"} <= {event.event for event in _events(auth_server, account_id)}


def test_a_wrong_first_code_enrols_nothing(auth_server: AuthServer) -> None:
    auth_server.clock.freeze()
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser:
        post_form(browser, "/account", f"{PAGE}/start")
        page = browser.get(PAGE)
        wrong = browser.post(f"{PAGE}/confirm", data={
            "code": "000000", "csrf_token": csrf_token(page.text)})
        assert wrong.status_code == 400 and "not right" in wrong.text
    factor = auth_server.store.one_time_code_factor(account.id)
    assert factor is not None and factor.confirmed_at is None
    assert auth_server.store.audit_events(event="factor.enrolment_failed", actor=account.id)
    # Unconfirmed, it asks nothing at the next login.
    with auth_server.http() as browser:
        assert _password(auth_server, browser, account.email).headers["location"] == "/account"


def test_the_password_alone_opens_nothing_until_the_code(auth_server: AuthServer) -> None:
    _account_id, email, totp, _codes = _enrolled(auth_server)
    auth_server.clock.advance(STEP)
    with auth_server.http() as browser:
        password = _password(auth_server, browser, email)
        assert password.status_code == 303
        assert password.headers["location"] == "/login/code?next=%2Faccount"
        assert browser.get("/account").status_code == 303  # to /login: not logged in yet
        assert browser.get("/admin").status_code in {303, 403}
        done = _second_step(browser, totp.at(auth_server.clock()))
        assert done.status_code == 303 and done.headers["location"] == "/account"
        assert browser.get("/account").status_code == 200


def test_the_second_step_expires_with_the_password_step(auth_server: AuthServer) -> None:
    _account_id, email, totp, _codes = _enrolled(auth_server)
    with auth_server.http() as browser:
        _password(auth_server, browser, email)
        page = browser.get("/login/code", params={"next": "/account"})
        auth_server.clock.advance(301)
        late = browser.post("/login/code?next=%2Faccount", data={
            "code": totp.at(auth_server.clock()), "csrf_token": csrf_token(page.text)})
        assert late.status_code == 303 and late.headers["location"].startswith("/login?")
        assert browser.get("/account").status_code == 303


def test_a_code_is_never_good_twice(auth_server: AuthServer) -> None:
    account_id, email, totp, _codes = _enrolled(auth_server)
    # The code that confirmed the enrolment is spent already.
    assert _sign_in(auth_server, email, totp.at(auth_server.clock())).status_code == 401
    auth_server.clock.advance(STEP)
    code = totp.at(auth_server.clock())
    assert _sign_in(auth_server, email, code).status_code == 303
    assert _sign_in(auth_server, email, code).status_code == 401
    # Nor one of an older step still inside the drift window.
    previous = totp.at(auth_server.clock(), counter_offset=-1)
    assert _sign_in(auth_server, email, previous).status_code == 401
    failed = [event for event in _events(auth_server, account_id)
              if event.event == "second_factor.failed"]
    assert len(failed) == 3


def test_a_recovery_code_works_once(auth_server: AuthServer) -> None:
    account_id, email, _totp, codes = _enrolled(auth_server)
    # However it is typed: case, spaces and hyphens do not matter.
    typed = codes[0].lower().replace("-", " ")
    assert _sign_in(auth_server, email, typed).status_code == 303
    assert _sign_in(auth_server, email, codes[0]).status_code == 401
    assert auth_server.store.recovery_codes_left(account_id) == 9
    succeeded = [event.detail for event in _events(auth_server, account_id)
                 if event.event == "second_factor.succeeded"]
    assert succeeded == [{"method": "recovery"}]


def test_one_step_is_used_once_across_replicas(databases: Databases) -> None:
    shared: dict[str, Any] = {"secret_key": secrets.token_urlsafe(32)}
    with (
        start_auth_server(databases, **shared) as first,
        start_auth_server(databases, resource="http://127.0.0.1:8001/mcp", **shared) as second,
    ):
        _account_id, email, totp, _codes = _enrolled(first)
        second.clock.frozen_at = first.clock.frozen_at
        for server in (first, second):
            server.clock.advance(STEP)
        code = totp.at(first.clock())
        with first.http() as here, second.http() as there:
            # Both passwords right, then one code typed on both replicas: one wins.
            _password(first, here, email)
            _password(second, there, email)
            outcomes = [_second_step(here, code).status_code, _second_step(there, code).status_code]
        assert sorted(outcomes) == [303, 401]


def test_codes_are_throttled_like_passwords(auth_server: AuthServer) -> None:
    account_id, email, totp, _codes = _enrolled(auth_server)
    limit = auth_server.settings.login_failures_per_account
    with auth_server.http() as browser:
        _password(auth_server, browser, email)
        for _ in range(limit):
            assert _second_step(browser, "123456").status_code in {401}
        auth_server.clock.advance(STEP)
        throttled = _second_step(browser, totp.at(auth_server.clock()))
        assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert "second_factor.throttled" in {event.event for event in _events(auth_server, account_id)}


def test_removal_is_audited_and_the_password_is_enough_again(auth_server: AuthServer) -> None:
    auth_server.clock.freeze()
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser:
        enrol_one_time_codes(auth_server, browser)
        assert "Remove the authenticator app" in browser.get("/account").text
        removed = post_form(browser, "/account", f"{PAGE}/remove")
        assert removed.status_code == 303
    assert auth_server.store.one_time_code_factor(account.id) is None
    assert auth_server.store.recovery_codes_left(account.id) == 0
    assert "factor.removed" in {event.event for event in _events(auth_server, account.id)}
    with auth_server.http() as browser:
        assert _password(auth_server, browser, account.email).headers["location"] == "/account"


def test_an_authorization_waits_for_the_second_step(
    auth_server: AuthServer, public_client: str
) -> None:
    _account_id, email, totp, _codes = _enrolled(auth_server)
    auth_server.clock.advance(STEP)
    with auth_server.http() as browser:
        started, _verifier = begin(browser, public_client)
        interaction = started.headers["location"]
        password = login(browser, interaction, email, PASSWORD)
        assert password.headers["location"] == f"/login/code?next={quote(interaction, safe='')}"
        # Neither the consent page nor its answer before the code.
        assert "Allow" not in browser.get(interaction).text
        page = browser.get(password.headers["location"])
        done = browser.post(password.headers["location"], data={
            "code": totp.at(auth_server.clock()), "csrf_token": csrf_token(page.text)})
        assert done.headers["location"] == interaction
        back = decide(browser, interaction, "allow")
    assert back.status_code == 303 and "code=" in back.headers["location"]
