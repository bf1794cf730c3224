"""The passkey endpoints without a browser's authenticator (issue 15): the options each
ceremony starts with (relying party, user verification by role, discoverable credentials,
a challenge cookie), none where the issuer cannot be a relying party, and every malformed
answer refused as a page, never an error 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from authserver.models import Passkey
from authserver.web.passkey_challenges import CHALLENGE_SECONDS
from shared.authentication import ACR_MFA, ACR_PASSWORD, acr_of
from tests.databases import Databases
from tests.flow import csrf_token, logged_in
from tests.harness import PASSWORD, AuthServer, start_auth_server

MALFORMED = [
    "", "null", "[]", "{}", '{"id": 1}', "[" * 5_000 + "]" * 5_000, "x" * 40_000,
    '{"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "!!",'
    ' "authenticatorData": "AA", "signature": "AA"}}',
]


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(
        databases, host="localhost", mfa_roles=frozenset({"staff", "admin"})
    ) as started:
        yield started


def _login_page(browser: httpx.Client) -> str:
    first = browser.get("/login", params={"next": "/account"})
    return browser.get(first.headers["location"]).text


def test_sign_in_options_are_for_any_passkey_of_the_issuer(server: AuthServer) -> None:
    with httpx.Client(base_url=server.settings.issuer, timeout=10) as browser:
        token = csrf_token(_login_page(browser))
        assert browser.post("/login/passkey/options", data={}).status_code == 403
        answer = browser.post("/login/passkey/options", data={"csrf_token": token})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    options = answer.json()
    assert options["rpId"] == "localhost" and options["allowCredentials"] == []
    assert options["userVerification"] == "preferred" and len(options["challenge"]) >= 43
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("hospiai_passkey_sign_in=") and "HttpOnly" in cookie
    assert f"Max-Age={CHALLENGE_SECONDS}" in cookie


def test_registration_options_require_user_verification_of_staff(server: AuthServer) -> None:
    for role, verification in (("staff", "required"), ("patient", "preferred")):
        account = server.account(role)
        with httpx.Client(base_url=server.settings.issuer, timeout=10) as browser:
            browser.post("/login?next=%2Faccount", data={
                "email": account.email, "password": PASSWORD,
                "csrf_token": csrf_token(_login_page(browser)),
            })
            token = csrf_token(browser.get("/account/passkeys").text)
            options = browser.post("/account/passkeys/options", data={"csrf_token": token}).json()
        selection = options["authenticatorSelection"]
        assert selection["userVerification"] == verification
        assert selection["residentKey"] == "required"
        assert options["rp"] == {"id": "localhost", "name": "HospiAI"}
        # The account's random id, never its email, is the user handle.
        assert account.email not in options["user"]["id"]


def test_no_second_step_options_without_a_right_password(server: AuthServer) -> None:
    with httpx.Client(base_url=server.settings.issuer, timeout=10) as browser:
        token = csrf_token(_login_page(browser))
        answer = browser.post("/login/code/passkey-options", data={"csrf_token": token})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_no_passkeys_where_the_issuer_is_an_ip_address(auth_server: AuthServer) -> None:
    with auth_server.http() as browser:
        page = _login_page(browser)
        assert "passkey" not in page and "<script" not in page
        answer = browser.post("/login/passkey/options", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 404


@pytest.mark.parametrize("credential", MALFORMED)
def test_a_malformed_passkey_answer_is_refused_as_a_page(
    server: AuthServer, credential: str
) -> None:
    with httpx.Client(base_url=server.settings.issuer, timeout=10) as browser:
        token = csrf_token(_login_page(browser))
        browser.post("/login/passkey/options", data={"csrf_token": token})
        answer = browser.post("/login?next=%2Faccount", data={
            "csrf_token": token, "credential": credential,
        })
    assert answer.status_code == 401 and "passkey was not accepted" in answer.text
    assert server.store.audit_events(event="passkey.failed", limit=1)


def test_a_malformed_registration_is_refused_and_audited(server: AuthServer) -> None:
    account = server.account()
    with logged_in(server, account.email) as browser:
        token = csrf_token(browser.get("/account/passkeys").text)
        browser.post("/account/passkeys/options", data={"csrf_token": token})
        answer = browser.post("/account/passkeys", data={
            "csrf_token": token, "name": "Key", "credential": MALFORMED[-1],
        })
    assert answer.status_code == 400 and "passkey was not added" in answer.text
    assert server.store.audit_events(event="factor.enrolment_failed", actor=account.id)
    assert server.store.passkeys(account.id) == []


@pytest.mark.parametrize(("amr", "acr"), [
    (["pwd"], ACR_PASSWORD), (["hwk", "user"], ACR_PASSWORD), (["swk", "user"], ACR_PASSWORD),
    (["pwd", "otp"], ACR_MFA), (["pwd", "hwk", "user"], ACR_MFA),
    (["hwk", "user", "mfa"], ACR_MFA), (["pwd", "user"], ACR_PASSWORD),
])
def test_the_level_of_a_sign_in(amr: list[str], acr: str) -> None:
    assert acr_of(amr) == acr


def test_failed_passkey_sign_ins_are_throttled_per_account(server: AuthServer) -> None:
    account = server.account()
    credential_id = b"credential-of-the-account"
    server.store.add_passkey(Passkey(
        id="pk_throttled", account_id=account.id, credential_id=credential_id,
        public_key=b"public-key", name="Key", device_type="single_device",
        created_at=server.clock(),
    ))
    named = base64.urlsafe_b64encode(credential_id).decode().rstrip("=")
    forged = json.dumps({"id": named, "rawId": named, "type": "public-key", "response": {
        "clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"}})
    with httpx.Client(base_url=server.settings.issuer, timeout=10) as browser:
        token = csrf_token(_login_page(browser))
        for _ in range(server.settings.login_failures_per_account):
            browser.post("/login/passkey/options", data={"csrf_token": token})
            failed = browser.post("/login?next=%2Faccount", data={
                "csrf_token": token, "credential": forged})
            assert failed.status_code == 401
        paused = browser.post("/login?next=%2Faccount", data={
            "csrf_token": token, "credential": forged})
    assert paused.status_code == 429 and "Retry-After" in paused.headers
    assert "logging in is paused" in paused.text
    [event] = server.store.audit_events(event="login.throttled", actor=account.id)
    assert event.detail["method"] == "passkey"
    assert len(server.store.audit_events(event="passkey.failed", actor=account.id)) == (
        server.settings.login_failures_per_account
    )
