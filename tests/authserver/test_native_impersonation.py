"""Native-client impersonation (RFC 8252 section 8.6, issue 13 item 1): a public client whose
answer goes to this device, by a loopback address or a private-use scheme, could be any program
on it, so the user clicks every time; remembered and admin consent do not skip the page and
prompt=none answers consent_required. Confidential clients and https redirects keep them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.databases import Databases, both_backends
from tests.flow import begin, decide, exchange, logged_in, login, post_form, query_of
from tests.harness import PASSWORD, AuthServer, start_auth_server
from tests.internet import (
    CLAUDE_CALLBACKS,
    CLAUDE_CODE_DOCUMENT,
    CLAUDE_CODE_METADATA,
    CLAUDE_DOCUMENT,
    CLAUDE_METADATA,
    Internet,
)
from tests.native import CURSOR_CALLBACK, CURSOR_REGISTRATION

pytestmark = both_backends

CLAUDE_CALLBACK = CLAUDE_CALLBACKS[0]
CURSOR_WEB_CALLBACK = "https://www.cursor.com/agents/mcp/oauth/callback"


@pytest.fixture
def server(databases: Databases, internet: Internet) -> Iterator[AuthServer]:
    internet.publish(CLAUDE_CODE_METADATA, CLAUDE_CODE_DOCUMENT)
    internet.publish(CLAUDE_METADATA, CLAUDE_DOCUMENT)
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True
    ) as started:
        yield started


def _cursor(server: AuthServer) -> str:
    with server.http() as http:
        response = http.post("/register", json=CURSOR_REGISTRATION)
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def _allow_once(
    browser: httpx.Client, server: AuthServer, email: str, client_id: str, redirect_uri: str
) -> None:
    """Log in and allow on the consent page, then redeem the code: a connected app."""
    response, verifier = begin(browser, client_id, redirect_uri=redirect_uri)
    interaction = response.headers["location"]
    assert interaction.startswith("/interaction/"), interaction
    logged_in = login(browser, interaction, email, PASSWORD)
    assert logged_in.headers["location"] == interaction
    back = decide(browser, interaction, "allow")
    assert back.headers["location"].startswith(redirect_uri + "?code=")
    code = query_of(back.headers["location"])["code"]
    token = exchange(server, client_id, code, verifier, redirect_uri=redirect_uri)
    assert token.status_code == 200, token.text


def _asks_again(browser: httpx.Client, client_id: str, redirect_uri: str) -> None:
    """With a live session and consent remembered: the consent page, never a code; prompt=none
    answers consent_required at the redirect URI."""
    response, _ = begin(browser, client_id, redirect_uri=redirect_uri)
    interaction = response.headers["location"]
    assert interaction.startswith("/interaction/"), interaction
    page = browser.get(interaction)
    assert page.status_code == 200 and 'value="allow"' in page.text
    # What was allowed before is shown, not marked new: only the click is asked again.
    assert "New</span>" not in page.text
    silent, _ = begin(browser, client_id, redirect_uri=redirect_uri, prompt="none")
    location = silent.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    assert query_of(location)["error"] == "consent_required" and "code" not in query_of(location)


def _silent(browser: httpx.Client, client_id: str, redirect_uri: str) -> None:
    """Remembered consent answers without a page, with or without prompt=none."""
    for prompt in ("", "none"):
        response, _ = begin(browser, client_id, redirect_uri=redirect_uri, prompt=prompt)
        resume = response.headers["location"]
        assert resume.startswith("/authorize/resume/"), (prompt, resume)
        back = browser.get(resume)
        assert query_of(back.headers["location"])["code"], prompt


def test_claude_code_on_another_port_is_asked_again(server: AuthServer) -> None:
    with server.http() as browser:
        _allow_once(browser, server, server.account().email, CLAUDE_CODE_METADATA,
                    "http://localhost:49731/callback")
        # Another program on this device, its own port and PKCE pair, the same client_id.
        _asks_again(browser, CLAUDE_CODE_METADATA, "http://127.0.0.1:50123/callback")
        _asks_again(browser, CLAUDE_CODE_METADATA, "http://localhost:49731/callback")
    assert server.store.audit_events(event="consent.remembered") == []


def test_claude_code_is_asked_again_after_a_new_login(server: AuthServer) -> None:
    """The login page decides again once it knows the user: it does not skip the click."""
    email = server.account().email
    with server.http() as browser:
        _allow_once(browser, server, email, CLAUDE_CODE_METADATA,
                    "http://localhost:49731/callback")
    assert len(server.store.live_grants(client_id=CLAUDE_CODE_METADATA)) == 1
    with server.http() as browser:
        response, _ = begin(browser, CLAUDE_CODE_METADATA,
                            redirect_uri="http://localhost:50124/callback")
        interaction = response.headers["location"]
        logged_in = login(browser, interaction, email, PASSWORD)
        assert logged_in.headers["location"] == interaction


def test_cursor_is_asked_again_on_its_scheme_not_on_its_website(server: AuthServer) -> None:
    cursor = _cursor(server)
    with server.http() as browser:
        _allow_once(browser, server, server.account().email, cursor, CURSOR_CALLBACK)
        _asks_again(browser, cursor, CURSOR_CALLBACK)
        _asks_again(browser, cursor, "http://localhost:8787/callback")
        # The same client, answered at its https callback: only Cursor's site receives that.
        _silent(browser, cursor, CURSOR_WEB_CALLBACK)


def test_claude_hosted_keeps_remembered_consent(server: AuthServer) -> None:
    with server.http() as browser:
        _allow_once(browser, server, server.account().email, CLAUDE_METADATA, CLAUDE_CALLBACK)
        _silent(browser, CLAUDE_METADATA, CLAUDE_CALLBACK)


def test_a_confidential_client_on_loopback_keeps_remembered_consent(server: AuthServer) -> None:
    credentials = server.client()
    redirect_uri = "http://127.0.0.1:5555/callback"
    email = server.account().email
    with server.http() as browser:
        response, verifier = begin(browser, credentials.id, redirect_uri=redirect_uri)
        interaction = response.headers["location"]
        login(browser, interaction, email, PASSWORD)
        back = decide(browser, interaction, "allow")
        code = query_of(back.headers["location"])["code"]
        token = exchange(server, credentials.id, code, verifier, secret=credentials.secret)
        assert token.status_code == 200, token.text
        _silent(browser, credentials.id, "http://127.0.0.1:6666/callback")


def test_admin_consent_does_not_skip_the_click_for_native_clients(server: AuthServer) -> None:
    cursor = _cursor(server)
    clients = (
        (CLAUDE_CODE_METADATA, "http://localhost:49731/callback"),
        (cursor, CURSOR_CALLBACK),
        (CLAUDE_METADATA, CLAUDE_CALLBACK),
    )
    with server.http() as browser:
        for client_id, redirect_uri in clients:
            # A metadata document is fetched and stored on its first request.
            assert begin(browser, client_id, redirect_uri=redirect_uri)[0].status_code == 303
    with logged_in(server, server.account("admin").email, "/admin") as admin:
        for client_id, _ in clients:
            client_page = f"/admin/clients/{client_id}"
            post_form(admin, client_page, f"{client_page}/approve",
                      scope=["read:data", "read:bookings", "offline_access"])
            approved = server.store.client(client_id)
            assert approved is not None and approved.approved_scope, client_id
    email = server.account().email
    for client_id, redirect_uri in clients[:2]:
        with server.http() as browser:
            response, _ = begin(browser, client_id, redirect_uri=redirect_uri)
            interaction = response.headers["location"]
            logged_in_now = login(browser, interaction, email, PASSWORD)
            assert logged_in_now.headers["location"] == interaction, client_id
            _asks_again(browser, client_id, redirect_uri)
    with server.http() as browser:
        response, _ = begin(browser, CLAUDE_METADATA, redirect_uri=CLAUDE_CALLBACK)
        logged_in_now = login(browser, response.headers["location"], email, PASSWORD)
        assert logged_in_now.headers["location"].startswith("/authorize/resume/")
        _silent(browser, CLAUDE_METADATA, CLAUDE_CALLBACK)
