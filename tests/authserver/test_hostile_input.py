"""Odd bytes at the edges of the authorization server: each is refused in its route's error
shape (OAuth JSON, or the error page that never redirects), never a 500, on both backends."""

from __future__ import annotations

import json

import httpx
import pytest

from authserver.oauth.cimd import document_columns
from authserver.oauth.egress import FetchError, parse_json
from tests.databases import Databases, both_backends
from tests.flow import REDIRECT_URI, begin, logged_in, post_form
from tests.harness import AuthServer, start_auth_server
from tests.internet import Internet, client_document

DOCUMENT = "https://assistant.example/oauth/client.json"
FORM = {"content-type": "application/x-www-form-urlencoded"}
DEEP = b"[" * 2500 + b"]" * 2500


def _oauth_error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    description: str = body["error_description"]
    return description


def _error_page(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers


@both_backends
@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_a_repeated_parameter_is_never_quoted_back_raw(auth_server: AuthServer, path: str) -> None:
    with auth_server.http() as http:
        for name in ("%C3%A9", "a%22", "a%5C"):
            body = f"{name}=1&{name}=2&grant_type=x".encode()
            description = _oauth_error(http.post(path, content=body, headers=FORM))
            assert description == "A parameter is repeated."
        named = http.post(path, content=b"code=1&code=2&%C3%A9=1&%C3%A9=2", headers=FORM)
        assert _oauth_error(named) == "Repeated parameter: code."


@both_backends
def test_nul_in_a_page_address_is_the_error_page(
    auth_server: AuthServer, public_client: str
) -> None:
    paths = [
        "/interaction/%00", "/authorize/resume/%00", "/admin/audit?event=%00",
        "/admin/accounts?q=%00", "/admin/clients/%00", "/admin/accounts/%00",
        "/login?next=%00", f"/authorize?client_id={public_client}&state=%00",
    ]
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        for path in paths:
            _error_page(admin.get(path))
        client_page = f"/admin/clients/{public_client}"
        _error_page(post_form(admin, client_page, f"{client_page}/approve", scope="read:data\x00"))
    stored = auth_server.store.client(public_client)
    assert stored is not None and not stored.approved_scope


@both_backends
def test_nul_in_an_oauth_address_is_an_oauth_error(auth_server: AuthServer) -> None:
    with auth_server.http() as http:
        assert _oauth_error(http.get("/register/%00")) == "The request contains a NUL character."
        _oauth_error(http.post("/token?x=%00", data={"grant_type": "authorization_code"}))
        _oauth_error(http.get("/.well-known/oauth-authorization-server?x=%00"))


@both_backends
@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({**client_document(DOCUMENT, [REDIRECT_URI]), "client_name": "Assist\u0000ant"}, "NUL"),
        (b'{"client_id": ' + DEEP + b"}", "not JSON"),
    ],
)
def test_a_document_with_nul_or_deep_nesting_is_an_error_page(
    databases: Databases, internet: Internet, document: object, reason: str
) -> None:
    internet.publish(DOCUMENT, document)
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True
    ) as server, server.http() as browser:
        page = begin(browser, DOCUMENT)[0]
        assert server.store.client(DOCUMENT) is None
    _error_page(page)
    assert "could not be verified" in page.text and reason in page.text


@pytest.mark.parametrize("body", [DEEP, b'{"keys": ' + DEEP + b"}", b'{"a": "\\u0000"}'])
def test_fetched_json_refuses_deep_nesting_and_nul(body: bytes) -> None:
    with pytest.raises(FetchError):
        parse_json(body, "The document")
    with pytest.raises(FetchError):
        document_columns(DOCUMENT, body, frozenset())


@both_backends
@pytest.mark.parametrize("days", ["\u00b2", "\u2460", "9" * 5000, "0", "366", " 30"])
def test_a_token_expiry_that_is_no_plain_number_is_refused(
    auth_server: AuthServer, days: str
) -> None:
    with logged_in(auth_server, auth_server.account().email) as browser:
        response = post_form(
            browser, "/account", "/account/tokens", name="laptop", scope="read:data",
            resource=auth_server.resource, days=days,
        )
    assert response.status_code == 400, response.text
    assert "The expiry must be between 1 and 365 days." in response.text


def test_json_deep_but_parsable_is_kept() -> None:
    assert parse_json(json.dumps([[1]]).encode(), "The document") == [[1]]
