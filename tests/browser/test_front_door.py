"""The front door (GET /) in a real browser, anonymous, as a patient and as an admin; and a
patient who opens the admin console is sent on to the account page."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import log_in, screenshot
from tests.harness import AuthServer

DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def test_the_front_door_says_what_it_is_and_leads_to_the_account_page(
    page: Page, auth_server: AuthServer
) -> None:
    page.goto(auth_server.url)
    expect(page.get_by_role("heading", name="HospiAI Connect", exact=True)).to_be_visible()
    expect(page.get_by_text("Connect your AI assistant")).to_be_visible()
    # The connector URL a person pastes into an assistant.
    expect(page.locator("code.connector")).to_have_text(auth_server.resource)
    expect(page.get_by_role("link", name="Admin console")).to_have_count(0)
    screenshot(page, "front-door")
    page.get_by_role("link", name="Log in").click()
    log_in(page, auth_server.account().email)
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
    page.goto(auth_server.url)
    expect(page.get_by_text("Logged in as")).to_be_visible()
    expect(page.get_by_role("link", name="Your account")).to_have_attribute("href", "/account")
    # A patient is not shown the console.
    expect(page.get_by_role("link", name="Admin console")).to_have_count(0)
    screenshot(page, "front-door-logged-in")


def test_an_admin_is_shown_the_console(chromium: Browser, auth_server: AuthServer) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{auth_server.url}/login")
        log_in(page, auth_server.account("admin").email)
        page.goto(auth_server.url)
        page.get_by_role("link", name="Admin console").click()
        expect(
            page.get_by_role("heading", name="HospiAI Connect administration")
        ).to_be_visible()
        page.goto(auth_server.url)
        screenshot(page, "front-door-admin-desktop")
    finally:
        context.close()


def test_a_patient_who_opens_the_console_gets_a_link_to_the_account_page(
    page: Page, auth_server: AuthServer
) -> None:
    page.goto(f"{auth_server.url}/admin")
    log_in(page, auth_server.account().email)
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    expect(page.get_by_text("go back to your assistant")).to_have_count(0)
    screenshot(page, "admin-refused")
    page.get_by_role("link", name="Go to your account page").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()
