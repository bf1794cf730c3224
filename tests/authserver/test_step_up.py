"""RFC 9470 step-up at /authorize (issue 15): acr_values naming urn:hospiai:acr:mfa sends a
password-only sign-in to its second step (or, with no second factor, to enrolment), max_age
older than the sign-in asks for a fresh one, prompt=none gets login_required for either, and
what cannot be honoured is invalid_request. The code then carries the new sign-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from authserver.provisioning import Credentials
from shared.authentication import ACR_MFA, ACR_PASSWORD
from tests.databases import both_backends
from tests.flow import (
    REDIRECT_URI,
    begin,
    csrf_token,
    decide,
    enrol_one_time_codes,
    exchange,
    introspect,
    logged_in,
    login,
    query_of,
)
from tests.harness import PASSWORD, AuthServer

STEP = 30


def _signed_in(server: AuthServer, client: Credentials, back: httpx.Response,
               verifier: str) -> dict[str, Any]:
    """The sign-in the code in ``back`` carries, as introspection returns it."""
    assert back.status_code == 303, back.text
    code = query_of(back.headers["location"])["code"]
    token = exchange(server, client.id, code, verifier, secret=client.secret)
    assert token.status_code == 200, token.text
    info = introspect(server, token.json()["access_token"]).json()
    return {key: info.get(key) for key in ("amr", "acr", "auth_time")}


def _connect(server: AuthServer, browser: httpx.Client, client: Credentials, email: str) -> None:
    """A first connection with a password alone: consent is remembered from now on."""
    started, _verifier = begin(browser, client.id)
    interaction = started.headers["location"]
    assert login(browser, interaction, email, PASSWORD).status_code == 303
    assert decide(browser, interaction, "allow").status_code == 303


def _second_step(interaction: str) -> str:
    return f"/login/code?{urlencode({'next': interaction})}"


def _enrolment(interaction: str) -> str:
    return f"/account/one-time-codes?next={quote(interaction, safe='')}"


@both_backends
def test_acr_values_mfa_asks_a_password_session_for_its_second_factor(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    auth_server.clock.freeze()
    staff = auth_server.account("staff")
    with auth_server.http() as browser:
        _connect(auth_server, browser, confidential_client, staff.email)
        # Since then, from another browser, the account got an authenticator app; this
        # browser's session is still a password alone.
        with logged_in(auth_server, staff.email) as other:
            totp, _codes = enrol_one_time_codes(auth_server, other)
        auth_server.clock.advance(STEP)
        # Consent is remembered, yet no code is issued without the second factor: nor silently.
        silent, _ = begin(browser, confidential_client.id, acr_values=ACR_MFA, prompt="none")
        assert query_of(silent.headers["location"])["error"] == "login_required"
        started, verifier = begin(browser, confidential_client.id, acr_values=ACR_MFA)
        interaction = started.headers["location"]
        assert interaction.startswith("/interaction/")
        page = browser.get(interaction)
        assert page.status_code == 303 and page.headers["location"] == _second_step(interaction)
        # The consent form cannot skip it either.
        skipped = browser.post(f"{interaction}/consent", data={
            "decision": "allow", "csrf_token": csrf_token(browser.get("/account").text)})
        assert skipped.headers["location"] == _second_step(interaction)
        form = browser.get(_second_step(interaction))
        assert form.status_code == 200 and 'name="code"' in form.text
        stepped_at = auth_server.clock()
        stepped = browser.post(_second_step(interaction), data={
            "code": totp.at(stepped_at), "csrf_token": csrf_token(form.text)})
        assert stepped.status_code == 303 and stepped.headers["location"] == interaction
        resumed = browser.get(interaction)  # consent remembered: straight back to the client
        assert resumed.headers["location"].startswith("/authorize/resume/")
        back = browser.get(resumed.headers["location"])
        assert _signed_in(auth_server, confidential_client, back, verifier) == {
            "amr": ["pwd", "otp"], "acr": ACR_MFA, "auth_time": stepped_at}
        # The session now has both factors: asking again needs no page.
        again, _ = begin(browser, confidential_client.id, acr_values=ACR_MFA, prompt="none")
        assert again.headers["location"].startswith("/authorize/resume/")


@both_backends
def test_an_account_without_a_second_factor_asked_for_mfa_enrols_first(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    """The password level asks nothing more; mfa sends the user to the existing enrolment,
    from the login form and from a live session alike, then on to consent."""
    auth_server.clock.freeze()
    patient = auth_server.account()
    with auth_server.http() as browser:
        weak, _ = begin(browser, confidential_client.id, acr_values=ACR_PASSWORD)
        interaction = weak.headers["location"]
        assert login(browser, interaction, patient.email, PASSWORD).headers["location"] == (
            interaction)
        started, verifier = begin(browser, confidential_client.id, acr_values=ACR_MFA)
        interaction = started.headers["location"]
        assert browser.get(interaction).headers["location"] == _enrolment(interaction)
    with auth_server.http() as browser:
        started, verifier = begin(browser, confidential_client.id, acr_values=ACR_MFA)
        interaction = started.headers["location"]
        password = login(browser, interaction, patient.email, PASSWORD)
        assert password.status_code == 303
        assert password.headers["location"] == _enrolment(interaction)
        skipped = browser.post(f"{interaction}/consent", data={
            "decision": "allow", "csrf_token": csrf_token(browser.get("/account").text)})
        assert skipped.headers["location"] == _enrolment(interaction)
        enrolled_at = auth_server.clock()
        enrol_one_time_codes(auth_server, browser, next_page=interaction)
        back = decide(browser, interaction, "allow")
        assert _signed_in(auth_server, confidential_client, back, verifier) == {
            "amr": ["pwd", "otp"], "acr": ACR_MFA, "auth_time": enrolled_at}


@both_backends
def test_max_age_asks_for_a_fresh_sign_in(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    auth_server.clock.freeze()
    patient = auth_server.account()
    with auth_server.http() as browser:
        _connect(auth_server, browser, confidential_client, patient.email)
        auth_server.clock.advance(120)
        recent, _ = begin(browser, confidential_client.id, max_age="120", prompt="none")
        assert recent.headers["location"].startswith("/authorize/resume/")
        stale, _ = begin(browser, confidential_client.id, max_age="119", prompt="none")
        assert query_of(stale.headers["location"])["error"] == "login_required"
        started, verifier = begin(browser, confidential_client.id, max_age="60")
        interaction = started.headers["location"]
        assert 'name="password"' in browser.get(interaction).text
        auth_server.clock.advance(1)
        signed_in_at = auth_server.clock()
        fresh = login(browser, interaction, patient.email, PASSWORD)
        assert fresh.headers["location"].startswith("/authorize/resume/")
        back = browser.get(fresh.headers["location"])
        assert _signed_in(auth_server, confidential_client, back, verifier) == {
            "amr": ["pwd"], "acr": ACR_PASSWORD, "auth_time": signed_in_at}


@pytest.mark.parametrize("params", [
    {"acr_values": "urn:example:gold"},
    {"acr_values": f"{ACR_MFA} urn:example:gold"},
    {"max_age": "-1"},
    {"max_age": "ten"},
    {"max_age": "1e3"},
])
def test_what_cannot_be_honoured_is_invalid_request(
    auth_server: AuthServer, confidential_client: Credentials, params: dict[str, str]
) -> None:
    with auth_server.http() as browser:
        response, _ = begin(browser, confidential_client.id, state="s", **params)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{REDIRECT_URI}?")
    back = query_of(response.headers["location"])
    assert (back["error"], back["state"], back["iss"]) == ("invalid_request", "s", auth_server.url)
    assert back["error_description"] in {
        f"acr_values may only name {ACR_PASSWORD} or {ACR_MFA}.",
        "max_age must be a whole number of seconds.",
    }
