"""POST /introspect skips most of the middleware stack (authserver.endpoints.Shortcut): what it
skips must not change an answer. Malformed requests are still OAuth errors, not 500s; another
method, a query, a trailing slash take the whole stack; the outer layers still mark every
answer."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy

from tests.databases import both_backends
from tests.flow import tokens_for
from tests.harness import AuthServer

pytestmark = both_backends
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _credentials(server: AuthServer) -> tuple[str, str]:
    rs = server.resource_server
    return rs.id, rs.secret or ""


def test_malformed_introspection_requests_are_oauth_errors(auth_server: AuthServer) -> None:
    auth = _credentials(auth_server)
    with auth_server.http() as http:
        too_large = http.post("/introspect", content=b"token=" + b"x" * 70_000, headers=FORM,
                              auth=auth)
        nul = http.post("/introspect", content=b"token=a%00b", headers=FORM, auth=auth)
        unreadable = http.post("/introspect", content=b"token=\xff", headers=FORM, auth=auth)
        basic = http.post("/introspect", data={"token": "x"}, headers={
            "authorization": "Basic " + base64.b64encode(b"no-colon").decode()})
    for response, status, error in ((too_large, 400, "invalid_request"),
                                    (nul, 400, "invalid_request"),
                                    (unreadable, 400, "invalid_request"),
                                    (basic, 401, "invalid_client")):
        assert response.status_code == status, response.text
        assert response.json()["error"] == error
        assert response.headers["cache-control"] == "no-store"
    assert nul.json()["error_description"] == "The request contains a NUL character."


def test_introspection_off_the_shortcut_gets_the_whole_stack(auth_server: AuthServer) -> None:
    auth = _credentials(auth_server)
    with auth_server.http() as http:
        nul_query = http.post("/introspect?x=%00", data={"token": "x"}, auth=auth)
        get = http.get("/introspect")
        slash = http.post("/introspect/", data={"token": "x"}, auth=auth)
        preflight = http.options("/introspect", headers={
            "origin": "https://page.example", "access-control-request-method": "POST"})
    assert nul_query.status_code == 400
    assert nul_query.json()["error_description"] == "The request contains a NUL character."
    assert get.status_code == 405
    assert slash.status_code == 307 and slash.headers["location"].endswith("/introspect")
    assert "access-control-allow-origin" not in preflight.headers


def test_introspection_answers_carry_the_outer_layers(auth_server: AuthServer) -> None:
    client_id = auth_server.client(public=True).id
    token = tokens_for(auth_server, client_id, auth_server.account().email)["access_token"]
    with auth_server.http() as http:
        active = http.post("/introspect", data={"token": token}, auth=_credentials(auth_server),
                           headers={"x-request-id": "rs-call-1", "origin": "https://page.example"})
    assert active.status_code == 200 and active.json()["active"] is True
    assert active.headers["x-request-id"] == "rs-call-1"
    assert active.headers["x-content-type-options"] == "nosniff"
    assert active.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in active.headers


def test_a_crash_on_the_shortcut_is_the_apps_500_with_the_outer_layers(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Past Starlette's error middleware, the shortcut answers a crash itself: the OAuth
    server_error (no detail), never cached, with the request id and the fixed headers, and the
    detail in the log."""
    url = auth_server.settings.database_url
    cascade = " CASCADE" if url.startswith("postgresql") else ""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as database:
        database.exec_driver_sql(f"DROP TABLE resourceserver{cascade}")
    engine.dispose()
    with auth_server.http() as http:
        crashed = http.post("/introspect", data={"token": "x"}, auth=_credentials(auth_server),
                            headers={"x-request-id": "rs-call-2"})
    assert crashed.status_code == 500
    assert crashed.json() == {"error": "server_error",
                              "error_description": "An internal error occurred."}
    assert crashed.headers["cache-control"] == "no-store"
    assert crashed.headers["x-request-id"] == "rs-call-2"
    assert crashed.headers["x-frame-options"] == "DENY"
    assert "resourceserver" not in crashed.text
    assert "unhandled error on POST /introspect" in caplog.text
