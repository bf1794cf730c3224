"""POST /api/mcp/validate, for the FastMCP servers that still call it: HospiAI's answer shape,
introspection's rules (personal tokens only, audience, revocation, legacy JWTs), deprecated
in its headers, counted per caller in the metrics, and absent unless turned on."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from authserver.endpoints.validate import CREDENTIALS_HEADER, PATH
from tests.databases import Databases, both_backends
from tests.flow import create_personal_token, logged_in, new_personal_token, tokens_for
from tests.harness import AuthServer, start_auth_server
from tests.legacy_jwts import LEGACY_SECRET, import_records, legacy_jwt, record

pytestmark = both_backends

SUNSET = datetime.date(2027, 6, 30)


@pytest.fixture
def server(databases: Databases) -> Iterator[AuthServer]:
    with start_auth_server(
        databases, legacy_validate="credentials", legacy_token_secret=LEGACY_SECRET,
        legacy_sunset=SUNSET,
    ) as started:
        yield started


def _validate(
    server: AuthServer, token: str | None, credentials: tuple[str, str] | None = None
) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if credentials is not None:
        headers[CREDENTIALS_HEADER] = ":".join(credentials)
    with server.http() as client:
        return client.post(PATH, headers=headers)


def _rs(server: AuthServer) -> tuple[str, str]:
    return server.resource_server.id, server.resource_server.secret or ""


def _personal_token(server: AuthServer, email: str) -> str:
    with logged_in(server, email) as browser:
        return new_personal_token(create_personal_token(browser, server, name="Le Chat"))


def test_a_personal_token_answers_in_hospiais_shape(server: AuthServer) -> None:
    account = server.account()
    token = _personal_token(server, account.email)
    response = _validate(server, token, _rs(server))
    assert response.status_code == 200, response.text
    body = response.json()
    [(grant, stored)] = server.store.personal_tokens(account.id, server.clock())
    expires = datetime.datetime.fromtimestamp(stored.expires_at, datetime.UTC)
    assert body == {
        "valid": True,
        "user": {
            "id": account.id, "email": account.email, "firstname": "Alice", "surname": "Martin",
            "phoneNumber": "+33 1 23 45 67 89",
        },
        "token": {
            "id": grant.id, "name": "Le Chat", "scopes": ["read:data", "read:bookings"],
            "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "scopes": ["read:data", "read:bookings"],
    }
    # RFC 9745 and RFC 8594: deprecated, and when it goes.
    assert response.headers["deprecation"].startswith("@")
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert response.headers["cache-control"] == "no-store"


def test_an_imported_legacy_jwt_keeps_its_id(server: AuthServer, tmp_path: Path) -> None:
    account = server.account()
    import_records(server, tmp_path / "t.jsonl", [record("tok-41", account.email)])
    body = _validate(server, legacy_jwt("tok-41"), _rs(server)).json()
    assert body["valid"] is True and body["user"]["id"] == account.id
    assert body["token"]["id"] == "tok-41" and body["token"]["expiresAt"] == "2999-01-01T00:00:00Z"
    assert _validate(server, legacy_jwt("tok-41", secret="x" * 40), _rs(server)).status_code == 401


def test_refusals_are_401_with_an_error_and_counted(server: AuthServer) -> None:
    account = server.account()
    token = _personal_token(server, account.email)
    oauth_token = tokens_for(
        server, server.client(public=True).id, account.email, scope="read:data"
    )["access_token"]
    other = server.add_resource_server("http://127.0.0.1:8001/mcp")
    refusals = {
        "no credentials": _validate(server, token),
        "a wrong secret": _validate(server, token, (server.resource_server.id, "wrong")),
        "no token": _validate(server, None, _rs(server)),
        "an unknown token": _validate(server, "hospiai_pat_unknown", _rs(server)),
        "an OAuth access token": _validate(server, oauth_token, _rs(server)),
        "another audience": _validate(server, token, (other.id, other.secret or "")),
    }
    for why, response in refusals.items():
        assert response.status_code == 401, why
        assert set(response.json()) == {"error"}, why
        assert response.headers["deprecation"].startswith("@"), why
    with server.http() as client:
        # The revoked token is refused too.
        [(grant, _)] = server.store.personal_tokens(account.id, server.clock())
        server.store.revoke_grant(grant.id, server.clock())
        assert _validate(server, token, _rs(server)).status_code == 401
        metrics = client.get("/metrics").text
    counted = "hospiai_legacy_validations_total{{caller=\"{}\",outcome=\"invalid\"}} {}"
    assert counted.format("unauthenticated", "2.0") in metrics
    assert counted.format(server.resource_server.id, "4.0") in metrics
    assert counted.format(other.id, "1.0") in metrics


def test_bearer_mode_takes_the_token_alone_for_the_default_resource(
    databases: Databases,
) -> None:
    with start_auth_server(databases, legacy_validate="bearer") as server:
        token = _personal_token(server, server.account().email)
        response = _validate(server, token)
        assert response.status_code == 200 and response.json()["valid"] is True
        assert "sunset" not in response.headers
        with server.http() as client:
            metrics = client.get("/metrics").text
        assert 'hospiai_legacy_validations_total{caller="bearer",outcome="valid"} 1.0' in metrics


def test_off_unless_turned_on(auth_server: AuthServer) -> None:
    token = _personal_token(auth_server, auth_server.account().email)
    assert _validate(auth_server, token, _rs(auth_server)).status_code == 404
