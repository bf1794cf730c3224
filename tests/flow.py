"""Driving the authorization code flow over real HTTP, the way a browser and a client do."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp

from authserver.models import AccessToken, RefreshToken
from authserver.provisioning import Credentials
from tests.harness import PASSWORD, AuthServer

REDIRECT_URI = "http://127.0.0.1:5555/callback"


class Server(Protocol):
    """What a flow needs of an authorization server: tests.harness.AuthServer, or a process."""

    url: str
    resource_server: Credentials

    def http(self) -> httpx.Client: ...


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class Authorization:
    """The browser's view: the redirect back to the client, with its parameters."""

    location: str
    params: dict[str, str]
    verifier: str


def authorize_params(
    client_id: str, challenge: str, *, keep_empty: str = "", **extra: str
) -> dict[str, str]:
    """Parameters of an authorization request; one set to "" is left out, unless it is named
    by ``keep_empty`` (sent empty, as some clients do with ``scope``)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "read:data read:bookings offline_access",
        "state": "state-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {key: value for key, value in params.items() if value != "" or key == keep_empty}


def start(browser: httpx.Client, params: dict[str, str]) -> httpx.Response:
    """GET /authorize; returns the response without following redirects."""
    return browser.get("/authorize", params=params)


def begin(browser: httpx.Client, client_id: str, **extra: str) -> tuple[httpx.Response, str]:
    """GET /authorize with a fresh PKCE pair: the response, and the verifier for the code."""
    verifier, challenge = pkce_pair()
    return start(browser, authorize_params(client_id, challenge, **extra)), verifier


def post_form(
    browser: httpx.Client, page: str, action: str, **data: str | list[str]
) -> httpx.Response:
    """Submit a form the way the page would: with the CSRF token ``page`` carries."""
    token = csrf_token(browser.get(page).text)
    return browser.post(action, data={"csrf_token": token, **data})


def login(browser: httpx.Client, interaction_url: str, email: str, password: str) -> httpx.Response:
    page = browser.get(interaction_url)
    assert page.status_code == 200, page.text
    return browser.post(
        f"{interaction_url}/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
    )


def decide(browser: httpx.Client, interaction_url: str, decision: str) -> httpx.Response:
    """Submit the consent form, then follow the browser back to the client's redirect URI."""
    page = browser.get(interaction_url)
    assert page.status_code == 200 and "Allow" in page.text, page.text
    response = browser.post(
        f"{interaction_url}/consent",
        data={"decision": decision, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 303, response.text
    return browser.get(response.headers["location"])


def authorize(
    server: Server,
    client_id: str,
    email: str,
    *,
    password: str = PASSWORD,
    decision: str = "allow",
    **extra: str,
) -> Authorization:
    """The whole browser side: authorize, log in, consent; returns the redirect to the client."""
    verifier, challenge = pkce_pair()
    with server.http() as browser:
        response = start(browser, authorize_params(client_id, challenge, **extra))
        assert response.status_code == 303, response.text
        interaction_url = response.headers["location"]
        assert interaction_url.startswith("/interaction/"), interaction_url
        logged_in = login(browser, interaction_url, email, password)
        assert logged_in.status_code == 303, logged_in.text
        if logged_in.headers["location"].startswith("/authorize/resume/"):
            # Consent remembered: no page, straight back to the client.
            assert decision == "allow", "the consent page was skipped: nothing to deny"
            back = browser.get(logged_in.headers["location"])
        else:
            back = decide(browser, interaction_url, decision)
    assert back.status_code == 303, back.text
    location = back.headers["location"]
    return Authorization(location, query_of(location), verifier)


def exchange(
    server: Server,
    client_id: str,
    code: str,
    verifier: str,
    *,
    secret: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """POST /token for a code: a public client names itself, a confidential one uses Basic."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": None if secret else client_id,
        "code_verifier": verifier,
    }
    data.update(extra)
    with server.http() as client:
        return client.post(
            "/token",
            data={k: v for k, v in data.items() if v is not None},
            auth=(client_id, secret) if secret else httpx.USE_CLIENT_DEFAULT,
        )


def code_only_client(server: Server) -> str:
    """A dynamic public client registered without grant_types: RFC 7591's default, the code
    grant alone, so never a refresh token."""
    with server.http() as client:
        response = client.post("/register", json={
            "client_name": "Code only", "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none"})
    assert response.status_code == 201, response.text
    assert response.json()["grant_types"] == ["authorization_code"]
    return str(response.json()["client_id"])


def refresh(server: Server, client_id: str, refresh_token: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    data.update(extra)
    with server.http() as client:
        return client.post("/token", data=data)


def introspect(
    server: Server, token: str, credentials: tuple[str, str] | None = None
) -> httpx.Response:
    rs = server.resource_server
    auth = credentials or (rs.id, rs.secret or "")
    with server.http() as client:
        return client.post("/introspect", data={"token": token}, auth=auth)


def tokens_for(
    server: Server, client_id: str, email: str, *, secret: str | None = None, **extra: str
) -> dict[str, Any]:
    """A full flow to a token response (asserting it succeeded)."""
    result = authorize(server, client_id, email, **extra)
    response = exchange(server, client_id, result.params["code"], result.verifier, secret=secret)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def logged_in(server: Server, email: str, next_page: str = "/account") -> Iterator[httpx.Client]:
    """A browser logged in through /login, landed on ``next_page``."""
    with server.http() as browser:
        first = browser.get("/login", params={"next": next_page})  # sets the browser cookie
        assert first.status_code == 303
        page = browser.get(first.headers["location"])
        response = browser.post(
            first.headers["location"],
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        )
        assert response.status_code == 303 and response.headers["location"] == next_page
        yield browser


def enrol_one_time_codes(
    server: AuthServer, browser: httpx.Client, next_page: str = "/account"
) -> tuple[pyotp.TOTP, list[str]]:
    """Turn on one-time codes as the account page does (``browser`` logged in): the app's
    TOTP, and the ten recovery codes the last page shows with a link to ``next_page``."""
    query = urlencode({"next": next_page})
    enrolment = f"/account/one-time-codes?{query}"
    started = post_form(browser, "/account", f"/account/one-time-codes/start?{query}")
    assert started.status_code == 303 and started.headers["location"] == enrolment
    page = browser.get(enrolment)
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text
    match = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text)
    assert match, page.text
    totp = pyotp.TOTP(match.group(1))
    done = browser.post(f"/account/one-time-codes/confirm?{query}", data={
        "code": totp.at(server.clock()), "csrf_token": csrf_token(page.text),
    })
    assert done.status_code == 201, done.text
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert f'<a href="{next_page}">Continue</a>' in done.text
    return totp, codes


def create_personal_token(
    browser: httpx.Client, server: AuthServer, **overrides: str | list[str]
) -> httpx.Response:
    """Submit /account's personal token form (``browser`` logged in), for the server's MCP."""
    data: dict[str, str | list[str]] = {
        "name": "My desktop assistant", "scope": ["read:data", "read:bookings"],
        "resource": server.resource, "days": "30",
    }
    data.update(overrides)
    return post_form(browser, "/account", "/account/tokens", **data)


def new_personal_token(response: httpx.Response) -> str:
    """The token the page that answered create_personal_token shows once."""
    match = re.search(r'value="(hospiai_pat_[^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


def successors(source: RefreshToken, suffix: str) -> tuple[AccessToken, RefreshToken]:
    """The rows a rotation of ``source`` stores, their hashes named by ``suffix``."""
    fields: dict[str, Any] = {"grant_id": source.grant_id, "client_id": source.client_id,
              "account_id": source.account_id, "scope": source.scope,
              "resource": source.resource, "issued_at": 1, "expires_at": 2**40}
    return (AccessToken(token_hash=f"at-{suffix}", **fields),
            RefreshToken(token_hash=f"rt-{suffix}", **fields))
