"""The hot read path of the stores: fresh after writes, and usable again after dispose."""

from __future__ import annotations

import asyncio

import psycopg

from authserver.provisioning import create_resource_server
from authserver.security import Keys
from authserver.store import Introspected, Store
from shared.database import create_db_engine
from tests.databases import Databases, both_backends


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
