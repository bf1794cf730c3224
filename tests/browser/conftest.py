"""A real headless browser: Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.flow import authorize_params, exchange, pkce_pair, query_of
from tests.harness import PASSWORD, AuthServer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Git-ignored; the screenshots are for people to look at.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, and later tests call asyncio.run().
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies) per test, phone-sized as consent pages often are."""
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class Callback:
    """The assistant's loopback redirect URI (any port, RFC 8252): a real listener whose
    address the browser comes back to, and the test reads the result from."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
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


def open_authorize(
    page: Page, server: AuthServer, client_id: str, callback: Callback, **extra: str
) -> str:
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, redirect_uri=callback.uri, **extra)
    page.goto(f"{server.url}/authorize?{urlencode(params)}")
    return verifier


def exchange_back(
    server: AuthServer, client_id: str, callback: Callback, verifier: str,
    secret: str | None = None,
) -> int:
    code = callback.params()["code"]
    return exchange(
        server, client_id, code, verifier, secret=secret, redirect_uri=callback.uri
    ).status_code


def log_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
