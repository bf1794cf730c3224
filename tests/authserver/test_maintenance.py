"""Garbage collection: dead rows and forgotten dynamic clients go; nothing usable does."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from authserver.maintenance import purge
from authserver.provisioning import create_account
from authserver.store import Store
from authserver.store import purge as purging
from shared.database import create_db_engine
from tests.authserver.test_cli import _env, _hospiai
from tests.databases import Databases, both_backends, postgresql_only
from tests.flow import REDIRECT_URI, authorize, exchange, refresh, tokens_for
from tests.harness import AuthServer, start_auth_server

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

DAY = 86400


def _register(
    server: AuthServer, grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
) -> str:
    with server.http() as client:
        response = client.post("/register", json={
            "client_name": "Claude", "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none", "grant_types": list(grant_types)})
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


@both_backends
def test_purge_removes_only_what_can_no_longer_be_used(auth_server: AuthServer) -> None:
    email = auth_server.account().email
    forgotten, connected, disconnected = (_register(auth_server) for _ in range(3))
    # Registered without the refresh_token grant, so its grant has no refresh token: it lapses.
    lapsed = _register(auth_server, grant_types=("authorization_code",))
    assert "refresh_token" not in tokens_for(auth_server, lapsed, email, scope="read:data")
    preregistered = auth_server.client(public=True).id
    kept = tokens_for(auth_server, connected, email)
    spent = kept["refresh_token"]
    kept = refresh(auth_server, connected, spent).json()
    dropped = tokens_for(auth_server, disconnected, email)
    with auth_server.http() as client:
        client.post("/revoke", data={"token": dropped["refresh_token"], "client_id": disconnected})
    unexchanged = authorize(auth_server, connected, email)  # a code nobody exchanges
    store = auth_server.store

    # Within the retention nothing goes: a late replay is still caught.
    auth_server.clock.advance(2 * 3600)
    assert purge(auth_server.settings, store, auth_server.clock())["refresh_tokens"] == 0
    auth_server.clock.advance(8 * DAY)
    counts = purge(auth_server.settings, store, auth_server.clock())

    for gone in (forgotten, disconnected, lapsed):
        assert store.client(gone) is None
        assert not store.live_grants(client_id=gone)
    assert store.client(connected) is not None  # a working refresh token: never deleted
    assert store.client(preregistered) is not None  # only dynamic clients are collected
    assert counts["clients"] == 3
    assert counts["codes"] >= 1 and counts["access_tokens"] >= 2 and counts["refresh_tokens"] >= 1
    hash_of = auth_server.keys.hash_secret
    assert store.code(hash_of(unexchanged.params["code"])) is None
    assert store.refresh_token(hash_of(spent)) is None
    assert store.access_token(hash_of(kept["access_token"])) is None
    # The live refresh token still works after the purge.
    renewed = refresh(auth_server, connected, kept["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert purge(auth_server.settings, store, auth_server.clock())["clients"] == 0
    # The audit log is kept a year, then goes.
    assert store.audit_events(event="client.registered")
    auth_server.clock.advance(366 * DAY)
    assert purge(auth_server.settings, store, auth_server.clock())["audit_events"] > 0
    assert not store.audit_events()


@both_backends
def test_purge_runs_on_a_schedule(databases: Databases) -> None:
    with start_auth_server(databases, purge_interval=1, purge_retention=60) as server:
        client_id = server.client(public=True).id
        result = authorize(server, client_id, server.account().email)
        server.clock.advance(3600)
        deadline = time.monotonic() + 10
        while server.store.code(server.keys.hash_secret(result.params["code"])) is not None:
            assert time.monotonic() < deadline, "the scheduled purge never ran"
            time.sleep(0.2)
        expired = exchange(server, client_id, result.params["code"], result.verifier)
        assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


@postgresql_only
def test_a_revocation_never_waits_for_a_purge(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every revocation locks the feed's table (store.security_events): it must not wait while
    the purge's long transaction runs, only for the purge's own short one of feed events."""
    store = Store(create_db_engine(databases.url("auth", "authserver")))
    account = create_account(store, email="purge@hospiai.test", password="purge-password-1",
                             given_name="P", family_name="P", now=int(time.time()))
    purging_rest, go_on = threading.Event(), threading.Event()
    orphans = purging._delete_orphans

    def slow_orphans(session: Any) -> None:
        purging_rest.set()
        go_on.wait(timeout=30)
        orphans(session)

    monkeypatch.setattr(purging, "_delete_orphans", slow_orphans)
    now = int(time.time()) + 2 * DAY  # past the feed's retention: its events are deleted
    purger = threading.Thread(target=store.purge, args=(now,), kwargs={
        "retention": 60, "unused_client_age": DAY, "unused_registration_age": DAY,
        "audit_retention": DAY, "attempt_window": 60})
    disabling = threading.Thread(
        target=store.set_account_disabled, args=(account.id, True, int(time.time()))
    )
    purger.start()
    try:
        assert purging_rest.wait(timeout=30)
        disabling.start()
        disabling.join(timeout=10)
        assert not disabling.is_alive(), "the revocation waited for the purge's transaction"
        assert store.account(account.id).disabled  # type: ignore[union-attr]
    finally:
        go_on.set()
        purger.join(timeout=30)
        if disabling.is_alive():
            disabling.join(timeout=30)
        store.dispose()


def test_hospiai_maintenance_purge(tmp_path: Path) -> None:
    env = _env(tmp_path, 9000)
    assert _hospiai(env, "db", "upgrade").returncode == 0
    result = _hospiai(env, "maintenance", "purge")
    assert result.returncode == 0, result.stderr
    for kind in ("interactions", "codes", "access_tokens", "refresh_tokens", "audit_events",
                 "clients"):
        assert f"{kind}: 0 deleted" in result.stdout
