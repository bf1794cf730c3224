"""The hot read path of the stores: fresh after writes, and usable again after dispose; and
PostgreSQL sessions that never wait without bound."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from authserver.provisioning import create_resource_server
from authserver.security import Keys
from authserver.store import Introspected, Store
from shared import session_bounds
from shared.database import create_db_engine
from shared.hot_reads import _conninfo
from tests.databases import Databases, both_backends, postgresql_only


@both_backends
def test_hot_read_sees_writes_and_survives_dispose(databases: Databases) -> None:
    store = Store(create_db_engine(databases.url("auth")))
    store.upgrade_schema()
    keys = Keys("k" * 32)
    assert store.introspection("rs_unknown", "hash", 0) is None
    # Written through the pooled engine after the hot path opened its own connection.
    rs = create_resource_server(
        store, keys, resource="https://records.hospiai.test/api", name="Records", now=0
    )
    found = store.introspection(rs.id, "hash", 0)
    assert found is not None and found.caller_resource == "https://records.hospiai.test/api"
    assert found.token is None
    store.dispose()
    again = store.introspection(rs.id, "hash", 0)
    assert again is not None and again.caller_secret_hash == found.caller_secret_hash
    store.dispose()


@both_backends
def test_concurrent_reads_on_the_loop_each_get_their_own_answer(databases: Databases) -> None:
    """On PostgreSQL the reads of one event loop share a pipelined connection, answered in
    the order they were sent: each caller must get its own row, and a read the database
    refuses fails alone."""
    store = Store(create_db_engine(databases.url("auth", "authserver")))
    keys = Keys("k" * 32)
    servers = [
        create_resource_server(store, keys, resource=f"https://rs{i}.hospiai.test/api",
                               name=f"RS {i}", now=0)
        for i in range(20)
    ]

    async def read_all() -> list[object]:
        reads = []
        for index, server in enumerate(servers):
            reads.append(store.introspection_on_loop(server.id, "hash", 0))
            reads.append(store.introspection_on_loop(f"rs_unknown_{index}", "hash", 0))
            if index == 10:  # out of BIGINT's range: the database refuses this one read
                reads.append(store.introspection_on_loop(server.id, "hash", 2**70))
        results: list[object] = list(await asyncio.gather(*reads, return_exceptions=True))
        await store.aclose()
        return results

    results = asyncio.run(read_all())
    refused = results.pop(22)
    assert isinstance(
        refused, psycopg.DatabaseError if databases.backend == "postgresql" else OverflowError
    )
    for index in range(len(servers)):
        found, unknown = results[2 * index], results[2 * index + 1]
        assert isinstance(found, Introspected), found
        assert found.caller_resource == f"https://rs{index}.hospiai.test/api"
        assert unknown is None


TIMEOUTS = ("lock_timeout", "idle_in_transaction_session_timeout")


@postgresql_only
def test_every_postgresql_session_has_bounded_waits_unless_something_else_sets_them(
    databases: Databases,
) -> None:
    """The engine's sessions and the event loop's pipelined one alike (its connection string
    is the engine's own, not its URL rendered again). A value set anywhere else wins: here
    the URL's options, then the database's own setting."""
    url = databases.url("auth", "authserver")
    name = make_url(url).database

    def shown(given: str) -> tuple[list[Any], list[Any]]:
        store = Store(create_db_engine(given))
        try:
            with store._engine.connect() as connection:
                engine = [connection.execute(text(f"SHOW {n}")).scalar() for n in TIMEOUTS]
            with psycopg.connect(_conninfo(store._engine)) as pipelined:
                pipelined.execute(*session_bounds.statement())
                loop = [pipelined.execute(f"SHOW {n}").fetchone() for n in TIMEOUTS]
        finally:
            store.dispose()
        return engine, loop

    assert shown(url) == (["30s", "1min"], [("30s",), ("1min",)])
    overridden = f"{url}?options=-c%20lock_timeout%3D250ms"
    assert shown(overridden) == (["250ms", "1min"], [("250ms",), ("1min",)])
    admin = create_db_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"ALTER DATABASE \"{name}\" SET lock_timeout = '7s'"))
    admin.dispose()
    assert shown(url) == (["7s", "1min"], [("7s",), ("1min",)])


@postgresql_only
def test_every_postgresql_session_bounds_tcp_unless_its_url_does(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's sessions and the pipelined one alike (tests/shared/test_silent_database.py
    shows what the bounds do); a value in the URL wins, and libpq's PGCONNECT_TIMEOUT."""
    url = databases.url("auth", "authserver")

    def given(url: str) -> tuple[dict[str, str], dict[str, str]]:
        store = Store(create_db_engine(url))
        try:
            with store._engine.connect() as connection:
                driver: Any = connection.connection.driver_connection
                engine = driver.info.get_parameters()
            with psycopg.connect(_conninfo(store._engine)) as pipelined:
                loop = pipelined.info.get_parameters()
        finally:
            store.dispose()
        return ({name: engine.get(name, "") for name in session_bounds.TCP},
                {name: loop.get(name, "") for name in session_bounds.TCP})

    assert given(url) == (session_bounds.TCP, session_bounds.TCP)
    assert session_bounds.TCP["tcp_user_timeout"] == "60000"
    mine = {**session_bounds.TCP, "keepalives_idle": "5", "tcp_user_timeout": "2500"}
    assert given(f"{url}?keepalives_idle=5&tcp_user_timeout=2500") == (mine, mine)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "4")
    waited = {**session_bounds.TCP, "connect_timeout": "4"}
    assert given(url) == (waited, waited)


def test_tcp_bounds_are_only_for_drivers_built_on_libpq() -> None:
    """Another driver would refuse libpq's parameters."""
    for driver in ("pg8000", "asyncpg"):
        other = make_url(f"postgresql+{driver}://hospiai@db.hospiai.test/hospiai")
        assert session_bounds.with_tcp_bounds(other) == other
    bounded = session_bounds.with_tcp_bounds(make_url("postgresql+psycopg://h@db/hospiai"))
    assert dict(bounded.query) == session_bounds.TCP


@postgresql_only
def test_a_session_left_idle_in_a_transaction_is_ended_with_its_locks(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica frozen in the middle of a transaction: the server ends its session, and a
    row it had locked can be written again, instead of staying locked until TCP gives up."""
    monkeypatch.setattr(session_bounds, "IDLE_IN_TRANSACTION", "500ms")
    url = databases.url("auth", "authserver")
    frozen, other = create_db_engine(url), create_db_engine(url)
    with frozen.connect() as connection:
        connection.execute(text("SELECT 1 FROM pg_class LIMIT 1"))
        connection.execute(text("SELECT pg_advisory_xact_lock(42)"))
        with other.connect() as waiting:
            waiting.execute(text("SET lock_timeout = '10s'"))  # fails, rather than hangs
            waiting.execute(text("SELECT pg_advisory_lock(42)"))  # had once the session ended
            waiting.execute(text("SELECT pg_advisory_unlock(42)"))
        with pytest.raises(DBAPIError) as ended:
            connection.execute(text("SELECT 1"))
        assert isinstance(ended.value.orig, psycopg.errors.IdleInTransactionSessionTimeout)
    frozen.dispose()
    other.dispose()
