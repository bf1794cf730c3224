"""The second-factor policy (issue 15 item 2): an account whose role HOSPIAI_MFA_ROLES names
(by default staff and admins) and that has no second factor is sent to enrolment after its
password, and finishes no authorization and opens no admin page until it has one; it can never
remove its only factor; an admin resets one (audited), and the console shows who has which
factor, never a secret."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import httpx
import pytest

from authserver.models import Passkey
from authserver.settings import Settings
from shared.settings import SettingsError
from tests.databases import Databases, both_backends
from tests.flow import (
    begin,
    csrf_token,
    decide,
    enrol_one_time_codes,
    logged_in,
    login,
    post_form,
    query_of,
)
from tests.harness import PASSWORD, AuthServer, start_auth_server

POLICY = frozenset({"staff", "admin"})


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, mfa_roles=POLICY) as running:
        running.clock.freeze()
        yield running


def _enrolment(next_page: str) -> str:
    return f"/account/one-time-codes?{urlencode({'next': next_page})}"


@contextmanager
def _owing(server: AuthServer, email: str, next_page: str) -> Iterator[httpx.Client]:
    """A browser whose password was right, sent to enrolment on its way to ``next_page``."""
    with server.http() as browser:
        first = browser.get("/login", params={"next": next_page})
        page = browser.get(first.headers["location"])
        response = browser.post(first.headers["location"], data={
            "email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        assert response.headers["location"] == _enrolment(next_page)
        yield browser


@both_backends
def test_staff_without_a_factor_finish_no_authorization_until_enrolled(server: AuthServer) -> None:
    staff = server.account("staff")
    client_id = server.client(public=True).id
    with server.http() as browser:
        started, _verifier = begin(browser, client_id)
        interaction = started.headers["location"]
        password = login(browser, interaction, staff.email, PASSWORD)
        assert password.headers["location"] == _enrolment(interaction)
        # Neither the consent page nor its answer: back to enrolment.
        assert browser.get(interaction).headers["location"] == _enrolment(interaction)
        token = csrf_token(browser.get("/account").text)
        refused = browser.post(f"{interaction}/consent",
                               data={"decision": "allow", "csrf_token": token})
        assert refused.headers["location"] == _enrolment(interaction)
        enrol_one_time_codes(server, browser, interaction)
        back = decide(browser, interaction, "allow")
    assert "code" in query_of(back.headers["location"]), back.headers


def test_consent_approved_for_everyone_does_not_skip_enrolment(server: AuthServer) -> None:
    staff = server.account("staff")
    client = server.client()
    assert server.store.approve_client(client.id, "read:data read:bookings offline_access")
    with _owing(server, staff.email, "/account") as browser:
        # Logged in, and nothing to ask: still no code without a second factor.
        started, _verifier = begin(browser, client.id)
        interaction = started.headers["location"]
        assert interaction.startswith("/interaction/")
        assert browser.get(interaction).headers["location"] == _enrolment(interaction)
        silent, _verifier = begin(browser, client.id, prompt="none")
        assert query_of(silent.headers["location"])["error"] == "login_required"


@both_backends
def test_an_admin_without_a_factor_opens_no_admin_page(server: AuthServer) -> None:
    admin = server.account("admin")
    with _owing(server, admin.email, "/admin") as browser:
        assert browser.get("/admin").headers["location"] == _enrolment("/admin")
        enrol_one_time_codes(server, browser, "/admin")
        assert browser.get("/admin").status_code == 200


def test_a_patient_is_not_asked(server: AuthServer) -> None:
    patient = server.account()
    with logged_in(server, patient.email):
        pass  # landed on /account, as ever


def test_the_only_factor_of_a_role_that_requires_one_cannot_be_removed(
    server: AuthServer,
) -> None:
    staff = server.account("staff")
    with _owing(server, staff.email, "/account") as browser:
        enrol_one_time_codes(server, browser)
        refused = post_form(browser, "/account", "/account/one-time-codes/remove")
        assert refused.status_code == 409
    assert server.store.one_time_code_factor(staff.id) is not None
    assert not server.store.audit_events(event="factor.removed", actor=staff.id)


@both_backends
def test_an_admin_sees_and_resets_the_factors_of_an_account(server: AuthServer) -> None:
    staff, admin = server.account("staff"), server.account("admin")
    with _owing(server, staff.email, "/account") as nurse:
        totp, codes = enrol_one_time_codes(server, nurse)
        with _owing(server, admin.email, "/admin") as console:
            enrol_one_time_codes(server, console, "/admin")
            listing = console.get("/admin/accounts", params={"q": staff.email}).text
            assert "authenticator app" in listing
            page = console.get(f"/admin/accounts/{staff.id}").text
            assert "10 recovery codes left" in page
            assert totp.secret not in page and codes[0] not in page
            reset = post_form(console, f"/admin/accounts/{staff.id}",
                              f"/admin/accounts/{staff.id}/factors/reset")
            assert reset.status_code == 303
        # Reset: the factor is gone, and so is every session it opened.
        assert nurse.get("/account").status_code == 303
    assert server.store.one_time_code_factor(staff.id) is None
    [event] = server.store.audit_events(event="admin.factors_reset")
    assert event.actor == admin.id and event.detail["account_id"] == staff.id


def test_the_policy_setting_has_a_secure_default_and_is_validated() -> None:
    env = {"HOSPIAI_ISSUER": "http://127.0.0.1:9000", "HOSPIAI_SECRET_KEY": "k" * 32}
    assert Settings.from_env(env).mfa_roles == POLICY
    assert Settings.from_env({**env, "HOSPIAI_MFA_ROLES": "Admin"}).mfa_roles == {"admin"}
    assert Settings.from_env({**env, "HOSPIAI_MFA_ROLES": ""}).mfa_roles == frozenset()
    with pytest.raises(SettingsError, match="HOSPIAI_MFA_ROLES"):
        Settings.from_env({**env, "HOSPIAI_MFA_ROLES": "staff,nurse"})


@both_backends
def test_the_console_lists_passkeys_and_a_reset_removes_them(server: AuthServer) -> None:
    staff, admin = server.account("staff"), server.account("admin")
    key = Passkey(
        id="pk_nurse", account_id=staff.id, credential_id=b"credential-of-the-nurse",
        public_key=b"public-key-of-the-nurse", name="Ward tablet",
        device_type="multi_device", created_at=server.clock(),
    )
    assert server.store.add_passkey(key)
    # A passkey is a second factor: the policy sends the account to its second step, not to
    # enrolment.
    with server.http() as nurse:
        first = nurse.get("/login", params={"next": "/account"})
        page = nurse.get(first.headers["location"])
        password = nurse.post(first.headers["location"], data={
            "email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        assert password.headers["location"] == "/login/code?next=%2Faccount"
    with _owing(server, admin.email, "/admin") as console:
        enrol_one_time_codes(server, console, "/admin")
        listing = console.get("/admin/accounts", params={"q": staff.email}).text
        assert "1 passkey" in listing
        shown = console.get(f"/admin/accounts/{staff.id}").text
        assert "Ward tablet" in shown and "synced" in shown
        assert "public-key-of-the-nurse" not in shown
        reset = post_form(console, f"/admin/accounts/{staff.id}",
                          f"/admin/accounts/{staff.id}/factors/reset")
        assert reset.status_code == 303
    assert server.store.passkeys(staff.id) == []
    [event] = server.store.audit_events(event="admin.factors_reset")
    assert event.actor == admin.id and event.detail["account_id"] == staff.id
