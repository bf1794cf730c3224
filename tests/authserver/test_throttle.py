"""Login throttling: after too many failed logins for one email (an account or not) or from one
network within the window, both login forms refuse with 429 and check no password, until the
oldest of those failures leaves the window; the count lives in the database, so it holds
across replicas, and nothing an attacker can do resets it."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from authserver.maintenance import purge
from authserver.throttle import network_of
from tests.databases import Databases, both_backends
from tests.flow import begin, csrf_token, login
from tests.harness import PASSWORD, AuthServer, start_auth_server

WINDOW = 600
# Tighter than the defaults, so a test reaches them in a few attempts.
LIMITS: dict[str, Any] = {
    "login_failures_per_account": 3,
    "login_failures_per_network": 5,
    "login_failure_window": WINDOW,
}
THROTTLED = "Too many failed login attempts"


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, **LIMITS) as started:
        started.clock.freeze()
        yield started


@pytest.fixture
def roomy_network(databases: Databases) -> Iterator[AuthServer]:
    """The per-account limit alone in play: every request here comes from 127.0.0.1."""
    with start_auth_server(databases, **{**LIMITS, "login_failures_per_network": 50}) as started:
        started.clock.freeze()
        yield started


def _log_in(
    server: AuthServer, email: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """One attempt at /login, from a new browser."""
    with httpx.Client(base_url=server.url, timeout=10, headers=headers) as browser:
        first = browser.get("/login")
        page = browser.get(first.headers["location"])
        return browser.post("/login", data={
            "email": email, "password": password, "csrf_token": csrf_token(page.text)})


@contextmanager
def _replicas(
    databases: Databases, **settings: Any
) -> Iterator[tuple[AuthServer, AuthServer]]:
    """Two servers on one database with the same key, as replicas run, and one frozen clock."""
    shared = {**LIMITS, "secret_key": secrets.token_urlsafe(32), **settings}
    second_resource = "http://127.0.0.1:8001/mcp"
    with (
        start_auth_server(databases, **shared) as first,
        start_auth_server(databases, resource=second_resource, **shared) as second,
    ):
        first.clock.freeze()
        second.clock.frozen_at = first.clock.frozen_at
        yield first, second


def _fail(server: AuthServer, email: str, times: int) -> None:
    for _ in range(times):
        assert _log_in(server, email, "not-the-password").status_code == 401


def _message(html: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found, html
    return found.group(1)


def _throttled(response: httpx.Response, retry_after: int) -> None:
    """The login form again, not a redirect: 429, the reason, when to come back, no session."""
    assert response.status_code == 429, response.text
    assert THROTTLED in _message(response.text)
    assert 'name="password"' in response.text
    assert response.headers["retry-after"] == str(retry_after)
    assert "hospiai_session" not in response.headers.get("set-cookie", "")


def _login_events(server: AuthServer) -> list[tuple[str, object]]:
    """Oldest first: each login event with the limit that throttled it, if any."""
    events = reversed(server.store.audit_events(event="login.", limit=200))
    return [(event.event, event.detail.get("limit")) for event in events]


def test_an_email_is_throttled_alike_whether_it_has_an_account_or_not(
    roomy_network: AuthServer,
) -> None:
    server = roomy_network
    account = server.account()
    _fail(server, account.email, 3)
    _fail(server, "nobody@hospiai.test", 3)
    known = _log_in(server, account.email, "not-the-password")
    unknown = _log_in(server, "nobody@hospiai.test", "not-the-password")
    _throttled(known, WINDOW)
    _throttled(unknown, WINDOW)
    assert _message(known.text) == _message(unknown.text)
    assert "10 minutes" in _message(known.text)
    # Another email is untouched; the spelling of this one does not matter.
    assert _log_in(server, server.account().email, PASSWORD).status_code == 303
    _throttled(_log_in(server, account.email.upper(), PASSWORD), WINDOW)


def test_the_right_password_is_refused_unchecked_while_throttled(
    roomy_network: AuthServer,
) -> None:
    server = roomy_network
    account = server.account()
    _fail(server, account.email, 3)
    _throttled(_log_in(server, account.email, PASSWORD), WINDOW)
    # Neither a success nor a failure: the password was never looked at.
    assert _login_events(server) == [("login.failed", None)] * 3 + [
        ("login.throttled", "account")]
    throttled = server.store.audit_events(event="login.throttled")[0]
    assert throttled.ip == "127.0.0.1" and throttled.actor is None
    assert throttled.detail == {"email": account.email, "limit": "account"}


def test_the_cool_down_ends_when_the_oldest_failure_leaves_the_window(
    roomy_network: AuthServer,
) -> None:
    server = roomy_network
    account = server.account()
    _fail(server, account.email, 1)
    server.clock.advance(100)
    _fail(server, account.email, 2)
    _throttled(_log_in(server, account.email, PASSWORD), WINDOW - 100)
    server.clock.advance(WINDOW - 101)
    # Refused attempts do not count, so trying on does not stretch the cool-down.
    for _ in range(3):
        _throttled(_log_in(server, account.email, PASSWORD), 1)
    server.clock.advance(1)
    assert _log_in(server, account.email, PASSWORD).status_code == 303
    # Two failures are still inside the window: one more and the email waits for the next.
    _fail(server, account.email, 1)
    _throttled(_log_in(server, account.email, PASSWORD), 100)


def test_a_network_is_throttled_across_emails_and_a_success_resets_nothing(
    server: AuthServer,
) -> None:
    own, other = server.account(), server.account()
    _fail(server, "a@hospiai.test", 2)
    # The attacker's own account logs in between guesses: the count goes on.
    assert _log_in(server, own.email, PASSWORD).status_code == 303
    _fail(server, "b@hospiai.test", 2)
    assert _log_in(server, own.email, PASSWORD).status_code == 303
    _fail(server, "c@hospiai.test", 1)
    _throttled(_log_in(server, other.email, PASSWORD), WINDOW)
    _throttled(_log_in(server, own.email, PASSWORD), WINDOW)
    assert _login_events(server)[-1] == ("login.throttled", "network")


def test_logging_in_to_another_account_does_not_unlock_a_throttled_email(
    roomy_network: AuthServer,
) -> None:
    server = roomy_network
    victim, attacker = server.account(), server.account()
    _fail(server, victim.email, 3)
    for _ in range(3):
        assert _log_in(server, attacker.email, PASSWORD).status_code == 303
    _throttled(_log_in(server, victim.email, PASSWORD), WINDOW)


def test_the_authorization_login_form_is_throttled_too(roomy_network: AuthServer) -> None:
    server = roomy_network
    account, public_client = server.account(), server.client(public=True).id
    _fail(server, account.email, 3)  # on /login: one count for both forms
    with server.http() as browser:
        response, _ = begin(browser, public_client)
        refused = login(browser, response.headers["location"], account.email, PASSWORD)
    _throttled(refused, WINDOW)
    assert f'action="{response.headers["location"]}/login"' in refused.text


@both_backends
def test_two_servers_on_one_database_count_the_same_failures(databases: Databases) -> None:
    with _replicas(databases) as (first, second):
        account = first.account()
        _fail(first, account.email, 2)
        _fail(second, account.email, 1)
        _throttled(_log_in(first, account.email, PASSWORD), WINDOW)
        _throttled(_log_in(second, account.email, PASSWORD), WINDOW)
        _fail(second, "someone@hospiai.test", 2)  # five failures from this network
        _throttled(_log_in(first, first.account().email, PASSWORD), WINDOW)


@both_backends
def test_attempts_at_once_on_two_servers_check_no_more_passwords_than_the_limit(
    databases: Databases,
) -> None:
    with _replicas(databases, login_failures_per_network=100) as (first, second):
        email = first.account().email
        # Twelve browsers with a login form each, then every password sent at once.
        forms = []
        for index in range(12):
            browser = (first if index % 2 else second).http()
            page = browser.get(browser.get("/login").headers["location"])
            forms.append((browser, {"email": email, "password": "not-the-password",
                                    "csrf_token": csrf_token(page.text)}))
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(_submit, forms))
        checked = statuses.count(401)
        assert checked <= 3 and statuses.count(429) == 12 - checked, statuses
        assert len(first.store.audit_events(event="login.failed")) == checked


def _submit(form: tuple[httpx.Client, dict[str, str]]) -> int:
    browser, data = form
    try:
        return browser.post("/login", data=data).status_code
    finally:
        browser.close()


def test_attempts_past_the_window_are_purged(server: AuthServer) -> None:
    _fail(server, "a@hospiai.test", 2)
    server.clock.advance(WINDOW - 1)
    assert purge(server.settings, server.store, server.clock())["attempts"] == 0
    server.clock.advance(1)
    assert purge(server.settings, server.store, server.clock())["attempts"] == 2


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        (None, None),
    ],
)
def test_one_ipv6_subscriber_is_one_network(ip: str | None, network: str | None) -> None:
    assert network_of(ip) == network


def test_a_proxy_left_untrusted_is_named_in_the_log_when_its_network_is_throttled(
    server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a proxy missing from HOSPIAI_FORWARDED_ALLOW_IPS, every user shares its limit."""
    with caplog.at_level(logging.WARNING, logger="authserver.throttle"):
        _fail(server, "a@hospiai.test", 3)
        _fail(server, "b@hospiai.test", 2)
        _throttled(_log_in(server, "c@hospiai.test", PASSWORD), WINDOW)
        assert not caplog.records  # no forwarded header: nothing to say
        for _ in range(2):
            _throttled(_log_in(server, "c@hospiai.test", PASSWORD,
                               {"X-Forwarded-For": "198.51.100.7"}), WINDOW)
    (warning,) = caplog.records
    assert "127.0.0.1" in warning.message and "HOSPIAI_FORWARDED_ALLOW_IPS" in warning.message
