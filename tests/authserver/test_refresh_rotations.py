"""The refresh grant's store path: its one joined read, the client read without the ORM, and
rotations committed in groups by one writer, each rotation all or nothing on its own."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select, text, update
from sqlmodel import col

from authserver.models import Account, AuditEvent, Grant, RefreshToken
from authserver.store import Store
from shared import database, session_bounds
from shared.database import create_db_engine
from tests.databases import Databases, both_backends, postgresql_only
from tests.flow import refresh, successors, tokens_for
from tests.harness import AuthServer, start_auth_server


def _spendable(server: AuthServer, client_id: str, count: int) -> list[RefreshToken]:
    """``count`` live refresh tokens of one grant, each from its own code exchange."""
    email = server.account().email
    found = []
    for _ in range(count):
        value = tokens_for(server, client_id, email)["refresh_token"]
        row = server.store.refresh_token(server.keys.hash_secret(value))
        assert row is not None
        found.append(row)
    return found


def _rotate(server: AuthServer, spent: RefreshToken, suffix: str) -> bool:
    access, successor = successors(spent, suffix)
    event_row = AuditEvent(at=1, event="token.refreshed", detail={"caller": suffix})
    return server.store.rotate_refresh_token(
        spent.token_hash, server.clock(), access, successor, b"sealed", event_row
    )


@contextmanager
def _first_rotation_held(server: AuthServer, token_hash: str) -> Iterator[None]:
    """Another transaction holds what the writer's next spend needs (the token's row on
    PostgreSQL, the database's write lock on SQLite), until the block ends."""
    with server.store._engine.connect() as holder:
        if holder.dialect.name == "sqlite":
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.execute(
                select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash)
                .with_for_update()
            )
        yield
        holder.rollback()


def _queued(server: AuthServer, count: int) -> None:
    """Wait until ``count`` rotations wait behind the one the writer is on."""
    deadline = time.monotonic() + 10
    while server.store._rotations._queue.qsize() < count:
        assert time.monotonic() < deadline, "the rotations never queued"
        time.sleep(0.01)


def _grouped(
    server: AuthServer, first: RefreshToken, rotate_rest: list[Any]
) -> tuple[Future[bool], list[Future[bool]]]:
    """Rotate ``first`` while its row is held, then the rest while the writer waits on it: the
    rest are committed together, in the group after the first."""
    with ThreadPoolExecutor(max_workers=len(rotate_rest) + 1) as pool:
        with _first_rotation_held(server, first.token_hash):
            head = pool.submit(_rotate, server, first, "head")
            time.sleep(0.3)  # the writer takes it and waits on the held row
            assert not head.done()
            rest = [pool.submit(rotate) for rotate in rotate_rest]
            _queued(server, len(rotate_rest))
        for future in [head, *rest]:
            future.exception(timeout=30)
    return head, rest


def test_rotations_waiting_for_a_commit_share_the_next_one(
    auth_server: AuthServer, public_client: str
) -> None:
    """A durable commit (an fsync) per refresh capped the grant at a few hundred a second: the
    rotations that queue while one commits are committed together, in one transaction."""
    tokens = _spendable(auth_server, public_client, 8)
    commits: list[str] = []

    @event.listens_for(auth_server.store._engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None
        )

    auth_server.store._engine.dispose()  # every connection from now on is traced
    head, rest = _grouped(auth_server, tokens[0], [
        (lambda token=token, index=index: _rotate(auth_server, token, str(index)))
        for index, token in enumerate(tokens[1:])
    ])
    assert head.result() and all(future.result() for future in rest)
    assert len(commits) == 2  # the first alone, the seven that waited for it together
    stored = [auth_server.store.refresh_token(f"rt-{index}") for index in range(7)]
    assert all(row is not None for row in stored)
    assert len(auth_server.store.audit_events(event="token.refreshed")) == 8


