"""Destructive admin actions ask first (issue 17 item 3): a second page says what will happen;
opening it or cancelling changes nothing, its button does it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.flow import introspect, tokens_for
from tests.harness import PASSWORD, AuthServer


def _admin(page: Page, server: AuthServer) -> None:
    page.goto(f"{server.url}/admin")
    page.get_by_label("Email").fill(server.account("admin").email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_rotating_says_the_mcp_server_answers_503_and_cancel_changes_nothing(
    page: Page, auth_server: AuthServer
) -> None:
    _admin(page, auth_server)
    page.get_by_role("link", name="Rotate credentials MCP").click()
    expect(page.get_by_role("heading", name="Rotate the credentials of MCP?")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("answers 503 until it is configured")
    screenshot(page, "admin-confirm-rotate")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{auth_server.url}/admin")
    # The old secret still works: nothing was rotated.
    assert introspect(auth_server, "hospiai_at_unknown").status_code == 200
    page.get_by_role("link", name="Rotate credentials MCP").click()
    page.get_by_role("button", name="Rotate credentials MCP").click()
    expect(page.get_by_role("heading", name="New resource server credentials")).to_be_visible()
    assert introspect(auth_server, "hospiai_at_unknown").status_code == 401


def test_deleting_a_client_and_revoking_a_grant_ask_first(
    page: Page, auth_server: AuthServer, public_client: str
) -> None:
    email = auth_server.account().email
    tokens = tokens_for(auth_server, public_client, email)
    _admin(page, auth_server)
    page.get_by_role("link", name="Test Client").click()
    page.get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", name=f"Revoke Test Client for {email}?")).to_be_visible()
    assert introspect(auth_server, tokens["access_token"]).json()["active"] is True
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("heading", name="Test Client")).to_be_visible()
    assert introspect(auth_server, tokens["access_token"]).json() == {"active": False}
    page.get_by_role("link", name="Delete Test Client").click()
    expect(page.get_by_role("note")).to_contain_text("cannot be undone")
    screenshot(page, "admin-confirm-delete")
    page.get_by_role("button", name="Delete Test Client").click()
    expect(page.get_by_role("heading", name="HospiAI Connect administration")).to_be_visible()
    assert auth_server.store.client(public_client) is None


def test_disabling_an_account_asks_first(page: Page, auth_server: AuthServer) -> None:
    account = auth_server.account()
    _admin(page, auth_server)
    page.goto(f"{auth_server.url}/admin/accounts/{account.id}")
    page.get_by_role("link", name="Disable account").click()
    expect(page.get_by_role("note")).to_contain_text("logged out everywhere")
    found = auth_server.store.account(account.id)
    assert found is not None and not found.disabled  # opening the page changed nothing
    page.get_by_role("button", name="Disable account").click()
    expect(page.get_by_role("button", name="Enable account")).to_be_visible()
    found = auth_server.store.account(account.id)
    assert found is not None and found.disabled


def test_the_confirmation_pages_are_for_admins_only(page: Page, auth_server: AuthServer) -> None:
    page.goto(f"{auth_server.url}/admin/confirm/resource-servers/{auth_server.resource_server.id}"
              "/rotate")
    page.get_by_label("Email").fill(auth_server.account("staff").email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
