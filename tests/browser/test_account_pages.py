"""The account pages in a real browser: disconnect an app, create a personal access token and
call the MCP server with it, end a session of another browser, and logging in paused after too
many failures."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.flow import introspect, tokens_for
from tests.harness import PASSWORD, AuthServer, Stack
from tests.mcpserver.helpers import call


def _log_in(page: Page, server: AuthServer, email: str) -> None:
    page.goto(f"{server.url}/account")
    expect(page).to_have_url(f"{server.url}/login?next=%2Faccount")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your HospiAI account")).to_be_visible()


def test_disconnect_an_app(page: Page, auth_server: AuthServer, public_client: str) -> None:
    email = auth_server.account().email
    tokens = tokens_for(auth_server, public_client, email)
    _log_in(page, auth_server, email)
    app = page.locator("li.item", has_text="Test Client")
    expect(app).to_contain_text("127.0.0.1")
    expect(app).to_contain_text("See your appointments")
    screenshot(page, "connected-apps")
    app.get_by_role("button", name="Disconnect Test Client").click()
    expect(page.get_by_text("No assistant is connected to your account.")).to_be_visible()
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}


def test_personal_token_calls_the_mcp_server(page: Page, stack: Stack) -> None:
    _log_in(page, stack.auth, stack.auth.account().email)
    page.get_by_label("Name", exact=True).fill("Old assistant")
    page.get_by_label("See hospitals and availability").check()
    page.get_by_label("See your name and contact details").check()
    page.get_by_label("Expires after").fill("7")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your new token").input_value()
    assert token.startswith("hospiai_pat_")
    screenshot(page, "personal-token-created")
    profile = call(stack, token, "get_my_profile", {})
    assert profile.get("isError") is not True, profile
    assert "Alice" in str(profile["structuredContent"])
    hospital = call(stack, token, "get_hospital", {"hospital_id": "lyon-1"})
    assert hospital.get("isError") is not True, hospital
    # Reloading never shows it again.
    page.goto(f"{stack.auth.url}/account")
    expect(page.locator("li.item", has_text="Old assistant")).to_be_visible()
    assert token not in page.content()


def test_see_who_reached_my_health_data(page: Page, stack: Stack) -> None:
    account = stack.auth.account()
    app = stack.auth.client(public=True, name="Le Chat")
    token = tokens_for(stack.auth, app.id, account.email, resource=stack.mcp_url,
                       scope="read:data read:profile")["access_token"]
    call(stack, token, "get_my_profile", {})
    _log_in(page, stack.auth, account.email)
    page.get_by_role("link", name="See every time an app").click()
    expect(page.get_by_role("heading", name="Who reached your health data")).to_be_visible()
    entry = page.locator("li.item")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("You")
    expect(entry).to_contain_text("with Le Chat")
    expect(entry).to_contain_text("read your profile")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "data-access-phone")


def test_end_the_session_of_another_browser(
    page: Page, chromium: Browser, auth_server: AuthServer
) -> None:
    email = auth_server.account().email
    elsewhere = chromium.new_context()
    try:
        other = elsewhere.new_page()
        _log_in(other, auth_server, email)
        _log_in(page, auth_server, email)
        sessions = page.locator("li.item[data-session]")
        expect(sessions).to_have_count(2)
        expect(sessions.first).to_contain_text("Chrome on Linux")
        expect(page.get_by_text("This session", exact=True)).to_have_count(1)
        screenshot(page, "sessions")
        page.get_by_role("button", name="End this session").click()
        expect(sessions).to_have_count(1)
        other.goto(f"{auth_server.url}/account")
        expect(other).to_have_url(f"{auth_server.url}/login?next=%2Faccount")
        page.get_by_role("button", name="Log out here").click()
        expect(page).to_have_url(f"{auth_server.url}/login")
    finally:
        elsewhere.close()


def test_too_many_failed_logins_pause_logging_in(page: Page, auth_server: AuthServer) -> None:
    auth_server.clock.freeze()  # the wait shown is then exactly the default window
    email = auth_server.account().email
    page.goto(f"{auth_server.url}/login")
    for _ in range(auth_server.settings.login_failures_per_account):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("incorrect")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many failed login attempts. For your security, logging in is paused: try again in"
        " 15 minutes.")
    expect(page.get_by_label("Email")).to_have_value(email)
    screenshot(page, "login-throttled")