@both_backends
def test_a_rotation_that_fails_fails_alone(auth_server: AuthServer, public_client: str) -> None:
    """A rotation the database refuses (here a successor's hash that exists already) raises in
    its own caller; the rotations committed beside it are stored, and its token stays live."""
    first, bad, *good = _spendable(auth_server, public_client, 5)
    existing = auth_server.store.live_refresh_token(first.token_hash)
    assert existing is not None

    def rotate_bad() -> bool:
        access, successor = successors(bad, "bad")
        successor.token_hash = good[0].token_hash  # taken: a unique key refuses it
        event_row = AuditEvent(at=1, event="token.refreshed", detail={"caller": "bad"})
        return auth_server.store.rotate_refresh_token(
            bad.token_hash, auth_server.clock(), access, successor, b"sealed", event_row
        )

    rotations = [rotate_bad] + [
        (lambda token=token, index=index: _rotate(auth_server, token, str(index)))
        for index, token in enumerate(good)
    ]
    head, (failed, *won) = _grouped(auth_server, first, rotations)
    assert head.result()
    # The driver's own error: the writer runs on a raw DB-API connection.
    dbapi = auth_server.store._engine.dialect.dbapi
    assert dbapi is not None and isinstance(failed.exception(), dbapi.IntegrityError)
    assert all(future.result() for future in won)
    unspent = auth_server.store.refresh_token(bad.token_hash)
    assert unspent is not None and unspent.spent_at is None
    assert auth_server.store.access_token("at-bad") is None
    callers = {row.detail["caller"] for row in auth_server.store.audit_events(
        event="token.refreshed")}
    assert callers == {"head", *(str(index) for index in range(len(good)))}


@both_backends
def test_the_joined_read_says_what_the_grant_checks(
    auth_server: AuthServer, public_client: str
) -> None:
    """One read tells the spent state, the sealed replay (bytes on both drivers), whether the
    grant is live and the role of an active account (none once it is disabled)."""
    (token,) = _spendable(auth_server, public_client, 1)
    store = auth_server.store
    live = store.live_refresh_token(token.token_hash)
    assert live is not None
    assert (live.live_grant_id, live.account_role) == (token.grant_id, "patient")
    assert live.spent_at is None
    assert _rotate(auth_server, token, "x")
    spent = store.live_refresh_token(token.token_hash)
    assert spent is not None and spent.spent_at is not None and spent.replay == b"sealed"
    with store._engine.begin() as connection:
        connection.execute(update(Account).values(disabled=True))
        connection.execute(update(Grant).values(revoked_at=1))
    dead = store.live_refresh_token(token.token_hash)
    assert dead is not None and (dead.live_grant_id, dead.account_role) == (None, None)
    assert store.live_refresh_token("no such hash") is None


@both_backends
def test_the_client_to_read_is_the_stored_client(auth_server: AuthServer) -> None:
    """The raw row decodes JSON columns and booleans as the ORM does, on both drivers."""
    client_id = auth_server.client(public=False).id
    store = auth_server.store
    with store._engine.begin() as connection:
        connection.execute(text("UPDATE client SET blocked = :yes, extra_metadata = :meta "
                                "WHERE client_id = :id"),
                           {"yes": True, "meta": '{"logo_uri": "https://x.test/l.png", "n": 2}',
                            "id": client_id})
    stored, read = store.client(client_id), store.client_to_read(client_id)
    assert stored is not None and read is not None
    assert read.model_dump() == stored.model_dump()
    assert read.blocked is True and read.extra_metadata["n"] == 2
    assert store.client_to_read("no such client") is None


