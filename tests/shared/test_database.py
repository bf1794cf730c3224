"""The hot read path of the stores: fresh after writes, and usable again after dispose."""

from __future__ import annotations

from authserver.provisioning import create_resource_server
from authserver.security import Keys
from authserver.store import Store
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
