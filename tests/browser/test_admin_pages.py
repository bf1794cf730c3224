"""The admin console in a real browser: block a client, admin consent, non-admins refused."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from authserver.provisioning import Credentials
from tests.browser.conftest import Callback, log_in, open_authorize, screenshot
from tests.harness import PASSWORD, AuthServer


def _admin_login(page: Page, server: AuthServer, email: str) -> None:
    page.goto(f"{server.url}/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_admin_blocks_a_client_and_it_is_refused(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    _admin_login(page, auth_server, auth_server.account("admin").email)
    expect(page.get_by_role("heading", name="HospiAI Connect administration")).to_be_visible()
    screenshot(page, "admin")
    page.get_by_role("link", name="Test Client").click()
    page.get_by_role("link", name="Block Test Client").click()
    # The second page says what will happen (issue 17 item 3), then its button blocks.
    expect(page.get_by_role("note")).to_contain_text("its tokens stop working")
    screenshot(page, "admin-confirm-block")
    page.get_by_role("button", name="Block Test Client").click()
    expect(page.get_by_text("Blocked: its authorization requests are refused")).to_be_visible()
    open_authorize(page, auth_server, public_client, callback)
    expect(page.get_by_role("heading", name="This application has been blocked")).to_be_visible()
    assert not callback.urls


def test_admin_consent_and_the_user_is_not_asked(
    page: Page, auth_server: AuthServer, confidential_client: Credentials, callback: Callback
) -> None:
    # Confidential: admin consent does not spare the click to a public client answered on this
    # device (issue 13 item 1, tests/authserver/test_native_impersonation.py).
    client_id = confidential_client.id
    _admin_login(page, auth_server, auth_server.account("admin").email)
    page.goto(f"{auth_server.url}/admin/clients/{client_id}")
    for text in ("See hospitals and availability", "See your appointments", "Stay connected"):
        page.get_by_label(text).check()
    page.get_by_role("button", name="Save admin consent").click()
    page.context.clear_cookies()  # now the user, in a fresh session
    open_authorize(page, auth_server, client_id, callback)
    log_in(page, auth_server.account().email)
    page.wait_for_url(f"{callback.uri}**")
    assert "code" in callback.params()


def test_a_non_admin_is_refused(page: Page, auth_server: AuthServer) -> None:
    _admin_login(page, auth_server, auth_server.account("staff").email)
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