def test_a_database_that_fails_whole_fails_the_group_at_once(
    auth_server: AuthServer, public_client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write lock not had in time is no one rotation's fault: retried one by one, each
    waited the whole timeout again while every later refresh queued behind. Each caller gets
    the driver's error after one wait, and its token stays live."""
    tokens = _spendable(auth_server, public_client, 4)
    monkeypatch.setattr(database, "_WRITE_WAIT_SECONDS", 0.5)
    writer = auth_server.store._rotations
    attempts: list[int] = []
    transaction = writer._transaction

    def counted(group: list[Any]) -> None:
        attempts.append(len(group))
        transaction(group)

    monkeypatch.setattr(writer, "_transaction", counted)
    lock = database._WRITE_LOCKS[auth_server.store._engine]
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool, lock:
        futures = [pool.submit(_rotate, auth_server, token, str(index))
                   for index, token in enumerate(tokens)]
        errors = [future.exception(timeout=30) for future in futures]
    assert all(isinstance(error, sqlite3.OperationalError) for error in errors), errors
    # Each rotation was attempted once, in whichever group it joined: none alone again.
    assert sum(attempts) == len(tokens), attempts
    for token in tokens:
        live = auth_server.store.refresh_token(token.token_hash)
        assert live is not None and live.spent_at is None


@postgresql_only
def test_a_group_in_deadlock_with_another_replicas_is_retried_one_by_one(
    auth_server: AuthServer, public_client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas' groups touching the same clients in another order: PostgreSQL aborts one
    of them, and each of its rotations alone then gets through (no server_error)."""
    token, = _spendable(auth_server, public_client, 1)
    writer = auth_server.store._rotations
    transaction, attempts = writer._transaction, []

    def deadlocked_once(group: list[Any]) -> None:
        attempts.append(len(group))
        if len(attempts) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        transaction(group)

    monkeypatch.setattr(writer, "_transaction", deadlocked_once)
    assert _rotate(auth_server, token, "retried") is True
    assert attempts == [1, 1]
    spent = auth_server.store.refresh_token(token.token_hash)
    assert spent is not None and spent.spent_at is not None


@postgresql_only
def test_a_refresh_kept_waiting_for_a_lock_fails_in_time_and_spends_nothing(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock nobody gives back (another replica frozen in its transaction, an operator's
    transaction left open): the refresh fails at the session's lock timeout, where it waited
    as long as the lock was held, and every refresh queued behind it with it. The client
    gets a server error, its refresh token stays valid, and once the lock is gone the same
    refresh goes through."""
    monkeypatch.setattr(session_bounds, "LOCK_TIMEOUT", "300ms")
    with start_auth_server(databases) as server:
        client_id = server.client(public=True).id
        value = tokens_for(server, client_id, server.account().email)["refresh_token"]
        with (ThreadPoolExecutor(max_workers=1) as pool,
              _first_rotation_held(server, server.keys.hash_secret(value))):
            waiting = pool.submit(refresh, server, client_id, value)
            refused = waiting.result(timeout=10)  # the lock is still held meanwhile
        assert refused.status_code == 500 and refused.json()["error"] == "server_error"
        assert refresh(server, client_id, value).status_code == 200


def test_hot_reads_keep_a_connection_in_every_worker_thread(databases: Databases) -> None:
    """The refresh grant's reads run in the thread pool (40 threads, which end when idle and
    are replaced): on a SQLite file each thread keeps its own connection, which nothing may
    close under it however many threads have come and gone (SQLAlchemy's pool of one per
    thread closed arbitrary ones past 64)."""
    store = Store(create_db_engine(databases.url("auth", "authserver")))
    threads = 80
    start = threading.Barrier(threads, timeout=20)

    def read(_index: int) -> None:
        start.wait()
        for _ in range(3):
            assert store.live_refresh_token("no such hash") is None
            start.wait()

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(read, range(threads)))
    finally:
        store.dispose()


def test_a_thread_has_one_hot_read_connection_which_ends_with_it(databases: Databases) -> None:
    """One connection per thread, whichever of the store's hot reads it runs; and idle worker
    threads end and new ones start: the connections of the ones gone are closed, not kept
    open (file descriptors each) for threads that will never read again."""
    url = databases.url("auth", "authserver")
    path = os.path.realpath(url.removeprefix("sqlite:///"))
    store = Store(create_db_engine(url))

    def open_files() -> int:
        names = (os.path.join("/proc/self/fd", fd) for fd in os.listdir("/proc/self/fd"))
        return sum(1 for name in names if _target(name) == path)

    def two_reads() -> None:
        assert store.live_refresh_token("no such hash") is None
        assert store.client_to_read("no such client") is None

    try:
        assert store.live_refresh_token("no such hash") is None  # this thread's connection
        before = open_files()
        assert store.client_to_read("no such client") is None  # another hot read: the same
        assert open_files() == before
        for _ in range(20):
            thread = threading.Thread(target=two_reads)
            thread.start()
            thread.join()
        assert open_files() <= before + 1  # the last thread's may still be closing
    finally:
        store.dispose()


def _target(fd_path: str) -> str | None:
    try:
        return os.readlink(fd_path)
    except OSError:  # closed meanwhile
        return None
