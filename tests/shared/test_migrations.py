"""Migrations: they build exactly what the models say, on SQLite and PostgreSQL, for two services
sharing one database; start-up refuses a database behind the code, not one ahead of it."""

from __future__ import annotations

import importlib.resources
import json
import logging
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from authserver.models import PERSONAL_CLIENT_ID
from authserver.store import Store
from mcpserver.domain.store import DomainStore
from shared import migrations, session_bounds
from shared.database import create_db_engine
from shared.migrations import SchemaError, version_table
from tests.databases import HEADS, STORES, Databases, both_backends, postgresql_only

AUTH_HEAD = HEADS["authserver"]


@both_backends
def test_models_and_migrations_agree_in_one_shared_database(databases: Databases) -> None:
    url = databases.url("shared")
    for store_class in STORES.values():
        store = store_class(create_db_engine(url))
        store.upgrade_schema()
        store.dispose()
    engine = create_db_engine(url)
    with engine.connect() as connection:
        for store_class in STORES.values():
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


@postgresql_only
def test_concurrent_upgrades_of_one_database_both_succeed(databases: Databases) -> None:
    url = databases.url("auth")
    stores = [Store(create_db_engine(url)) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda store: store.upgrade_schema(), stores))
    # One migrated; the other waited for it, then found nothing to do.
    assert [before for before, _ in results] in ([set(), {AUTH_HEAD}], [{AUTH_HEAD}, set()])
    for store in stores:
        store.dispose()


@postgresql_only
def test_a_second_upgrade_waits_for_the_first_however_long_it_takes(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs take turns (README): the second waits for the first's migrations past the
    lock timeout every session of the services has (shared.session_bounds)."""
    monkeypatch.setattr(session_bounds, "LOCK_TIMEOUT", "200ms")
    engine = create_db_engine(databases.url("auth"))
    store = Store(engine)
    with ThreadPoolExecutor(max_workers=1) as pool, engine.connect() as first:
        first.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                      {"name": version_table("authserver")})
        second = pool.submit(store.upgrade_schema)
        time.sleep(1)  # five lock timeouts
        assert not second.done()
        first.rollback()  # the first run is done
        assert second.result(timeout=60) == (set(), {AUTH_HEAD})
    store.dispose()


@postgresql_only
def test_an_upgrade_kept_waiting_for_a_table_fails_in_time_and_changes_nothing(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its statements keep the session's lock timeout (README), which the wait for another
    upgrade lifts only for itself: an ALTER TABLE whose table a long report holds fails, the
    database stays at its revision, and the same upgrade runs again once the report is done."""
    monkeypatch.setattr(session_bounds, "LOCK_TIMEOUT", "200ms")
    engine = create_db_engine(databases.url("mcp"))
    tables = [table.name for table in DomainStore.tables()]
    migrations.upgrade(engine, "mcpserver", tables, "0004")
    # The pool last out: a failing wait ends the report, and with it the upgrade's wait.
    with ThreadPoolExecutor(max_workers=1) as pool, engine.connect() as report:
        report.execute(text("LOCK TABLE slot IN ACCESS SHARE MODE"))  # 0005 alters slot
        upgrading = pool.submit(migrations.upgrade, engine, "mcpserver", tables)
        with pytest.raises(DBAPIError) as waited:
            upgrading.result(timeout=10)
        assert isinstance(waited.value.orig, psycopg.errors.LockNotAvailable)
        with engine.connect() as connection:
            assert migrations.applied(connection, "mcpserver") == {"0004"}
    assert migrations.upgrade(engine, "mcpserver", tables) == ({"0004"}, {"0005"})
    engine.dispose()


@pytest.mark.parametrize("service", list(HEADS))
def test_each_script_is_named_by_its_revision_in_one_line_of_history(service: str) -> None:
    """What `check` reads the history from, without Alembic: the scripts' file names."""
    scripts = ScriptDirectory.from_config(migrations._config(service))
    history = list(reversed(list(scripts.walk_revisions())))
    assert scripts.get_heads() == [HEADS[service]]
    assert migrations.revisions(service) == [script.revision for script in history]
    for before, script in zip([None, *history], history, strict=False):
        assert script.down_revision == (before.revision if before else None), script.path
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


def test_a_check_behind_names_the_revision_it_needs(databases: Databases) -> None:
    url = databases.url("mcp")
    engine = create_db_engine(url)
    migrations.upgrade(engine, "mcpserver", [t.name for t in DomainStore.tables()], "0003")
    with pytest.raises(SchemaError, match=r"at revision 0003, needs 0005\): run"):
        migrations.check(engine, "mcpserver")
    engine.dispose()


@both_backends
def test_a_served_process_checks_its_schema_without_loading_alembic(
    databases: Databases,
) -> None:
    """Alembic is 7 MiB of each service's memory (issue 14): only a migration loads it."""
    urls = {service: databases.url(service) for service in STORES}
    for service, url in urls.items():
        store = STORES[service](create_db_engine(url))
        store.upgrade_schema()
        store.dispose()
    checked = subprocess.run(
        [sys.executable, "-c", _CHECK_WITHOUT_ALEMBIC, json.dumps(urls)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.split() == ["checked", "False"]


_CHECK_WITHOUT_ALEMBIC = """
import json, sys
import authserver.app, mcpserver.app
from authserver.store import Store
from mcpserver.domain.store import DomainStore
from shared.database import create_db_engine
urls = json.loads(sys.argv[1])
for store in (Store(create_db_engine(urls["authserver"])),
              DomainStore(create_db_engine(urls["mcpserver"]))):
    store.check_schema()
    store.dispose()
print("checked", "alembic" in sys.modules or "mako" in sys.modules)
"""


def test_a_package_without_its_scripts_is_named_not_taken_for_a_database_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Package data left out of an install: the check says so, where it found no history."""
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    monkeypatch.setattr(importlib.resources, "files", lambda _package: tmp_path)
    with pytest.raises(SchemaError, match="has no migration scripts: reinstall it"):
        migrations.revisions("mcpserver")
