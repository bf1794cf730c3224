"""Passkeys in the real Chromium with its virtual authenticator (CDP WebAuthn domain, issue 15):
register one on the account pages, sign in with it instead of a password (on /login and in an
authorization), use it as the second step after a password, remove it; the last factor a role
requires stays; a replayed or foreign challenge, a cloned authenticator's count and a disabled
account's passkey sign nobody in. The issuer is http://localhost:<port>: a relying party id
cannot be an IP address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, CDPSession, Page, Route, expect

from authserver.models import AuditEvent
from tests.browser.conftest import Callback, screenshot
from tests.databases import Databases, both_backends
from tests.flow import authorize_params, csrf_token, introspect, pkce_pair
from tests.harness import PASSWORD, AuthServer, start_auth_server

STAFF = frozenset({"staff", "admin"})


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(databases, host="localhost", mfa_roles=STAFF) as started:
        yield started


def authenticator(page: Page, *, verifies_user: bool = True) -> CDPSession:
    """Chromium's virtual platform authenticator on this page: discoverable credentials, a
    user always present, and (``verifies_user``) a PIN or biometric check that passes."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": verifies_user, "isUserVerified": verifies_user,
        "automaticPresenceSimulation": True,
    }})
    return cdp


def password_login(page: Page, server: AuthServer, email: str, path: str = "/account") -> None:
    page.goto(f"{server.settings.issuer}{path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def add_passkey(page: Page, server: AuthServer, name: str, *, shot: str | None = None) -> None:
    """From the account page: the enrolment page, a name, the ceremony, back at the account."""
    page.goto(f"{server.settings.issuer}/account")
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    page.get_by_label("Name it").fill(name)
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("li.item[data-passkey-id]", has_text=name)).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").first.click()
    expect(page.get_by_role("heading", name="Log in to HospiAI")).to_be_visible()


def events(server: AuthServer, event: str, actor: str) -> list[AuditEvent]:
    return server.store.audit_events(event=event, actor=actor, limit=50)


def session_amr(server: AuthServer, account_id: str) -> list[str]:
    return [row.amr for row in server.store.account_sessions(account_id, server.clock())]


@both_backends
def test_register_sign_in_with_and_remove_a_passkey(page: Page, server: AuthServer) -> None:
    account = server.account()
    authenticator(page)
    password_login(page, server, account.email)
    add_passkey(page, server, "Test laptop", shot="passkey-enrolment-phone")
    page.locator("#passkeys").scroll_into_view_if_needed()
    screenshot(page, "passkeys-on-account-phone")
    [passkey] = server.store.passkeys(account.id)
    assert passkey.name == "Test laptop" and passkey.device_type == "single_device"
    assert events(server, "factor.enrolled", account.id)[0].detail["factor"] == "passkey"
    log_out(page)
    # No email, no password: the passkey names its account (a discoverable credential).
    screenshot(page, "passkey-sign-in-phone")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
    assert session_amr(server, account.id) == ["hwk user mfa"]
    used = server.store.passkeys(account.id)[0]
    assert used.last_used_at is not None and used.sign_count > passkey.sign_count
    expect(page.locator("li.item[data-passkey-id]")).to_contain_text("last used")
    page.get_by_role("button", name="Remove Test laptop").click()
    expect(page.get_by_text("No passkey yet.")).to_be_visible()
    assert server.store.passkeys(account.id) == []
    assert events(server, "factor.removed", account.id)


def test_sign_in_with_a_passkey_to_authorize_an_assistant(
    page: Page, server: AuthServer, callback: Callback
) -> None:
    account = server.account()
    client_id = server.client(public=True, name="Le Chat").id
    authenticator(page)
    password_login(page, server, account.email)
    add_passkey(page, server, "Phone")
    log_out(page)
    verifier, challenge = pkce_pair()
    # The client asks for two factors (RFC 9470 acr_values): a passkey that verifies its user
    # is both, so no second step follows.
    params = authorize_params(
        client_id, challenge, redirect_uri=callback.uri, acr_values="urn:hospiai:acr:mfa"
    )
    page.goto(f"{server.settings.issuer}/authorize?{urlencode(params)}")
    expect(page.get_by_text("Le Chat is asking to connect")).to_be_visible()
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_have_count(0)
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text("back at the assistant")).to_be_visible()
    code = callback.params()["code"]
    with server.http() as client:
        tokens = client.post("/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": client_id,
            "redirect_uri": callback.uri, "code_verifier": verifier,
        }).json()
    claims = introspect(server, tokens["access_token"]).json()
    # A passkey that verified its user is two factors by itself (RFC 8176 "mfa").
    assert claims["amr"] == ["hwk", "user", "mfa"]
    assert claims["acr"] == "urn:hospiai:acr:mfa"


