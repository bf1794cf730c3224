"""Migrations: they build exactly what the models say, on SQLite and PostgreSQL, for two services
sharing one database; start-up refuses a database behind the code, not one ahead of it."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlmodel import SQLModel

from authserver.models import PERSONAL_CLIENT_ID
from authserver.store import Store
from mcpserver.domain.store import DomainStore
from shared.database import SQLStore, create_db_engine
from shared.migrations import SchemaError, version_table
from tests.databases import HEADS, Databases, both_backends

STORES: tuple[type[SQLStore], ...] = (Store, DomainStore)
AUTH_HEAD = HEADS["authserver"]


@both_backends
def test_models_and_migrations_agree_in_one_shared_database(databases: Databases) -> None:
    url = databases.url("shared")
    for store_class in STORES:
        store = store_class(create_db_engine(url))
        store.upgrade_schema()
        store.dispose()
    engine = create_db_engine(url)
    with engine.connect() as connection:
        for store_class in STORES:
            metadata = MetaData()
            for table in store_class.tables():
                table.to_metadata(metadata)
            names = set(metadata.tables)
            # Only this service's tables: the other's (and both version tables) are not ours.
            context = MigrationContext.configure(connection, opts={
                "include_name": lambda name, kind, _parent, ours=names: (
                    kind != "table" or name in ours
                ),
            })
            assert compare_metadata(context, metadata) == [], store_class.SERVICE
        assert {version_table("authserver"), version_table("mcpserver")} <= set(
            inspect(connection).get_table_names()
        )
    engine.dispose()


@both_backends
def test_upgrade_creates_the_built_in_client_once_and_then_has_nothing_to_do(
    databases: Databases,
) -> None:
    store = Store(create_db_engine(databases.url("auth")))
    assert store.upgrade_schema() == (set(), {AUTH_HEAD})
    assert store.upgrade_schema() == ({AUTH_HEAD}, {AUTH_HEAD})
    personal = store.client(PERSONAL_CLIENT_ID)
    assert personal is not None and personal.kind == "personal" and not personal.blocked
    assert personal.redirect_uris == [] and personal.grant_types == []
    store.dispose()


@both_backends
def test_check_refuses_a_database_behind_the_code_and_accepts_one_ahead(
    databases: Databases, caplog: pytest.LogCaptureFixture
) -> None:
    store = DomainStore(create_db_engine(databases.url("mcp")))
    with pytest.raises(SchemaError, match=r"behind the code .*run `hospiai db upgrade`"):
        store.check_schema()
    store.upgrade_schema()
    store.check_schema()
    # A newer release migrated the database while this one still runs (a rolling upgrade).
    with store._engine.begin() as connection:
        connection.execute(text(f"UPDATE {version_table('mcpserver')} SET version_num = 'f00d'"))
    with caplog.at_level(logging.WARNING, logger="shared.migrations"):
        store.check_schema()
    assert "newer than this code" in caplog.text
    store.dispose()


def test_a_database_made_before_migrations_is_named_not_half_migrated(
    databases: Databases,
) -> None:
    store = Store(create_db_engine(databases.url("auth")))
    SQLModel.metadata.create_all(store._engine, tables=Store.tables())
    with pytest.raises(SchemaError, match="made before migrations"):
        store.upgrade_schema()
    store.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_concurrent_upgrades_of_one_database_both_succeed(databases: Databases) -> None:
    url = databases.url("auth")
    stores = [Store(create_db_engine(url)) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda store: store.upgrade_schema(), stores))
    # One migrated; the other waited for it, then found nothing to do.
    assert [before for before, _ in results] in ([set(), {AUTH_HEAD}], [{AUTH_HEAD}, set()])
    for store in stores:
        store.dispose()
