"""How the user signed in (issue 15 item 3): amr and auth_time recorded on the login session,
the interaction it decides and the grant, and returned by introspection with the acr they
amount to (urn:hospiai:acr:password, urn:hospiai:acr:mfa), through refreshes too."""

from __future__ import annotations

from typing import Any

import pyotp

from authserver.provisioning import Credentials
from tests.databases import both_backends
from tests.flow import (
    begin,
    create_personal_token,
    csrf_token,
    decide,
    enrol_one_time_codes,
    exchange,
    introspect,
    logged_in,
    login,
    new_personal_token,
    query_of,
    refresh,
    tokens_for,
)
from tests.harness import PASSWORD, AuthServer

pytestmark = both_backends
STEP = 30


def _context(server: AuthServer, access_token: str) -> dict[str, Any]:
    info = introspect(server, access_token).json()
    assert info["active"] is True, info
    return {key: info.get(key) for key in ("amr", "acr", "auth_time")}


def _with_code(server: AuthServer, client_id: str, email: str, totp: pyotp.TOTP) -> dict[str, Any]:
    """The whole flow with the second step between the password and consent."""
    with server.http() as browser:
        started, verifier = begin(browser, client_id)
        interaction = started.headers["location"]
        second_step = login(browser, interaction, email, PASSWORD).headers["location"]
        page = browser.get(second_step)
        browser.post(second_step, data={
            "code": totp.at(server.clock()), "csrf_token": csrf_token(page.text)})
        back = decide(browser, interaction, "allow")
    response = exchange(server, client_id, query_of(back.headers["location"])["code"], verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_password_sign_in_is_pwd_and_acr_password(
    auth_server: AuthServer, public_client: str
) -> None:
    auth_server.clock.freeze()
    signed_in_at = auth_server.clock()
    account = auth_server.account()
    tokens = tokens_for(auth_server, public_client, account.email)
    assert _context(auth_server, tokens["access_token"]) == {
        "amr": ["pwd"], "acr": "urn:hospiai:acr:password", "auth_time": signed_in_at,
    }


def test_a_sign_in_with_a_code_is_mfa_and_refreshes_keep_it(
    auth_server: AuthServer, public_client: str
) -> None:
    auth_server.clock.freeze()
    account = auth_server.account("staff")
    with logged_in(auth_server, account.email) as browser:
        totp, _codes = enrol_one_time_codes(auth_server, browser)
    auth_server.clock.advance(STEP)
    second_step_at = auth_server.clock()
    tokens = _with_code(auth_server, public_client, account.email, totp)
    mfa = {"amr": ["pwd", "otp"], "acr": "urn:hospiai:acr:mfa", "auth_time": second_step_at}
    assert _context(auth_server, tokens["access_token"]) == mfa
    auth_server.clock.advance(600)
    refreshed = refresh(auth_server, public_client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    # auth_time stays when the user signed in, not when the token was refreshed.
    assert _context(auth_server, refreshed.json()["access_token"]) == mfa


def test_remembered_consent_carries_the_sessions_context(
    auth_server: AuthServer, confidential_client: Credentials
) -> None:
    auth_server.clock.freeze()
    account, client_id = auth_server.account(), confidential_client.id
    signed_in_at = auth_server.clock()
    with auth_server.http() as browser:
        started, _verifier = begin(browser, client_id)
        interaction = started.headers["location"]
        login(browser, interaction, account.email, PASSWORD)
        decide(browser, interaction, "allow")
        auth_server.clock.advance(120)
        # Logged in, everything allowed before: straight to a code, no page.
        again, verifier = begin(browser, client_id)
        assert again.headers["location"].startswith("/authorize/resume/")
        back = browser.get(again.headers["location"])
    response = exchange(auth_server, client_id, query_of(back.headers["location"])["code"],
                        verifier, secret=confidential_client.secret)
    assert _context(auth_server, response.json()["access_token"]) == {
        "amr": ["pwd"], "acr": "urn:hospiai:acr:password", "auth_time": signed_in_at,
    }


def test_a_personal_token_names_no_sign_in(auth_server: AuthServer) -> None:
    account = auth_server.account()
    with logged_in(auth_server, account.email) as browser:
        token = new_personal_token(create_personal_token(browser, auth_server))
    assert _context(auth_server, token) == {"amr": None, "acr": None, "auth_time": None}