def test_a_passkey_as_the_second_step_and_the_last_factor_stays(
    page: Page, server: AuthServer
) -> None:
    staff = server.account("staff")
    authenticator(page)
    password_login(page, server, staff.email)
    # The role requires a second factor: enrolment offers a passkey beside the app.
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    page.get_by_role("link", name="add a passkey").click()
    expect(page.get_by_role("status")).to_contain_text("requires two-step sign-in")
    page.get_by_label("Name it").fill("Security key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
    log_out(page)
    password_login(page, server, staff.email)
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    # Only a passkey: the account has no authenticator app, so no code is asked for.
    expect(page.get_by_label("Code")).to_have_count(0)
    screenshot(page, "passkey-second-step-phone")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
    assert session_amr(server, staff.id) == ["pwd hwk user mfa"]
    # Its only factor: removing it would lock the account out of everything its role is for.
    page.get_by_role("button", name="Remove Security key").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is required")).to_be_visible()
    assert len(server.store.passkeys(staff.id)) == 1
    # With an authenticator app as well, the passkey is no longer the last factor.
    page.goto(f"{server.settings.issuer}/account")
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.locator("#secret").inner_text()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(server.clock()))
    page.get_by_role("button", name="Turn on").click()
    page.goto(f"{server.settings.issuer}/account")
    page.get_by_role("button", name="Remove Security key").click()
    expect(page.get_by_text("No passkey yet.")).to_be_visible()
    assert server.store.passkeys(staff.id) == []


def test_one_time_code_pages_at_phone_width(page: Page, server: AuthServer) -> None:
    staff = server.account("staff")
    password_login(page, server, staff.email)
    screenshot(page, "one-time-codes-choice-phone")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    screenshot(page, "one-time-codes-enrolment-phone")
    totp = pyotp.TOTP(page.locator("#secret").inner_text())
    page.get_by_label("Code").fill(totp.at(server.clock()))
    page.get_by_role("button", name="Turn on").click()
    screenshot(page, "recovery-codes-phone")
    server.clock.advance(30)  # the next code: the one just used is spent
    page.goto(f"{server.settings.issuer}/account")
    log_out(page)
    password_login(page, server, staff.email)
    expect(page.get_by_label("Code")).to_be_visible()
    # No passkey on the account: the page has no passkey form, and no script.
    expect(page.locator("script")).to_have_count(0)
    screenshot(page, "one-time-codes-sign-in-phone")
    page.get_by_label("Code").fill(totp.at(server.clock()))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()


def _registered(page: Page, server: AuthServer) -> str:
    """A patient with a passkey on this page's authenticator, logged out: the account id."""
    account = server.account()
    authenticator(page)
    password_login(page, server, account.email)
    add_passkey(page, server, "Laptop")
    log_out(page)
    return account.id


def _captured_sign_in(page: Page) -> str:
    """Click "Sign in with a passkey" and keep the form the browser posts from reaching the
    server: its body (the credential answering this browser's challenge)."""
    bodies: list[str] = []

    def capture(route: Route) -> None:
        if route.request.method == "POST":
            bodies.append(route.request.post_data or "")
            route.abort()
        else:
            route.continue_()

    page.route(re.compile(r".*/login\?next=.*"), capture)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_timeout(100)
    for _ in range(50):
        if bodies:
            break
        page.wait_for_timeout(100)
    page.unroute(re.compile(r".*/login\?next=.*"))
    assert bodies, "the browser posted no credential"
    return bodies[0]


def _cookies(page: Page) -> dict[str, str]:
    return {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}


def _post_login(server: AuthServer, cookies: dict[str, str], body: str) -> httpx.Response:
    with httpx.Client(base_url=server.settings.issuer, cookies=cookies, timeout=10) as browser:
        return browser.post("/login?next=%2Faccount", content=body, headers={
            "content-type": "application/x-www-form-urlencoded",
        })


def test_a_replayed_challenge_signs_nobody_in(page: Page, server: AuthServer) -> None:
    account_id = _registered(page, server)
    body = _captured_sign_in(page)
    cookies = _cookies(page)
    first = _post_login(server, cookies, body)
    assert first.status_code == 303 and first.headers["location"] == "/account"
    # The stored count put back to 0, as an authenticator that counts nothing reports
    # (WebAuthn 6.1.1): only the challenge's single use is left to refuse the same answer.
    [passkey] = server.store.passkeys(account_id)
    assert server.store.passkey_used(passkey.id, passkey.sign_count, 0, server.clock())
    again = _post_login(server, cookies, body)
    assert again.status_code == 401 and "passkey was not accepted" in again.text
    assert "hospiai_session=" not in again.headers.get("set-cookie", "")
    failed = events(server, "passkey.failed", account_id)
    assert [event.detail["reason"] for event in failed] == ["challenge"]


