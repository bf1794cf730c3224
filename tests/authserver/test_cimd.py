"""Client ID Metadata Documents: fetched over real HTTPS from a loopback stand-in, validated,
cached within bounds, guarded against SSRF; every failure is an error page, never a redirect."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from authserver.maintenance import purge
from authserver.oauth.cimd import document_columns
from authserver.oauth.egress import (
    FETCH_SECONDS,
    MAX_CACHE_SECONDS,
    MIN_CACHE_SECONDS,
    Egress,
    FetchError,
    address_allowed,
    url_problem,
)
from tests.databases import Databases, both_backends
from tests.flow import REDIRECT_URI, authorize, begin, exchange, introspect, logged_in, post_form
from tests.harness import AuthServer, start_auth_server
from tests.internet import Internet, client_document

DOCUMENT = "https://assistant.example/oauth/client.json"


@pytest.fixture
def server(databases: Databases, internet: Internet) -> Iterator[AuthServer]:
    # The stand-in is on loopback, which only the development setting lets through.
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True
    ) as server:
        yield server


def _refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert "could not be verified" in response.text
    assert reason in response.text


def test_metadata_advertises_support(server: AuthServer) -> None:
    with server.http() as client:
        metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["client_id_metadata_document_supported"] is True


@both_backends
def test_a_document_client_connects_without_registering(
    server: AuthServer, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    email = server.account().email
    with server.http() as browser:
        assert begin(browser, DOCUMENT)[0].status_code == 303
    result = authorize(server, DOCUMENT, email)
    token = exchange(server, DOCUMENT, result.params["code"], result.verifier)
    assert token.status_code == 200, token.text
    assert introspect(server, token.json()["access_token"]).json()["client_id"] == DOCUMENT
    stored = server.store.client(DOCUMENT)
    assert stored is not None and stored.kind == "metadata_document"
    assert stored.client_name == "Test Assistant"
    # Both authorize requests used one fetch: the document is cached.
    assert internet.fetches(DOCUMENT) == 1


def test_consent_shows_the_documents_host_as_verified(
    server: AuthServer, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    with server.http() as browser:
        response, _ = begin(browser, DOCUMENT)
        interaction = response.headers["location"]
        page = browser.get(interaction)
        consent = post_form(
            browser, interaction, f"{interaction}/login",
            email=server.account().email, password="correct-horse-battery",
        )
        assert consent.status_code == 303
        text = browser.get(interaction).text
    assert "Sign in" in page.text or "Log in" in page.text
    assert "identity was checked at <strong class=\"host\">assistant.example</strong>" in text


@pytest.mark.parametrize(
    ("cache_control", "kept"),
    [
        ("max-age=600", 600),
        ("public, max-age=5", MIN_CACHE_SECONDS),
        ("max-age=99999999", MAX_CACHE_SECONDS),
        ("no-store", MIN_CACHE_SECONDS),
        (None, 3600),
    ],
)
@both_backends
def test_the_document_is_cached_as_cache_control_says_within_bounds(
    server: AuthServer, internet: Internet, cache_control: str | None, kept: int
) -> None:
    headers = {"content-type": "application/json"}
    if cache_control is not None:
        headers["cache-control"] = cache_control
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]), headers=headers)
    server.clock.freeze()  # "still cached one second before" must not meet a real second
    with server.http() as browser:
        assert begin(browser, DOCUMENT)[0].status_code == 303
        server.clock.advance(kept - 1)
        assert begin(browser, DOCUMENT)[0].status_code == 303
        assert internet.fetches(DOCUMENT) == 1
        # Past its lifetime the document is fetched again, and its changes are taken.
        internet.publish(
            DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI], client_name="Renamed"),
            headers=headers,
        )
        server.clock.advance(2)
        assert begin(browser, DOCUMENT)[0].status_code == 303
    assert internet.fetches(DOCUMENT) == 2
    stored = server.store.client(DOCUMENT)
    assert stored is not None and stored.client_name == "Renamed"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (client_document("https://assistant.example/other", [REDIRECT_URI]),
         "does not name itself"),
        ({**client_document(DOCUMENT, [REDIRECT_URI]), "client_name": ""}, "no client_name"),
        ({k: v for k, v in client_document(DOCUMENT, [REDIRECT_URI]).items()
          if k != "client_name"}, "no client_name"),
        ({k: v for k, v in client_document(DOCUMENT, [REDIRECT_URI]).items()
          if k != "redirect_uris"}, "redirect_uris"),
        (client_document(DOCUMENT, ["http://assistant.example/callback"]), "https"),
        (client_document(DOCUMENT, [REDIRECT_URI], client_secret="s3cret"), "secret"),
        (client_document(
            DOCUMENT, [REDIRECT_URI], token_endpoint_auth_method="client_secret_basic"
        ), "token_endpoint_auth_method none"),
        (client_document(DOCUMENT, [REDIRECT_URI], grant_types=["implicit"]), "grant_types"),
        (client_document(DOCUMENT, [REDIRECT_URI], client_uri="not a url"), "client_uri"),
        (b"{not json", "not JSON"),
        ([DOCUMENT], "not a JSON object"),
    ],
)
def test_a_bad_document_is_refused_with_its_reason(document: object, reason: str) -> None:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(FetchError) as refused:
        document_columns(DOCUMENT, body, frozenset())
    assert reason in refused.value.description


@pytest.mark.parametrize(
    ("document", "page", "reason"),
    [
        # One rule of the document's content, to show they all end on the error page.
        (client_document("https://assistant.example/other", [REDIRECT_URI]), {},
         "does not name itself"),
        (client_document(DOCUMENT, [REDIRECT_URI]),
         {"headers": {"content-type": "text/html"}}, "not JSON"),
        ({**client_document(DOCUMENT, [REDIRECT_URI]), "padding": "x" * 6000}, {}, "5 KB"),
        (client_document(DOCUMENT, [REDIRECT_URI]), {"status": 404}, "HTTP 404"),
        # Compressed, a small body could unpack to any size before the cap saw it.
        (gzip.compress(json.dumps(client_document(DOCUMENT, [REDIRECT_URI])).encode()),
         {"headers": {"content-type": "application/json", "content-encoding": "gzip"}},
         "compressed"),
        (client_document(DOCUMENT, [REDIRECT_URI]), {"status": 201}, "HTTP 201"),
    ],
)
def test_a_bad_document_is_an_error_page(
    server: AuthServer, internet: Internet, document: object, page: dict[str, object], reason: str
) -> None:
    internet.publish(DOCUMENT, document, **page)
    with server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], reason)
    assert server.store.client(DOCUMENT) is None


def test_a_redirect_is_not_followed(server: AuthServer, internet: Internet) -> None:
    elsewhere = "https://tools.example/client.json"
    internet.publish(elsewhere, client_document(DOCUMENT, [REDIRECT_URI]))
    internet.publish(DOCUMENT, b"", status=302, headers={"location": elsewhere})
    with server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], "HTTP 302")
    assert internet.fetches(elsewhere) == 0


def test_a_redirect_uri_missing_from_the_document_is_refused(
    server: AuthServer, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, ["https://assistant.example/cb"]))
    with server.http() as browser:
        response, _ = begin(browser, DOCUMENT)
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert "redirect" in response.text.lower()


@pytest.mark.parametrize(
    ("client_id", "reason"),
    [
        ("https://assistant.example/", "must have a path"),
        ("https://assistant.example", "must have a path"),
        ("https://assistant.example/a/../client.json", "without dot segments"),
        ("https://assistant.example/./client.json", "without dot segments"),
        ("https://assistant.example/client.json#frag", "query or a fragment"),
        ("https://assistant.example/client.json?v=1", "query or a fragment"),
        ("https://user:pw@assistant.example/client.json", "user information"),
        ("https://assistant.example:99999/client.json", "not a valid URL"),
        ("https://assistant.example:8443/client.json", "default https port"),
        ("https://assistant.example/%2e%2e/client.json", "without percent-encoding"),
        ("https://assistant.example/client\tone.json", "plain ASCII"),
        ("https://assistant.example/client one.json", "plain ASCII"),
        ("https://assistant.example/a\\b.json", "plain ASCII"),
        ("https://h\u00f4pital.example/client.json", "plain ASCII"),
    ],
)
def test_a_bad_client_id_url_is_refused_with_its_reason(client_id: str, reason: str) -> None:
    problem = url_problem(client_id)
    assert problem is not None and reason in problem.description


@pytest.mark.parametrize(
    ("client_id", "reason"),
    [
        ("https://assistant.example/a/../client.json", "without dot segments"),
        ("https://unknown.example/client.json", "could not be found"),
    ],
)
def test_a_bad_client_id_url_is_an_error_page(
    server: AuthServer, internet: Internet, client_id: str, reason: str
) -> None:
    with server.http() as browser:
        _refused(begin(browser, client_id)[0], reason)
    assert internet.requests == []


PRIVATE_AND_RESERVED = [
    "127.0.0.1", "10.0.0.7", "192.168.1.20", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "::1", "fc00::1", "fe80::1", "fe80::1%eth0", "::ffff:127.0.0.1",
    "::ffff:10.0.0.5", "64:ff9b::a00:5", "64:ff9b:1::a00:5", "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "::127.0.0.1", "fec0::1",
]


@pytest.mark.parametrize("address", PRIVATE_AND_RESERVED)
def test_private_and_reserved_addresses_are_not_connected_to(address: str) -> None:
    assert not address_allowed(address, allow_private=False)
    assert address_allowed(address, allow_private=True)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_connected_to(address: str) -> None:
    assert address_allowed(address, allow_private=False)


# Any one private address among a host's addresses refuses the fetch: one of each family here.
@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:10.0.0.5"])
def test_private_and_reserved_addresses_are_refused(
    databases: Databases, internet: Internet, address: str
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    internet.addresses["assistant.example"] = [("93.184.215.14", 443), (address, 443)]
    with start_auth_server(databases, egress=internet.egress()) as server, server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], "private or reserved address")
    assert internet.requests == []


def test_without_the_development_setting_loopback_is_refused(
    databases: Databases, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    with start_auth_server(databases, egress=internet.egress()) as server, server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], "private or reserved address")
    assert internet.requests == []


def test_tls_is_verified_for_the_documents_host(
    databases: Databases, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    # A host the stand-in's certificate does not name, though it answers at the same address.
    impostor = "https://impostor.example/oauth/client.json"
    internet.addresses["impostor.example"] = internet.addresses["assistant.example"]
    internet.publish(impostor, client_document(impostor, [REDIRECT_URI]))
    untrusting = Egress(resolve=internet.resolve)  # the system trust store, not the test CA
    with start_auth_server(
        databases, egress=untrusting, metadata_documents_allow_private=True
    ) as server, server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], "could not be fetched")
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True,
        database_url=databases.url("trusting"),
    ) as server, server.http() as browser:
        _refused(begin(browser, impostor)[0], "could not be fetched")
        assert begin(browser, DOCUMENT)[0].status_code == 303


def test_a_slow_document_times_out(databases: Databases, internet: Internet) -> None:
    # The fetch's whole time is bounded: 5 seconds in production, here half a second.
    assert Egress().timeout == FETCH_SECONDS == 5.0
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]), delay=1.5)
    with start_auth_server(
        databases, egress=internet.egress(timeout=0.5), metadata_documents_allow_private=True
    ) as server, server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], "took too long")


def test_a_blocked_document_client_is_not_fetched_again(
    server: AuthServer, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    with server.http() as browser:
        assert begin(browser, DOCUMENT)[0].status_code == 303
    admin = server.account(role="admin").email
    with logged_in(server, admin, "/admin") as console:
        page = f"/admin/clients/{DOCUMENT}"
        assert post_form(console, page, f"{page}/block", blocked="1").status_code == 303
    server.clock.advance(2 * MAX_CACHE_SECONDS)
    with server.http() as browser:
        response, _ = begin(browser, DOCUMENT)
    assert response.status_code == 403 and "has been blocked" in response.text
    assert internet.fetches(DOCUMENT) == 1


@both_backends
def test_purge_drops_unused_document_clients_but_keeps_blocked_ones(
    server: AuthServer, internet: Internet
) -> None:
    blocked = "https://tools.example/client.json"
    for url in (DOCUMENT, blocked):
        internet.publish(url, client_document(url, [REDIRECT_URI]))
        with server.http() as browser:
            assert begin(browser, url)[0].status_code == 303
    server.store.set_client_blocked(blocked, True, server.clock())
    server.clock.advance(server.settings.unused_client_age + 3600)
    purge(server.settings, server.store, server.clock())
    assert server.store.client(DOCUMENT) is None
    assert server.store.client(blocked) is not None


def test_documents_can_be_turned_off_or_limited_to_some_hosts(
    databases: Databases, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]))
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True,
        metadata_documents_enabled=False,
    ) as server:
        with server.http() as browser:
            _refused(begin(browser, DOCUMENT)[0], "does not accept applications")
            metadata = browser.get("/.well-known/oauth-authorization-server").json()
        assert metadata["client_id_metadata_document_supported"] is False
    with start_auth_server(
        databases, egress=internet.egress(), metadata_documents_allow_private=True,
        metadata_document_hosts=frozenset({"claude.ai"}), database_url=databases.url("limited"),
    ) as server, server.http() as browser:
        _refused(begin(browser, DOCUMENT)[0], "not allowed by this hospital")
    assert internet.requests == []


@both_backends
def test_new_redirect_uris_withdraw_admin_consent_and_grants(
    server: AuthServer, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(DOCUMENT, [REDIRECT_URI]),
                     headers={"content-type": "application/json", "cache-control": "max-age=60"})
    result = authorize(server, DOCUMENT, server.account().email)
    token = exchange(server, DOCUMENT, result.params["code"], result.verifier).json()
    server.store.approve_client(DOCUMENT, "read:data")
    # Same URIs on the next fetch: nothing changes.
    server.clock.advance(61)
    with server.http() as browser:
        assert begin(browser, DOCUMENT)[0].status_code == 303
    assert introspect(server, token["access_token"]).json()["active"] is True
    # The document now sends codes elsewhere (a lapsed domain, re-registered by someone else).
    internet.publish(DOCUMENT, client_document(DOCUMENT, ["https://elsewhere.example/cb"]))
    server.clock.advance(61)
    with server.http() as browser:
        moved = begin(browser, DOCUMENT, redirect_uri="https://elsewhere.example/cb")[0]
    assert moved.status_code == 303, moved.text
    stored = server.store.client(DOCUMENT)
    assert stored is not None and stored.approved_scope == ""
    assert introspect(server, token["access_token"]).json() == {"active": False}


def test_the_local_warning_follows_the_redirect_uri_used(
    server: AuthServer, internet: Internet
) -> None:
    internet.publish(DOCUMENT, client_document(
        DOCUMENT, [REDIRECT_URI, "https://assistant.example/callback"]))
    pages = {}
    for redirect_uri in (REDIRECT_URI, "https://assistant.example/callback"):
        with server.http() as browser:
            interaction = begin(browser, DOCUMENT, redirect_uri=redirect_uri)[0].headers["location"]
            post_form(browser, interaction, f"{interaction}/login",
                      email=server.account().email, password="correct-horse-battery")
            pages[redirect_uri] = browser.get(interaction).text
    assert "runs on your own computer" in pages[REDIRECT_URI]
    assert "runs on your own computer" not in pages["https://assistant.example/callback"]
