"""Throwaway databases for tests: SQLite files, or fresh databases on the PostgreSQL server that
HOSPIAI_TEST_POSTGRES_URL names (each created for one test and dropped after it)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL = "HOSPIAI_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
# For a module or test whose storage behaviour matters: it runs once on each backend.
both_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
# Each service's newest migration, which an upgraded database is at (a new one moves it here).
HEADS = {"authserver": "0006", "mcpserver": "0002"}


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


class Databases:
    """The databases of one test, by name; on PostgreSQL each is created on first use."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self._folder = folder
        self._server = postgres_server() if backend == "postgresql" else None
        self._created: dict[str, str] = {}

    def url(self, name: str) -> str:
        if self._server is None:
            return f"sqlite:///{self._folder / name}.sqlite3"
        if name not in self._created:
            database = f"hospiai_test_{name}_{secrets.token_hex(4)}"
            self._admin(f'CREATE DATABASE "{database}"')
            self._created[name] = self._server.set(database=database).render_as_string(
                hide_password=False
            )
        return self._created[name]

    def drop(self) -> None:
        """Drop every database this test created, closing what is still connected."""
        for url in self._created.values():
            self._admin(f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)')
        self._created.clear()

    def _admin(self, statement: str) -> None:
        assert self._server is not None
        engine = create_engine(self._server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()
