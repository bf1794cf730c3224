"""Native applications' redirects (RFC 8252 section 7.1): private-use schemes for public clients
only, exact matching, Cursor's registration, a code flow and its errors back to cursor://, and
what the consent page says about an answer that goes to this device."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authserver.oauth.clients import (
    private_use_scheme_problem,
    redirect_uri_matches,
    redirect_uri_problem,
)
from authserver.settings import Settings
from tests.databases import Databases, both_backends
from tests.flow import authorize, authorize_params, exchange, login, pkce_pair, query_of, start
from tests.harness import PASSWORD, AuthServer, start_auth_server
from tests.internet import Internet, client_document
from tests.native import CURSOR_CALLBACK, CURSOR_REGISTRATION

DEFAULT_SCHEMES = Settings.private_use_schemes

ACCEPTED_FOR_PUBLIC = [
    CURSOR_CALLBACK,
    "cursor://anysphere.cursor-mcp/oauth/callback?workspace=1",
    "vscode://vscode.github-authentication/did-authenticate",
    "vscode-insiders://vscode.github-authentication/did-authenticate",
    "windsurf://codeium.windsurf/oauth/callback",
    # Reverse-domain schemes, with and without an authority (RFC 8252 section 7.1's example).
    "com.example.app:/oauth2redirect/example-provider",
    "com.example.app:callback",
    "ai.hospiai.desk://oauth/callback",
    # Today's rules are unchanged.
    "https://assistant.example.org/callback",
    "http://localhost:8787/callback",
    "http://127.0.0.1/callback",
    "http://[::1]:33418/",
]
REFUSED_FOR_EVERYONE = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
    "blob:https://assistant.example.org/0f3c",
    "about:blank",
    "ws://127.0.0.1:8787/callback",
    "wss://assistant.example.org/callback",
    "http://assistant.example.org/callback",
    "http://10.0.0.1/callback",
    # A scheme that is neither a reverse domain nor a known application's.
    "myapp://callback",
    "zed://oauth/callback",
    # Malformed reverse domains.
    "com..example:/callback",
    "com.example.:/callback",
    "1com.example:/callback",
    # Not the string that would be redirected to: case, spaces, controls, empty authority.
    "Cursor://anysphere.cursor-mcp/oauth/callback",
    " cursor://anysphere.cursor-mcp/oauth/callback",
    "cursor://anysphere.cursor-mcp/oauth/call\tback",
    "cursor://anysphere.cursor-mcp/oauth/callback\n",
    "cursor:///oauth/callback",
    "cursor:",
    "cursor://user:secret@anysphere.cursor-mcp/oauth/callback",
    "cursor://anysphere.cursor-mcp/oauth/callback#fragment",
    "cursor://anysphere.cursor-mcp:port/oauth/callback",
]


@pytest.mark.parametrize("uri", ACCEPTED_FOR_PUBLIC)
def test_a_public_client_may_use_private_use_schemes(uri: str) -> None:
    assert redirect_uri_problem(uri, DEFAULT_SCHEMES) is None


@pytest.mark.parametrize("uri", REFUSED_FOR_EVERYONE)
def test_unsafe_or_unknown_redirects_are_refused_to_everyone(uri: str) -> None:
    assert redirect_uri_problem(uri, DEFAULT_SCHEMES) is not None
    assert redirect_uri_problem(uri) is not None


@pytest.mark.parametrize(
    "uri", [CURSOR_CALLBACK, "com.example.app:/oauth2redirect", "windsurf://codeium/callback"]
)
def test_a_confidential_client_may_not_use_private_use_schemes(uri: str) -> None:
    # Any application can claim a scheme, so none can hold a secret there (RFC 8252 8.4).
    problem = redirect_uri_problem(uri)
    assert problem is not None and "public clients only" in problem


def test_the_allow_list_is_the_setting() -> None:
    assert {"cursor", "vscode", "vscode-insiders", "windsurf"} <= DEFAULT_SCHEMES
    assert redirect_uri_problem("zed://oauth/callback", frozenset({"zed"})) is None
    assert redirect_uri_problem(CURSOR_CALLBACK, frozenset({"zed"})) is not None
    # Reverse-domain schemes need no listing.
    assert redirect_uri_problem("com.example.app:/cb", frozenset()) is None


@pytest.mark.parametrize(
    ("scheme", "allowed"),
    [
        ("cursor", True), ("vscode-insiders", True), ("com.example.app", True), ("x+y", True),
        ("javascript", False), ("data", False), ("file", False), ("vbscript", False),
        ("blob", False), ("about", False), ("ws", False), ("wss", False), ("http", False),
        ("https", False), ("Cursor", False), ("1app", False), ("my app", False), ("", False),
        ("cursor:", False),
    ],
)
def test_which_schemes_the_allow_list_may_hold(scheme: str, allowed: bool) -> None:
    assert (private_use_scheme_problem(scheme) is None) is allowed


def test_private_use_redirects_match_exactly() -> None:
    registered = [CURSOR_CALLBACK, "com.example.app:/cb"]
    assert redirect_uri_matches(registered, CURSOR_CALLBACK)
    assert redirect_uri_matches(registered, "com.example.app:/cb")
    for other in (
        CURSOR_CALLBACK + "/", CURSOR_CALLBACK + "?x=1", "cursor://anysphere.cursor-mcp:1/oauth/callback",
        "cursor://other.app/oauth/callback", "Cursor://anysphere.cursor-mcp/oauth/callback",
        "com.example.app:/cb2", "com.example.app://cb",
    ):
        assert not redirect_uri_matches(registered, other), other


def _register(server: AuthServer, metadata: dict[str, Any]) -> httpx.Response:
    with server.http() as http:
        return http.post("/register", json=metadata)


@both_backends
def test_cursor_registers_all_its_redirects_in_one_request(auth_server: AuthServer) -> None:
    response = _register(auth_server, CURSOR_REGISTRATION)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["redirect_uris"] == CURSOR_REGISTRATION["redirect_uris"]
    assert body["token_endpoint_auth_method"] == "none" and "client_secret" not in body
    stored = auth_server.store.client(body["client_id"])
    assert stored is not None and stored.redirect_uris == CURSOR_REGISTRATION["redirect_uris"]


@pytest.mark.parametrize("method", [None, "client_secret_basic", "client_secret_post"])
def test_a_confidential_registration_with_a_private_use_scheme_is_refused(
    auth_server: AuthServer, method: str | None
) -> None:
    metadata = {**CURSOR_REGISTRATION, "token_endpoint_auth_method": method}
    if method is None:
        del metadata["token_endpoint_auth_method"]  # RFC 7591: client_secret_basic
    response = _register(auth_server, metadata)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_redirect_uri"
    assert "public clients only" in response.json()["error_description"]


def test_an_unknown_scheme_is_refused_and_the_setting_changes_that(databases: Databases) -> None:
    metadata = {**CURSOR_REGISTRATION, "redirect_uris": ["zed://oauth/callback"]}
    with start_auth_server(databases) as server:
        refused = _register(server, metadata)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"
    # The same database, so another resource; the list replaces the default, Cursor included.
    with start_auth_server(
        databases, resource="http://127.0.0.1:8001/mcp", private_use_schemes=frozenset({"zed"})
    ) as server:
        assert _register(server, metadata).status_code == 201
        assert _register(server, CURSOR_REGISTRATION).status_code == 400


def _cursor(server: AuthServer) -> str:
    response = _register(server, CURSOR_REGISTRATION)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


@both_backends
def test_a_code_flow_ends_in_a_redirect_to_cursor(auth_server: AuthServer) -> None:
    client_id = _cursor(auth_server)
    result = authorize(
        auth_server, client_id, auth_server.account().email, redirect_uri=CURSOR_CALLBACK
    )
    assert result.location.startswith(CURSOR_CALLBACK + "?"), result.location
    assert result.params["iss"] == auth_server.url and result.params["state"]
    # The redirect URI sent at /token must be the same string (no loopback port leniency).
    token = exchange(
        auth_server, client_id, result.params["code"], result.verifier,
        redirect_uri=CURSOR_CALLBACK,
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "Bearer"


def test_errors_redirect_to_cursor_only_once_the_redirect_is_verified(
    auth_server: AuthServer,
) -> None:
    client_id = _cursor(auth_server)
    _, challenge = pkce_pair()
    with auth_server.http() as browser:
        # A registered redirect: the error goes back to the application, with state and iss.
        no_pkce = start(browser, authorize_params(
            client_id, challenge, redirect_uri=CURSOR_CALLBACK, code_challenge="",
            code_challenge_method="", state="s1",
        ))
        assert no_pkce.status_code == 303, no_pkce.text
        assert no_pkce.headers["location"].startswith(CURSOR_CALLBACK + "?")
        params = query_of(no_pkce.headers["location"])
        assert params["error"] == "invalid_request" and params["state"] == "s1"
        assert params["iss"] == auth_server.url
        # Anything else the client did not register is a page, never a redirect.
        for unregistered in (
            "cursor://anysphere.cursor-mcp/oauth/other", "vscode://anysphere.cursor-mcp/oauth/callback",
            "com.evil.app:/oauth/callback",
        ):
            page = start(browser, authorize_params(
                client_id, challenge, redirect_uri=unregistered, code_challenge="",
            ))
            assert page.status_code == 400 and "location" not in page.headers, unregistered


def _consent_page(server: AuthServer, client_id: str, redirect_uri: str) -> str:
    account = server.account()
    _, challenge = pkce_pair()
    with server.http() as browser:
        started = start(browser, authorize_params(client_id, challenge, redirect_uri=redirect_uri))
        assert started.status_code == 303, started.text
        interaction = started.headers["location"]
        assert login(browser, interaction, account.email, PASSWORD).status_code == 303
        return browser.get(interaction).text


def test_the_consent_page_says_the_answer_goes_to_an_application_on_this_device(
    auth_server: AuthServer,
) -> None:
    client_id = _cursor(auth_server)
    page = _consent_page(auth_server, client_id, CURSOR_CALLBACK)
    text = " ".join(page.split())
    assert "the answer goes to an application on this device" in text
    assert '<strong class="host">cursor:</strong> links' in text
    assert "runs on your own computer" in text
    # Not the authority, which would read as a website.
    assert "sent to" not in text and "anysphere.cursor-mcp" not in text
    local = " ".join(_consent_page(auth_server, client_id, "http://localhost:8787/callback").split())
    assert "an application on this device, at the local address" in local
    assert "localhost:8787" in local and "runs on your own computer" in local
    hosted = " ".join(_consent_page(
        auth_server, client_id, "https://www.cursor.com/agents/mcp/oauth/callback"
    ).split())
    assert "you will be sent to" in hosted and "www.cursor.com" in hosted
    assert "on this device" not in hosted and "runs on your own computer" not in hosted


def test_metadata_documents_follow_the_same_redirect_rules(
    databases: Databases, internet: Internet
) -> None:
    native = "https://assistant.example/desk/client.json"
    unknown = "https://tools.example/desk/client.json"
    internet.publish(native, client_document(native, [CURSOR_CALLBACK, "com.example.desk:/cb"]))
    internet.publish(unknown, client_document(unknown, ["myapp://callback"]))
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True
    ) as server:
        result = authorize(
            server, native, server.account().email, redirect_uri="com.example.desk:/cb"
        )
        assert result.location.startswith("com.example.desk:/cb?code="), result.location
        _, challenge = pkce_pair()
        with server.http() as browser:
            page = start(
                browser, authorize_params(unknown, challenge, redirect_uri="myapp://callback")
            )
        assert page.status_code == 400 and "location" not in page.headers
        assert "could not be verified" in page.text and "reverse domain" in page.text


def test_a_registration_update_follows_the_same_rules(auth_server: AuthServer) -> None:
    """RFC 7592: a public client may move to a private-use redirect; a confidential one not."""
    public = _register(auth_server, {"redirect_uris": ["http://127.0.0.1:5555/callback"],
                                     "token_endpoint_auth_method": "none"}).json()
    confidential = _register(auth_server, {"redirect_uris": ["https://app.example.org/cb"]}).json()
    with auth_server.http() as http:
        for body, expected in ((public, 200), (confidential, 400)):
            updated = http.put(
                body["registration_client_uri"],
                headers={"Authorization": f"Bearer {body['registration_access_token']}"},
                json={
                    "client_id": body["client_id"],
                    "redirect_uris": [CURSOR_CALLBACK],
                    "token_endpoint_auth_method": body["token_endpoint_auth_method"],
                },
            )
            assert updated.status_code == expected, updated.text
    moved = auth_server.store.client(public["client_id"])
    kept = auth_server.store.client(confidential["client_id"])
    assert moved is not None and moved.redirect_uris == [CURSOR_CALLBACK]
    assert kept is not None and kept.redirect_uris == ["https://app.example.org/cb"]