def test_a_challenge_of_another_browser_signs_nobody_in(
    page: Page, server: AuthServer, chromium: Browser
) -> None:
    account_id = _registered(page, server)
    body = _captured_sign_in(page)
    mine = _cookies(page)
    # Another browser, with this one's challenge cookie (planted, or copied): its own browser
    # id and CSRF token, this browser's challenge and answer.
    with httpx.Client(base_url=server.settings.issuer, timeout=10) as other:
        login_page = other.get(other.get("/login?next=%2Faccount").headers["location"])
        theirs = dict(other.cookies.items())
    fields = dict(pair.split("=", 1) for pair in body.split("&"))
    fields["csrf_token"] = csrf_token(login_page.text)
    challenge = {name: value for name, value in mine.items() if "passkey" in name}
    assert challenge, "no challenge cookie"
    planted = _post_login(server, {**theirs, **challenge}, "&".join(
        f"{name}={value}" for name, value in fields.items()))
    assert planted.status_code == 401
    assert events(server, "passkey.failed", account_id)
    # The answer itself was good: in the browser it was issued to, it signs in.
    assert _post_login(server, mine, body).status_code == 303


def test_a_cloned_authenticator_and_a_disabled_account_sign_nobody_in(
    page: Page, server: AuthServer
) -> None:
    account_id = _registered(page, server)
    [passkey] = server.store.passkeys(account_id)
    # The count moved past what this authenticator will report: another copy of the key.
    assert server.store.passkey_used(passkey.id, passkey.sign_count, 1000, server.clock())
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("That passkey was not accepted")
    assert events(server, "passkey.failed", account_id)[0].detail["reason"] == "assertion"
    assert server.store.passkey_used(passkey.id, 1000, 0, server.clock())
    server.store.set_account_disabled(account_id, True, server.clock())
    page.goto(f"{server.settings.issuer}/login")  # no alert left from the attempt before
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("That passkey was not accepted")
    # A disabled account's passkey is no passkey at all.
    last = server.store.audit_events(event="passkey.failed", limit=1)[0]
    assert last.detail["reason"] == "unknown passkey" and last.actor is None
    assert session_amr(server, account_id) == []


def test_staff_passkeys_must_verify_their_user(page: Page, server: AuthServer) -> None:
    staff = server.account("staff")
    authenticator(page, verifies_user=False)
    password_login(page, server, staff.email)
    page.get_by_role("link", name="add a passkey").click()
    page.get_by_label("Name it").fill("Old key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("[data-passkey-error]")).to_contain_text("No passkey was used")
    assert server.store.passkeys(staff.id) == []


def test_a_patient_passkey_without_user_verification_counts_as_one_factor(
    page: Page, server: AuthServer
) -> None:
    account = server.account()
    authenticator(page, verifies_user=False)
    password_login(page, server, account.email)
    add_passkey(page, server, "Key")
    log_out(page)
    # Having a passkey, the account gives it after its password: two factors, though the
    # passkey alone (no PIN or biometric) would be one.
    password_login(page, server, account.email)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
    assert session_amr(server, account.id) == ["pwd hwk user"]


def test_a_browser_without_passkeys_says_so_and_logs_in_with_a_password(
    chromium: Browser, server: AuthServer
) -> None:
    email = server.account().email
    for scripts, note in (
        (False, "Passkeys need JavaScript"), (True, "This browser cannot use passkeys"),
    ):
        context = chromium.new_context(
            viewport={"width": 390, "height": 844}, java_script_enabled=scripts
        )
        try:
            page = context.new_page()
            if scripts:
                # A browser without WebAuthn: the script finds no PublicKeyCredential.
                page.add_init_script("delete window.PublicKeyCredential")
            page.goto(f"{server.settings.issuer}/login")
            expect(page.get_by_text(note)).to_be_visible()
            expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
        finally:
            context.close()


def test_only_the_pages_that_offer_a_passkey_run_a_script(server: AuthServer) -> None:
    with httpx.Client(base_url=server.settings.issuer, timeout=10) as browser:
        login_page = browser.get(browser.get("/login").headers["location"])
        policy = login_page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert login_page.headers.get_list("content-security-policy") == [policy]
        assert re.findall(r"<script[^>]*>", login_page.text) == [
            '<script src="/static/passkeys.js" defer>'
        ]
        assert "unsafe" not in policy
        script = browser.get("/static/passkeys.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert "script-src" not in script.headers["content-security-policy"]
        # The account page lists and removes passkeys with plain forms: no script there.
        browser.post("/login?next=%2Faccount", data={
            "email": server.account().email, "password": PASSWORD,
            "csrf_token": csrf_token(login_page.text),
        })
        account = browser.get("/account")
        assert account.status_code == 200 and "Add a passkey" in account.text
        assert "script-src" not in account.headers["content-security-policy"]
        assert "<script" not in account.text
