"""Throwaway databases for tests: SQLite files, or fresh databases on the PostgreSQL server that
HOSPIAI_TEST_POSTGRES_URL names (each created for one test and dropped after it). A database
asked for at a service's newest schema is a copy of a template migrated once per test process:
a file copy, or CREATE DATABASE ... TEMPLATE (0.06 s with its drop, against 0.37 s to create,
migrate and drop; the FILE_COPY strategy's checkpoints made it slower while other tests ran)."""

from __future__ import annotations

import datetime
import functools
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.engine import make_url

from authserver.store import Store
from mcpserver.domain.seed import seed_demo
from mcpserver.domain.store import DomainStore
from shared.database import SQLStore, create_db_engine

POSTGRES_URL = "HOSPIAI_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
# For a module or test whose storage behaviour matters: it runs once on each backend.
both_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
# For one whose behaviour only PostgreSQL has (its locks, its sessions' settings).
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
# Each service's newest migration, which an upgraded database is at (a new one moves it here).
HEADS = {"authserver": "0019", "mcpserver": "0005"}
STORES: dict[str, type[SQLStore]] = {"authserver": Store, "mcpserver": DomainStore}


def postgres_server() -> URL:
    """The test server's URL; skipped without it, except in CI, which must test PostgreSQL."""
    raw = os.environ.get(POSTGRES_URL)
    if not raw:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_URL} is not set: CI never skips the PostgreSQL tests")
        pytest.skip(
            f"PostgreSQL: set {POSTGRES_URL} to a server URL on which tests may create "
            "databases (postgresql://user:password@127.0.0.1:5432/postgres)"
        )
    return make_url(raw).set(drivername="postgresql+psycopg")


def _migrate(url: str, template: str) -> None:
    """A service's newest schema; "mcpserver+demo" also holds the demo directory, which takes
    a second of CPU to insert: once per test process, not once per test."""
    service, _, content = template.partition("+")
    store = STORES[service](create_db_engine(url))
    try:
        store.upgrade_schema()
        if content == "demo":
            assert isinstance(store, DomainStore)
            seed_demo(store, datetime.date.today(), int(time.time()))
    finally:
        store.dispose()


class Templates:
    """One database per backend and service at the newest schema, migrated on first use and
    kept until ``drop`` (the end of the test session)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._postgres: dict[str, str] = {}

    def sqlite(self, service: str) -> Path:
        path = self._folder / f"{service}.sqlite3"
        if not path.exists():
            _migrate(f"sqlite:///{path}", service)
        return path

    def postgres(self, server: URL, service: str) -> str:
        """The template database's name; nothing stays connected to it, as a copy requires."""
        if service not in self._postgres:
            name = f"hospiai_template_{service.replace('+', '_')}_{secrets.token_hex(4)}"
            _admin(server, f'CREATE DATABASE "{name}"')
            self._postgres[service] = name
            _migrate(server.set(database=name).render_as_string(hide_password=False), service)
        return self._postgres[service]

    def drop(self) -> None:
        for name in self._postgres.values():
            _admin(postgres_server(), f'DROP DATABASE "{name}" WITH (FORCE)')
        self._postgres.clear()


class Databases:
    """The databases of one test, by name; on PostgreSQL each is created on first use."""

    def __init__(self, backend: str, folder: Path, templates: Templates | None = None) -> None:
        self.backend = backend
        self._folder = folder
        self._server = postgres_server() if backend == "postgresql" else None
        self._templates = templates
        self._created: dict[str, str] = {}

    def url(self, name: str, migrated_for: str | None = None) -> str:
        """The database ``name``: empty, or at the newest schema of the service
        ``migrated_for`` ("authserver", "mcpserver"; "mcpserver+demo" with the demo
        directory seeded) when it is first asked for."""
        if self._server is None:
            return self._sqlite(name, migrated_for)
        if name not in self._created:
            database = f"hospiai_test_{name}_{secrets.token_hex(4)}"
            template = (
                self._templates.postgres(self._server, migrated_for)
                if self._templates is not None and migrated_for is not None else None
            )
            copy = f' TEMPLATE "{template}"' if template else ""
            _admin(self._server, f'CREATE DATABASE "{database}"{copy}')
            url = self._server.set(database=database).render_as_string(hide_password=False)
            self._created[name] = url
            if migrated_for is not None and template is None:
                _migrate(url, migrated_for)
        return self._created[name]

    def _sqlite(self, name: str, migrated_for: str | None) -> str:
        path = self._folder / f"{name}.sqlite3"
        url = f"sqlite:///{path}"
        if migrated_for is not None and not path.exists():
            if self._templates is None:
                _migrate(url, migrated_for)
            else:
                shutil.copyfile(self._templates.sqlite(migrated_for), path)
        return url

    def drop(self) -> None:
        """Drop every database this test created, closing what is still connected."""
        for url in self._created.values():
            _admin(self._server, f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)')
        self._created.clear()


def _admin(server: URL | None, statement: str) -> None:
    assert server is not None
    with _admin_engine(server).connect() as connection:
        connection.execute(text(statement))


@functools.cache
def _admin_engine(server: URL) -> Engine:
    """One kept connection to the server's own database per test process: a new one costs a
    SCRAM exchange (13 ms), and each PostgreSQL test creates and drops two databases."""
    return create_engine(server, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=4)
