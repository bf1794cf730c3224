"""A native application's consent in a real browser: the page says the answer goes to an
application on this device, naming its scheme, and Allow sends the browser to cursor://."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.flow import authorize_params, exchange, pkce_pair, query_of
from tests.harness import AuthServer
from tests.native import CURSOR_CALLBACK, CURSOR_REGISTRATION


def test_cursor_consent_names_the_application_on_this_device(
    page: Page, auth_server: AuthServer
) -> None:
    with auth_server.http() as http:
        client_id = http.post("/register", json=CURSOR_REGISTRATION).json()["client_id"]
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, redirect_uri=CURSOR_CALLBACK)
    page.goto(f"{auth_server.url}/authorize?{urlencode(params)}")
    log_in(page, auth_server.account().email)
    expect(page.get_by_role("heading", name="Allow")).to_contain_text("Cursor")
    destination = page.get_by_text("the answer goes to an application on this device")
    expect(destination).to_be_visible()
    expect(destination).to_contain_text("cursor: links")
    expect(page.get_by_role("note")).to_contain_text("runs on your own computer")
    expect(page.get_by_text("anysphere.cursor-mcp")).to_have_count(0)
    screenshot(page, "consent-private-use-scheme")
    # The browser hands cursor:// to the operating system; the redirect is what it was told.
    with page.expect_response(lambda response: "/authorize/resume/" in response.url) as back:
        page.get_by_role("button", name="Allow").click()
    location = back.value.headers["location"]
    assert location.startswith(CURSOR_CALLBACK + "?"), location
    answer = query_of(location)
    assert answer["iss"] == auth_server.url and answer["state"] == params["state"]
    token = exchange(
        auth_server, client_id, answer["code"], verifier, redirect_uri=CURSOR_CALLBACK
    )
    assert token.status_code == 200, token.text
