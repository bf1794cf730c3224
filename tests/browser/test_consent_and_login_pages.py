"""What the login and consent pages say (issue 17 item 2): the application that asked, what to
do about a forgotten password, no permission the account cannot hold, no jargon, the service
by its name, and the redirect host whole on a phone."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import Callback, log_in, open_authorize, screenshot
from tests.databases import Databases
from tests.harness import PASSWORD, AuthServer, start_auth_server

ASKED = "read:data write:data offline_access"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def test_a_patient_sees_only_what_it_may_hold_in_plain_words(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    open_authorize(page, auth_server, public_client, callback, scope=ASKED)
    expect(page.get_by_text("Test Client is asking to connect to your HospiAI account.")
           ).to_be_visible()
    # Not configured: the login page says nothing about it.
    expect(page.get_by_text("Forgot your password?")).to_have_count(0)
    log_in(page, auth_server.account().email)
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    body = page.locator("main")
    expect(body).not_to_contain_text("Update hospital status")
    expect(body).not_to_contain_text("staff")
    expect(body).not_to_contain_text("refresh token")
    expect(body).to_contain_text("Stay connected")
    expect(body).to_contain_text("keeps working without asking you to log in again")
    # The service by the name it was registered with (tests.harness: "MCP"), not its URL.
    expect(page.get_by_role("heading", name="On MCP, it will be able to:")).to_be_visible()
    expect(body).not_to_contain_text(auth_server.resource)
    screenshot(page, "consent-patient")
    # The host is on one line at every phone width: it moves to the next line whole, wherever
    # the sentence before it ends.
    host = page.locator("strong.host")
    expect(host).to_have_text(callback.uri.split("/")[2])
    for width in range(320, 481, 4):
        page.set_viewport_size({"width": width, "height": 844})
        lines = host.evaluate("element => element.getClientRects().length")
        assert lines == 1, f"the host is cut over {lines} lines at {width} px"


def test_staff_see_the_staff_permission(
    chromium: Browser, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        open_authorize(page, auth_server, public_client, callback, scope=ASKED)
        screenshot(page, "login-for-an-application-desktop")
        log_in(page, auth_server.account("staff").email)
        expect(page.locator("main")).to_contain_text("Update hospital status (staff)")
        screenshot(page, "consent-staff-desktop")
    finally:
        context.close()


def test_the_login_page_links_to_the_password_reset_page_when_there_is_one(
    page: Page, databases: Databases
) -> None:
    reset = "https://www.hospiai.example/forgot-password"
    with start_auth_server(databases, password_reset_url=reset) as server:
        page.goto(f"{server.url}/login")
        link = page.get_by_role("link", name="Choose a new one on HospiAI")
        expect(link).to_have_attribute("href", reset)
        expect(page.get_by_text("Forgot your password?")).to_be_visible()
        screenshot(page, "login-with-password-reset")


def test_the_personal_token_form_names_services_by_name(
    page: Page, auth_server: AuthServer
) -> None:
    page.goto(f"{auth_server.url}/account")
    page.get_by_label("Email").fill(auth_server.account().email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    options = page.get_by_label("Service").locator("option")
    expect(options).to_have_text(["MCP"])
    expect(options).to_have_attribute("value", auth_server.resource)
