"""Login and consent in a real browser: allow, deny, remembered consent, prompt=consent, CSRF."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, AuthServer
from tests.flow import authorize_params, exchange, pkce_pair, query_of


class Callback:
    """The assistant's loopback redirect URI (any port, RFC 8252): a real listener whose
    address the browser comes back to, and the test reads the result from."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                if not self.path.startswith("/callback?"):
                    self.send_error(404)  # the browser's favicon request
                    return
                callback.urls.append(f"{callback.uri}{self.path.removeprefix('/callback')}")
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"back at the assistant")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self._server.server_address[1]}/callback"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def params(self) -> dict[str, str]:
        assert self.urls, "the browser never came back to the assistant"
        return query_of(self.urls[-1])


@pytest.fixture
def callback() -> Iterator[Callback]:
    listener = Callback()
    yield listener
    listener.close()


def _open(page: Page, server: AuthServer, client_id: str, callback: Callback, **extra: str) -> str:
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, redirect_uri=callback.uri, **extra)
    page.goto(f"{server.url}/authorize?{urlencode(params)}")
    return verifier


def _exchange(server: AuthServer, client_id: str, callback: Callback, verifier: str) -> int:
    code = callback.params()["code"]
    return exchange(server, client_id, code, verifier, redirect_uri=callback.uri).status_code


def _log_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_log_in_and_allow(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    email = auth_server.account().email
    verifier = _open(page, auth_server, public_client, callback)
    expect(page.get_by_role("heading", name="Log in to HospiAI")).to_be_visible()
    screenshot(page, "login")
    _log_in(page, email)
    expect(page.get_by_role("heading", name="Allow")).to_contain_text("Test Client")
    expect(page.get_by_text("See hospitals and availability")).to_be_visible()
    screenshot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{callback.uri}**")
    assert callback.params()["iss"] == auth_server.url
    assert _exchange(auth_server, public_client, callback, verifier) == 200


def test_deny(page: Page, auth_server: AuthServer, public_client: str, callback: Callback) -> None:
    _open(page, auth_server, public_client, callback)
    _log_in(page, auth_server.account().email)
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(f"{callback.uri}**")
    assert callback.params()["error"] == "access_denied"


def test_remembered_consent_skips_the_page_and_prompt_consent_shows_it(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    _open(page, auth_server, public_client, callback)
    _log_in(page, auth_server.account().email)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{callback.uri}**")
    # Already logged in and allowed: straight back, no page at all.
    verifier = _open(page, auth_server, public_client, callback)
    page.wait_for_url(f"{callback.uri}**")
    assert len(callback.urls) == 2
    assert _exchange(auth_server, public_client, callback, verifier) == 200
    # prompt=consent asks again, and new scopes are marked.
    _open(page, auth_server, public_client, callback, prompt="consent",
          scope="read:data read:bookings offline_access read:profile")
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    new = page.locator("li.new")
    expect(new).to_have_count(1)
    expect(new).to_contain_text("See your name and contact details")


def test_missing_csrf_token_is_refused(
    page: Page, auth_server: AuthServer, public_client: str, callback: Callback
) -> None:
    _open(page, auth_server, public_client, callback)
    page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    _log_in(page, auth_server.account().email)
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    assert not callback.urls
