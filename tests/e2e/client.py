"""The official MCP Python SDK client, with a browser that drives our real login and consent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
from mcp import ClientSession
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from pydantic import AnyUrl

from examples.assistant import MemoryStorage

REDIRECT_URI = "http://127.0.0.1:5555/callback"


@dataclass
class Browser:
    """Follows the authorization URL through our login, second step and consent forms, like a
    person."""

    email: str
    password: str
    # Lets a test change what the client asked for (for example a narrower scope).
    rewrite_scope: Callable[[str], str] | None = None
    # The authenticator app's current code, for an account with two-step sign-in.
    code: Callable[[], str] | None = None
    # What a client adds to the authorization request (one that follows RFC 9470 adds the
    # acr_values and max_age of the challenge it got).
    extra_params: Callable[[], dict[str, str]] | None = None
    # One browser for every authorization, its cookies (the HospiAI session) kept; by default
    # each authorization starts in a new one, logged out.
    keep_session: bool = False
    authorize_urls: list[str] = field(default_factory=list)
    _url: str = ""
    _cookies: httpx2.Cookies | None = None

    async def redirect_handler(self, url: str) -> None:
        self.authorize_urls.append(url)
        self._url = url

    async def callback_handler(self) -> AuthorizationCodeResult:
        parts = urlsplit(self._url)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.rewrite_scope is not None:
            params["scope"] = self.rewrite_scope(params.get("scope", ""))
        if self.extra_params is not None:
            params.update(self.extra_params())
        origin = f"{parts.scheme}://{parts.netloc}"
        async with httpx2.AsyncClient(
            base_url=origin, timeout=30, cookies=self._cookies if self.keep_session else None
        ) as browser:
            response = await browser.get(f"{parts.path}?{urlencode(params)}")
            while response.status_code == 303 and response.headers["location"].startswith("/"):
                location = response.headers["location"]
                page = await browser.get(location)
                if page.status_code == 303:  # straight on: to a step, or back to the client
                    response = page
                    continue
                response = await self._answer(browser, location, page.text)
                assert response.status_code == 303, response.text
            self._cookies = browser.cookies
        assert response.status_code == 303, response.text
        back = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
        assert "code" in back, back
        return AuthorizationCodeResult(
            code=back["code"], state=back.get("state"), iss=back.get("iss")
        )

    async def _answer(
        self, browser: httpx2.AsyncClient, location: str, page: str
    ) -> httpx2.Response:
        """Submit the form the page at ``location`` shows: the password, the code, or Allow."""
        csrf = _csrf(page)
        if 'name="password"' in page:
            return await browser.post(
                f"{location}/login",
                data={"email": self.email, "password": self.password, "csrf_token": csrf},
            )
        if 'name="code"' in page:
            assert self.code is not None, "the login asked for a second factor"
            return await browser.post(location, data={"code": self.code(), "csrf_token": csrf})
        assert 'name="decision"' in page, page
        return await browser.post(
            f"{location}/consent", data={"decision": "allow", "csrf_token": csrf}
        )


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@dataclass
class Connection:
    session: ClientSession
    storage: MemoryStorage
    browser: Browser


@asynccontextmanager
async def connect(
    mcp_url: str,
    browser: Browser,
    storage: MemoryStorage | None = None,
    client_metadata_url: str | None = None,
    headers: dict[str, str] | None = None,
    on_response: Callable[[httpx2.Response], Awaitable[None]] | None = None,
) -> AsyncIterator[Connection]:
    """An initialized MCP session over streamable HTTP, authorized by the SDK's OAuth client
    (which registers dynamically, or names itself by ``client_metadata_url``); ``headers`` go
    on every request (an assistant's Accept-Language). ``on_response`` sees every response the
    SDK's HTTP client gets, the ones its OAuth flow handles too."""
    storage = storage or MemoryStorage()
    provider = OAuthClientProvider(
        mcp_url,
        OAuthClientMetadata(
            client_name="SDK end-to-end test", redirect_uris=[AnyUrl(REDIRECT_URI)]
        ),
        storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
        client_metadata_url=client_metadata_url,
    )
    timeout = httpx2.Timeout(30, read=60)
    async with (
        httpx2.AsyncClient(
            auth=provider, timeout=timeout, headers=headers,
            event_hooks={"response": [on_response]} if on_response else None,
        ) as http,
        streamable_http_client(mcp_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield Connection(session, storage, browser)
