"""Introspection runs on the event loop with its reads awaited: it never waits for a worker
thread, and on PostgreSQL it survives the database dropping its connections."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.app import create_app
from tests.databases import Databases, both_backends
from tests.flow import tokens_for
from tests.harness import AuthServer
from tests.servers import bind_loopback, serve

pytestmark = both_backends


class BusyThreads:
    """The app with its event loop's one worker thread taken until ``release``: whatever
    needs a worker thread waits, and what runs on the loop answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.release = threading.Event()
        self._holder: asyncio.Future[Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self._holder is None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = 1
            self._holder = asyncio.ensure_future(anyio.to_thread.run_sync(self.release.wait))
        await self.app(scope, receive, send)


@contextmanager
def busy_threads(server: AuthServer) -> Iterator[str]:
    """A second authorization server on the same database, its worker threads busy: its URL."""
    app = BusyThreads(create_app(server.settings, clock=server.clock))
    sock = bind_loopback()
    with serve(app, sock):
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            app.release.set()


def test_introspection_answers_while_every_worker_thread_is_busy(auth_server: AuthServer) -> None:
    client_id = auth_server.client(public=True).id
    token = tokens_for(auth_server, client_id, auth_server.account().email)["access_token"]
    rs = auth_server.resource_server
    with busy_threads(auth_server) as url:
        response = httpx.post(f"{url}/introspect", data={"token": token},
                              auth=(rs.id, rs.secret or ""), timeout=5)
    assert response.status_code == 200
    assert response.json()["active"] is True


def test_introspection_reconnects_after_the_database_drops_its_connections(
    auth_server: AuthServer, databases: Databases
) -> None:
    if databases.backend != "postgresql":
        pytest.skip("SQLite has no connections to drop")
    client_id = auth_server.client(public=True).id
    token = tokens_for(auth_server, client_id, auth_server.account().email)["access_token"]
    assert _introspect(auth_server, token)["active"] is True
    # What a restart or a failover does to every connection the server holds.
    with auth_server.store._engine.connect() as connection:
        dropped = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one()
    assert dropped >= 1
    assert _introspect(auth_server, token)["active"] is True


def _introspect(server: AuthServer, token: str) -> dict[str, Any]:
    rs = server.resource_server
    with server.http() as http:
        response = http.post("/introspect", data={"token": token}, auth=(rs.id, rs.secret or ""))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
