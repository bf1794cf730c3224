"""Login and consent in a real browser: allow, deny, remembered consent, prompt=consent, CSRF."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from authserver.provisioning import Credentials
from tests.browser.conftest import Callback, exchange_back, log_in, open_authorize, screenshot
from tests.harness import AuthServer


def test_log_in_and_allow(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    email = auth_server.account().email
    verifier = open_authorize(page, auth_server, public_client, callback)
    expect(page.get_by_role("heading", name="Log in to HospiAI")).to_be_visible()
    screenshot(page, "login")
    log_in(page, email)
    expect(page.get_by_role("heading", name="Allow")).to_contain_text("Test Client")
    expect(page.get_by_text("See hospitals and availability")).to_be_visible()
    screenshot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{callback.uri}**")
    assert callback.params()["iss"] == auth_server.url
    assert exchange_back(auth_server, public_client, callback, verifier) == 200


def test_deny(page: Page, auth_server: AuthServer, public_client: str, callback: Callback) -> None:
    open_authorize(page, auth_server, public_client, callback)
    log_in(page, auth_server.account().email)
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(f"{callback.uri}**")
    assert callback.params()["error"] == "access_denied"


def test_remembered_consent_skips_the_page_and_prompt_consent_shows_it(
    page: Page, auth_server: AuthServer, confidential_client: Credentials, callback: Callback
) -> None:
    # Confidential: a public client answered on this device is always asked (issue 13 item 1,
    # tests/authserver/test_native_impersonation.py).
    client_id = confidential_client.id
    open_authorize(page, auth_server, client_id, callback)
    log_in(page, auth_server.account().email)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{callback.uri}**")
    # Already logged in and allowed: straight back, no page at all.
    verifier = open_authorize(page, auth_server, client_id, callback)
    page.wait_for_url(f"{callback.uri}**")
    assert len(callback.urls) == 2
    exchanged = exchange_back(
        auth_server, client_id, callback, verifier, secret=confidential_client.secret
    )
    assert exchanged == 200
    # prompt=consent asks again, and new scopes are marked.
    open_authorize(page, auth_server, client_id, callback, prompt="consent",
          scope="read:data read:bookings offline_access read:profile")
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    new = page.locator("li.new")
    expect(new).to_have_count(1)
    expect(new).to_contain_text("See your name and contact details")


def test_missing_csrf_token_is_refused(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    open_authorize(page, auth_server, public_client, callback)
    page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    log_in(page, auth_server.account().email)
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    assert not callback.urls
