"""Database engines and the store base class for both services: SQLite (WAL, busy timeout)
or PostgreSQL (psycopg 3; lock, idle-transaction and TCP timeouts)."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    URL,
    BigInteger,
    Engine,
    Executable,
    Insert,
    Integer,
    Select,
    Table,
    event,
    insert,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, SQLModel, create_engine

from shared import migrations, session_bounds
from shared.thread_connections import ThreadConnections

if TYPE_CHECKING:
    from shared.hot_reads import HotRead

# 64-bit integers: BIGINT on PostgreSQL, whose INTEGER is 32 bits. SQLite's INTEGER already
# holds 64 bits, so there it stays INTEGER, as the first migrations made it (and an INTEGER
# PRIMARY KEY is SQLite's rowid, which numbers new rows).
INT64 = BigInteger().with_variant(Integer(), "sqlite")
# Every Unix-seconds time: INTEGER would overflow in January 2038, and on any far expiry set
# before then.
UNIX_TIME = INT64
# Numbered rows (audit events, login attempts): a busy server writes two billion of them in
# months, not decades.
ROW_ID = INT64


def create_db_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.drivername in {"postgresql", "postgres"}:
        # The plain form (what PostgreSQL's own tools take) means the installed driver.
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "postgresql":
        engine = create_engine(session_bounds.with_tcp_bounds(url), pool_pre_ping=True)
        event.listen(engine, "connect", _bound_session)
        return engine
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return _sqlite_engine(url)


def _bound_session(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(*session_bounds.statement())
    dbapi_connection.commit()


def _sqlite_engine(url: URL, **options: Any) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    _serialize_writers(engine)
    return engine


def _serialize_writers(engine: Engine) -> None:
    """One write transaction at a time per process, queued on a lock. SQLite allows one writer;
    without this, each thread that finds the write lock taken sleeps in SQLite's busy handler
    (1 ms, then 2, 5, 10, ... up to 100 ms) and polls again, so under concurrent writes most of
    the time went to sleeping while the lock was free (refresh p99 above one second). A lock
    wakes the next writer as soon as the last one commits. Other processes on the same file
    still meet the busy timeout, as before. The transaction takes the lock at its first write
    (pysqlite begins it there) and releases it when it ends, however it ends."""
    lock = _WRITE_LOCKS[engine] = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _writing(
        connection: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is None or not (context.isinsert or context.isupdate or context.isdelete):
            return
        if connection.info.get(_WRITING):
            return
        if not lock.acquire(timeout=_WRITE_WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        connection.info[_WRITING] = True

    def _ended(connection: Any) -> None:
        if connection.info.pop(_WRITING, False):
            lock.release()

    event.listen(engine, "commit", _ended)
    event.listen(engine, "rollback", _ended)

    @event.listens_for(engine, "reset")
    def _returned(_dbapi_connection: Any, record: Any, _state: Any) -> None:
        # A connection back in the pool with its transaction rolled back by the pool itself.
        if record.info.pop(_WRITING, False):
            lock.release()


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Hold the lock a SQLite engine's write transactions queue on (nothing elsewhere): for a
    writer on a raw DB-API connection, which SQLAlchemy's events do not see. It waits as long
    as the other writers do, and fails as they do, rather than hang behind a stuck one."""
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        yield
        return
    if not lock.acquire(timeout=_WRITE_WAIT_SECONDS):
        raise sqlite3.OperationalError("database is locked")
    try:
        yield
    finally:
        lock.release()


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
# The connection's flag: its transaction holds the process's write lock.
_WRITING = "hospiai_writing"
# As long as SQLite's own busy timeout, and failing the same way.
_WRITE_WAIT_SECONDS = 30


def _is_file_sqlite(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


class SQLStore:
    """What every store shares: its engine, sessions, and the schema of its own tables only
    (SQLModel's metadata is global, and `hospiai dev` imports both services)."""

    TABLES: ClassVar[tuple[type[SQLModel], ...]] = ()
    # The package whose ``migrations/`` hold the history of these tables.
    SERVICE: ClassVar[str]

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # For hot reads. On a SQLite file: one connection per thread, outside the shared pool,
        # so a read on the event loop never waits for a pooled connection held by a worker
        # thread (and WAL readers do not wait for writers): the store's hot reads share each
        # thread's one connection, held by shared.thread_connections, and the reader engine
        # pools none. Elsewhere: the engine itself.
        own_reader = _is_file_sqlite(engine)
        self._hot_reads: list[HotRead] = []
        self._reader = _sqlite_engine(engine.url, poolclass=NullPool) if own_reader else engine
        self._connections = ThreadConnections(self._reader) if own_reader else None

    def _hot_read(self, statement: Select[*tuple[Any, ...]]) -> HotRead:
        # Imported on first use: only the authorization server's stores have hot reads, and
        # their module loads psycopg, 9 MiB that the MCP server on SQLite never needs (its RSS
        # after load has a target, issue 14).
        from shared.hot_reads import HotRead

        hot_read = HotRead(self._reader, statement, connections=self._connections)
        self._hot_reads.append(hot_read)
        return hot_read

    @classmethod
    def tables(cls) -> list[Table]:
        return [model.__table__ for model in cls.TABLES]  # type: ignore[attr-defined]

    def upgrade_schema(self) -> tuple[set[str], set[str]]:
        """Migrate to this code's schema: the revisions before and after."""
        names = [table.name for table in self.tables()]
        return migrations.upgrade(self._engine, self.SERVICE, names)

    def check_schema(self) -> None:
        """Raise migrations.SchemaError if the database is behind this code."""
        migrations.check(self._engine, self.SERVICE)

    def ping(self) -> None:
        """Raises if the database cannot be reached."""
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def aclose(self) -> None:
        """Close every connection, the event loop's included (a served app's shutdown)."""
        for hot_read in self._hot_reads:
            await hot_read.aclose()
        self.dispose()

    def dispose(self) -> None:
        if self._connections is not None:
            self._connections.release()
        self._reader.dispose()
        self._engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session:
            yield session

    def _add(self, *rows: SQLModel) -> None:
        with self._session() as session:
            session.add_all(rows)
            session.commit()

    @staticmethod
    def _commit_new(session: Session) -> bool:
        """Commit a session that inserts a row; False, with nothing stored, when a unique key
        says the row exists already: of concurrent inserts, on one replica or several, the
        database lets exactly one succeed."""
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True

    def _update_one(
        self, update: UpdateBase, *, add: Sequence[SQLModel] = (), then: Sequence[Executable] = ()
    ) -> bool:
        """Run a conditional UPDATE that must change exactly one row and, if it did, store
        ``add`` and run ``then`` in the same transaction. False: no row met the condition (it
        was already taken, spent or gone) and nothing is stored.

        This is how single use stays correct with several replicas on one database: of
        concurrent callers, the database lets exactly one change the row, and the row count
        tells each whether it was that one."""
        # On a Core connection, not an ORM session: the session's ORM-enabled UPDATE and its
        # flush cost several times the statements themselves on the refresh grant's path.
        with self._engine.connect() as connection:
            if connection.execute(update).rowcount != 1:
                connection.rollback()
                return False
            for row in add:
                connection.execute(_insert(row))
            for statement in then:
                connection.execute(statement)
            connection.commit()
            return True


def _insert(row: SQLModel) -> Insert:
    """The INSERT of a row's columns (a numbered row's id left to the database)."""
    table: Table = row.__table__  # type: ignore[attr-defined]
    values = {column.name: getattr(row, column.name) for column in table.columns}
    return insert(table).values(
        {name: value for name, value in values.items()
         if value is not None or not table.columns[name].primary_key}
    )
