"""Anonymous registration floods (issue 13 item 2): registrations are limited per network, on
rows every replica counts; what a client registers is bounded, its name shown as registered;
the admin client list is paged; registrations never used for a code are purged after a day."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authserver.maintenance import purge
from authserver.oauth.cimd import document_columns
from authserver.oauth.egress import FetchError
from tests.databases import Databases, both_backends
from tests.flow import REDIRECT_URI, authorize, logged_in
from tests.harness import AuthServer, start_auth_server
from tests.internet import client_document

LIMIT, WINDOW = 3, 600
DAY = 86400
# Another network: the server listens on 127.0.0.1, and Linux routes all of 127/8 to loopback.
OTHER_NETWORK = "127.0.0.2"
DOCUMENT = "https://assistant.example/oauth/client.json"


def _metadata(**fields: Any) -> dict[str, Any]:
    return {"client_name": "Claude", "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none", **fields}


def _register(server: AuthServer, body: Any = None, *, source: str | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source) if source else None
    with httpx.Client(base_url=server.url, timeout=10, transport=transport) as http:
        return http.post("/register", json=_metadata() if body is None else body)


def _registered(server: AuthServer) -> list[str]:
    return [c.client_id for c in server.store.clients(offset=0, limit=200) if c.kind == "dynamic"]


def _refused(response: httpx.Response, error: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error, body
    return str(body["error_description"])


@pytest.fixture
def limited(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(
        databases, registrations_per_network=LIMIT, registration_window=WINDOW
    ) as server:
        server.clock.freeze()
        yield server


def _throttled(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(retry_after)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert "Too many client registrations" in body["error_description"]


# -- the limit --------------------------------------------------------------------------------


@both_backends
def test_registrations_past_the_limit_from_one_network_are_429(limited: AuthServer) -> None:
    assert _register(limited).status_code == 201
    limited.clock.advance(100)
    for _ in range(LIMIT - 1):
        assert _register(limited).status_code == 201
    _throttled(_register(limited), WINDOW - 100)
    # Invalid or refused bodies cost a slot too, and refused ones are not stored.
    _throttled(_register(limited, {"redirect_uris": []}), WINDOW - 100)
    assert len(_registered(limited)) == LIMIT
    # Another network is not affected.
    assert _register(limited, source=OTHER_NETWORK).status_code == 201
    # Refusals do not stretch the cool-down: once the oldest leaves the window, one more.
    limited.clock.advance(WINDOW - 100)
    assert _register(limited).status_code == 201
    _throttled(_register(limited), 100)


@both_backends
def test_replicas_on_one_database_share_the_count(databases: Databases) -> None:
    shared: dict[str, Any] = {"registrations_per_network": LIMIT, "registration_window": WINDOW,
              "secret_key": secrets.token_urlsafe(32)}
    with (
        start_auth_server(databases, **shared) as first,
        start_auth_server(databases, resource="http://127.0.0.1:8001/mcp", **shared) as second,
    ):
        first.clock.freeze()
        second.clock.frozen_at = first.clock.frozen_at
        assert _register(first).status_code == 201
        assert _register(second).status_code == 201
        assert _register(first).status_code == 201
        _throttled(_register(second), WINDOW)
        _throttled(_register(first), WINDOW)


def test_the_limit_has_a_secure_default_and_is_validated() -> None:
    from authserver.settings import Settings
    from shared.settings import SettingsError

    env = {"HOSPIAI_ISSUER": "http://127.0.0.1:9000", "HOSPIAI_SECRET_KEY": "k" * 32}
    settings = Settings.from_env(env)
    assert (settings.registrations_per_network, settings.registration_window) == (20, 600)
    assert settings.unused_registration_age == DAY
    for name, value in [("HOSPIAI_REGISTRATIONS_PER_NETWORK", "0"),
                        ("HOSPIAI_REGISTRATION_WINDOW", "59"),
                        ("HOSPIAI_UNUSED_REGISTRATION_AGE", "599"),
                        ("HOSPIAI_UNUSED_REGISTRATION_AGE", str(31 * DAY))]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**env, name: value})


# -- client_name --------------------------------------------------------------------------------

REFUSED_NAMES = [
    pytest.param("Claude\u202eevil", "bidirectional", id="right-to-left override"),
    pytest.param("\u2066Claude\u2069", "bidirectional", id="isolates"),
    pytest.param("Cl\u200daude", "bidirectional", id="zero-width joiner"),
    pytest.param("\u200b", "bidirectional", id="zero-width space only"),
    pytest.param("\ufeffClaude", "bidirectional", id="byte order mark"),
    pytest.param("Claude\x07", "control", id="bell"),
    pytest.param("Claude\nAdmin", "control", id="newline"),
    pytest.param("\x1b[31mred", "control", id="escape"),
    pytest.param("Claude\u2028x", "control", id="line separator"),
    pytest.param("   ", "visible", id="spaces only"),
    pytest.param("\u3164\u3164", "visible", id="hangul fillers only"),
    pytest.param("\u0301\u0301", "visible", id="combining marks only"),
    pytest.param("", "visible", id="empty"),
    pytest.param("x" * 101, "at most 100", id="too long"),
]
ACCEPTED_NAMES = [
    "Claude", "Visual Studio Code", "Médecin IA", "مساعد المستشفى", "病院アシスタント", "x" * 100,
]


@both_backends
@pytest.mark.parametrize(("name", "reason"), REFUSED_NAMES)
def test_a_name_that_hides_or_reorders_text_is_refused(
    auth_server: AuthServer, name: str, reason: str
) -> None:
    assert reason in _refused(_register(auth_server, _metadata(client_name=name)),
                              "invalid_client_metadata")
    assert _registered(auth_server) == []


def test_a_lone_surrogate_in_the_name_is_refused(auth_server: AuthServer) -> None:
    with auth_server.http() as http:
        response = http.post(
            "/register", content=b'{"client_name": "\\ud800", "redirect_uris": ["%s"]}'
            % REDIRECT_URI.encode(), headers={"content-type": "application/json"},
        )
    assert "bidirectional" in _refused(response, "invalid_client_metadata")


@pytest.mark.parametrize("name", ACCEPTED_NAMES)
def test_names_in_any_script_register_as_given(auth_server: AuthServer, name: str) -> None:
    response = _register(auth_server, _metadata(client_name=name))
    assert response.status_code == 201, response.text
    assert response.json()["client_name"] == name


def test_an_update_and_a_document_follow_the_same_name_rule(auth_server: AuthServer) -> None:
    registered = _register(auth_server).json()
    with auth_server.http() as http:
        updated = http.put(
            f"/register/{registered['client_id']}",
            json={**_metadata(client_name="\u202eedualC"), "client_id": registered["client_id"]},
            headers={"authorization": f"Bearer {registered['registration_access_token']}"},
        )
    assert "bidirectional" in _refused(updated, "invalid_client_metadata")
    assert auth_server.store.client(registered["client_id"]).client_name == "Claude"  # type: ignore[union-attr]
    for name, reason in [("\u202eedualC", "bidirectional"), ("\u200b\u200b", "bidirectional"),
                         ("x" * 101, "at most 100")]:
        document = json.dumps(client_document(DOCUMENT, [REDIRECT_URI], client_name=name))
        with pytest.raises(FetchError) as refused:
            document_columns(DOCUMENT, document.encode(), frozenset())
        assert reason in refused.value.description


# -- bounds -----------------------------------------------------------------------------------

LONG_URI = "https://assistant.example/" + "a" * 2000
BOUNDS = [
    pytest.param({"redirect_uris": [f"http://127.0.0.1:{5000 + i}/cb" for i in range(11)]},
                 "invalid_redirect_uri", "at most 10 entries", id="eleven redirect URIs"),
    pytest.param({"redirect_uris": [LONG_URI]}, "invalid_redirect_uri", "at most 2000",
                 id="long redirect URI"),
    pytest.param({"contacts": [f"a{i}@example.com" for i in range(11)]},
                 "invalid_client_metadata", "contacts must have at most 10", id="many contacts"),
    pytest.param({"contacts": ["a" * 321]}, "invalid_client_metadata", "contacts must be at most",
                 id="long contact"),
    pytest.param({"grant_types": ["authorization_code"] * 11}, "invalid_client_metadata",
                 "grant_types must have at most", id="repeated grant types"),
    pytest.param({"client_uri": LONG_URI}, "invalid_client_metadata", "client_uri must be",
                 id="long client_uri"),
    pytest.param({"logo_uri": LONG_URI}, "invalid_client_metadata", "logo_uri must be",
                 id="long logo_uri"),
    pytest.param({"tos_uri": LONG_URI}, "invalid_client_metadata", "tos_uri", id="long tos_uri"),
    pytest.param({"policy_uri": LONG_URI}, "invalid_client_metadata", "policy_uri",
                 id="long policy_uri"),
    pytest.param({"scope": "read:data " * 120}, "invalid_client_metadata", "scope must be",
                 id="long scope"),
    pytest.param({"software_id": "s" * 201}, "invalid_client_metadata", "software_id",
                 id="long software_id"),
    pytest.param({"software_version": "1" * 201}, "invalid_client_metadata", "software_version",
                 id="long software_version"),
    pytest.param({"padding": "x" * 33_000}, "invalid_client_metadata", "at most 32768 bytes",
                 id="large body"),
]


@both_backends
@pytest.mark.parametrize(("fields", "error", "reason"), BOUNDS)
def test_every_field_list_and_the_body_are_bounded(
    auth_server: AuthServer, fields: dict[str, Any], error: str, reason: str
) -> None:
    assert reason in _refused(_register(auth_server, _metadata(**fields)), error)
    assert _registered(auth_server) == []


def test_metadata_at_the_bounds_registers(auth_server: AuthServer) -> None:
    at_bounds = _metadata(
        redirect_uris=[f"http://127.0.0.1:{5000 + i}/cb" for i in range(10)],
        contacts=[f"a{i}@example.com" for i in range(10)],
        client_uri="https://assistant.example/" + "a" * 1974,
    )
    response = _register(auth_server, at_bounds)
    assert response.status_code == 201, response.text


# -- the admin list ---------------------------------------------------------------------------


def _names_on(page: str) -> list[str]:
    return re.findall(r'<a href="/admin/clients/[^"]+">([^<]+)</a>', page)


@both_backends
def test_the_admin_client_list_is_paged_newest_first(auth_server: AuthServer) -> None:
    for index in range(120):
        auth_server.client(name=f"client {index:03}")
        if index % 7 == 0:
            auth_server.clock.advance(1)  # some share a creation second: the id orders them
    with logged_in(auth_server, auth_server.account("admin").email, "/admin") as admin:
        pages, url = [], "/admin"
        while url:
            page = admin.get(url)
            assert page.status_code == 200
            pages.append(_names_on(page.text))
            found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
            url = found.group(1) if found else ""
        assert [len(names) for names in pages] == [50, 50, 22]  # 120 and the two built-in ones
        seen = [name for names in pages for name in names]
        assert len(set(seen)) == 122
        newest_first = [n for n in seen if n.startswith("client ")]
        created = [c.client_name for c in auth_server.store.clients(offset=0, limit=200)]
        assert newest_first == [n for n in created if n.startswith("client ")]
        assert newest_first[0] == "client 119" or newest_first[0].startswith("client 11")
        second = admin.get("/admin?page=2").text
        assert 'href="/admin?page=1" rel="prev"' in second
        assert 'href="/admin?page=3" rel="next"' in second
        assert 'rel="prev"' not in admin.get("/admin").text
        # Nonsense or huge page numbers are a page, never an error.
        for odd in ("0", "-1", "²", "9" * 500, "abc"):
            assert admin.get("/admin", params={"page": odd}).status_code == 200


# -- purge ------------------------------------------------------------------------------------


@both_backends
def test_registrations_never_used_for_a_code_are_purged_after_a_day(
    auth_server: AuthServer,
) -> None:
    auth_server.clock.freeze()
    store, email = auth_server.store, auth_server.account().email
    unused, used = (_register(auth_server).json()["client_id"] for _ in range(2))
    authorize(auth_server, used, email)  # a grant and a code, never exchanged
    preregistered = auth_server.client(public=True).id
    store.save_metadata_client(*_document_client(auth_server))
    auth_server.clock.advance(DAY - 1)
    young = _register(auth_server).json()["client_id"]
    assert purge(auth_server.settings, store, auth_server.clock())["registrations"] == 0
    auth_server.clock.advance(2)
    assert purge(auth_server.settings, store, auth_server.clock())["registrations"] == 1
    assert store.client(unused) is None
    for kept in (used, young, preregistered, DOCUMENT):
        assert store.client(kept) is not None, kept
    auth_server.clock.advance(DAY)
    assert purge(auth_server.settings, store, auth_server.clock())["registrations"] == 1
    assert store.client(young) is None


def _document_client(server: AuthServer) -> tuple[Any, int]:
    from authserver.models import Client

    columns = document_columns(
        DOCUMENT, json.dumps(client_document(DOCUMENT, [REDIRECT_URI])).encode(), frozenset()
    )
    now = server.clock()
    return Client(client_id=DOCUMENT, kind="metadata_document", created_at=now,
                  metadata_expires_at=now + 3600, **columns), now
