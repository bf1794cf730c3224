"""Known devices (issue 13 item 15, OWASP "device cookies"): a browser where an email logged in
before carries a signed cookie naming it, and its attempts for that email are not held to the
email's limit, which anyone anywhere can fill; they have a small limit of their own. A cookie
for another email, or a forged one, changes nothing, and the per-network limit holds for all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.databases import Databases, both_backends
from tests.flow import csrf_token
from tests.harness import PASSWORD, AuthServer, start_auth_server

pytestmark = both_backends
DEVICE = "hospiai_device"
# The defaults for one email (10) and one device (5); a roomy network limit, since every
# request here comes from 127.0.0.1.
LIMITS: dict[str, Any] = {"login_failures_per_network": 100}


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, **LIMITS) as started:
        started.clock.freeze()
        yield started


def _attempt(browser: httpx.Client, email: str, password: str) -> httpx.Response:
    """One attempt at /login in this browser, with whatever cookies it holds."""
    first = browser.get("/login")
    page = browser.get(first.headers["location"]) if first.status_code == 303 else first
    return browser.post("/login", data={
        "email": email, "password": password, "csrf_token": csrf_token(page.text)})


def _attacker_fails(server: AuthServer, email: str, times: int) -> None:
    """Failures from new browsers, as an attacker elsewhere (behind the same network) makes."""
    for _ in range(times):
        with server.http() as attacker:
            assert _attempt(attacker, email, "guessed-password").status_code == 401


@contextmanager
def _known_device(server: AuthServer, email: str) -> Iterator[httpx.Client]:
    """A browser where ``email`` logged in, then logged out: it keeps the device cookie."""
    with server.http() as browser:
        assert _attempt(browser, email, PASSWORD).status_code == 303
        assert DEVICE in browser.cookies
        browser.cookies.delete("hospiai_session")
        yield browser


def _throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert "Too many failed login attempts" in response.text


def _limits(server: AuthServer) -> list[object]:
    return [event.detail["limit"] for event in server.store.audit_events(event="login.throttled")]


def test_an_attackers_failures_do_not_lock_the_owners_known_device_out(
    server: AuthServer,
) -> None:
    owner = server.account()
    with _known_device(server, owner.email) as device:
        _attacker_fails(server, owner.email, 10)
        with server.http() as attacker:
            _throttled(_attempt(attacker, owner.email, PASSWORD))
        # The owner's typo from the known device, then the password: neither is refused.
        assert _attempt(device, owner.email, "typo-password").status_code == 401
        assert _attempt(device, owner.email.upper(), PASSWORD).status_code == 303
    assert _limits(server) == ["account"]


def test_a_known_device_has_a_small_limit_of_its_own(server: AuthServer) -> None:
    owner = server.account()
    with _known_device(server, owner.email) as device:
        for _ in range(5):
            assert _attempt(device, owner.email, "guessed-password").status_code == 401
        _throttled(_attempt(device, owner.email, PASSWORD))
        # Its failures are its own: the email's limit is untouched elsewhere.
        with server.http() as elsewhere:
            assert _attempt(elsewhere, owner.email, PASSWORD).status_code == 303
    assert _limits(server) == ["device"]


def test_a_cookie_for_another_email_or_a_forged_one_is_no_exemption(server: AuthServer) -> None:
    owner, victim = server.account(), server.account()
    with _known_device(server, owner.email) as device:
        cookie = device.cookies[DEVICE]
        _attacker_fails(server, victim.email, 10)
        # The owner's device is known for the owner's email only.
        _throttled(_attempt(device, victim.email, PASSWORD))
    _attacker_fails(server, owner.email, 10)
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{'A' * len(signature)}"
    for value in (forged, "not-a-device-cookie"):
        with server.http() as browser:
            browser.cookies.set(DEVICE, value, domain="127.0.0.1")
            _throttled(_attempt(browser, owner.email, PASSWORD))
    assert _limits(server) == ["account"] * 3


def test_the_network_limit_still_applies_to_known_devices(databases: Databases) -> None:
    with start_auth_server(databases, login_failures_per_network=5) as server:
        server.clock.freeze()
        owner = server.account()
        with _known_device(server, owner.email) as device:
            for number in range(5):
                _attacker_fails(server, f"someone{number}@hospiai.test", 1)
            _throttled(_attempt(device, owner.email, PASSWORD))
        assert _limits(server) == ["network"]
