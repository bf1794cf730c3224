"""SQLite's writers queue on one lock per process: every concurrent write lands, and the lock
is given back however a write transaction ends (commit, rollback, a conflict, an exception)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from authserver.models import Account, AuditEvent
from authserver.store import Store
from shared import database
from shared.database import create_db_engine
from tests.databases import Databases

WRITERS, WRITES = 16, 25


@pytest.fixture
def store(databases: Databases) -> Iterator[Store]:
    found = Store(create_db_engine(databases.url("auth")))
    found.upgrade_schema()
    yield found
    found.dispose()


def _account(account_id: str) -> Account:
    return Account(id=account_id, email=f"{account_id}@hospiai.test",
                   email_key=f"{account_id}@hospiai.test", password_hash="x",
                   given_name="A", family_name="B", created_at=0)


def test_concurrent_writers_all_land(store: Store) -> None:
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        start.wait()
        for index in range(WRITES):
            store.record(AuditEvent(at=index, event="bench.write", detail={"by": writer}))

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    assert len(store.audit_events(limit=WRITERS * WRITES + 1)) == WRITERS * WRITES


def test_the_lock_is_given_back_however_a_write_ends(store: Store) -> None:
    store.add_account(_account("acc_1"))
    # A conflict: the insert fails and the transaction is rolled back.
    with store._session() as session:
        session.add(_account("acc_1"))
        assert not store._commit_new(session)
    # An exception inside a write transaction: the session closes without a commit.
    with pytest.raises(RuntimeError), store._session() as session:
        session.add(_account("acc_2"))
        session.flush()
        raise RuntimeError("abandoned")
    # Each of these would wait for the lock forever (30 s, then "database is locked") had one
    # of the ends above kept it; from another thread, as a worker thread would write.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(store.add_account, _account("acc_3")).result()
    store.add_account(_account("acc_2"))
    assert store.account("acc_2") is not None and store.account("acc_3") is not None


def _write_raw(store: Store) -> None:
    with database.write_lock(store._engine):
        pass


def test_a_raw_writer_waits_for_the_lock_then_fails_as_the_others_do(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh rotations write on a raw connection through `write_lock`: behind a stuck
    writer it gives up after the writers' wait with SQLite's own error, never hangs."""
    if store._engine.dialect.name != "sqlite":
        pytest.skip("only SQLite's writers queue on a process lock")
    monkeypatch.setattr(database, "_WRITE_WAIT_SECONDS", 0.2)
    with store._session() as session:
        session.add(_account("acc_1"))
        session.flush()  # this transaction now holds the lock
        with pytest.raises(sqlite3.OperationalError, match="locked"), ThreadPoolExecutor(
            max_workers=1
        ) as pool:
            pool.submit(_write_raw, store).result()
        session.commit()
    with database.write_lock(store._engine):  # given back once the transaction ended
        pass
