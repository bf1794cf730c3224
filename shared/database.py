"""Database engines and the store base class for both services: SQLite (WAL, busy timeout)
or any SQLAlchemy URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Engine, Table, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine


def create_db_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


class SQLStore:
    """What every store shares: its engine, sessions, and the schema of its own tables only
    (SQLModel's metadata is global, and `hospiai dev` imports both services)."""

    TABLES: ClassVar[tuple[type[SQLModel], ...]] = ()

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        tables: list[Table] = [model.__table__ for model in self.TABLES]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(self._engine, tables=tables)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session:
            yield session
