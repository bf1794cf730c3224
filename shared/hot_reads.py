"""Hot reads: a SELECT compiled once, run on a raw DB-API cursor, from a worker thread or
without blocking the event loop (a pipelined libpq connection on PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from shared.pipeline import Pipeline, Row

Params = Mapping[str, str | int]


class HotRead:
    """A SELECT compiled once by SQLAlchemy for the engine's dialect, then run on a raw DB-API
    cursor: for a hot read whose SQLAlchemy execution overhead costs more than the query.
    Parameters must be plain str or int values and columns plain values (no type processing).

    ``per_thread``: keep one connection per thread instead of a checkout per call (the pool's
    checkout costs as much as the query); for an engine that pools none, whose connections
    the read then holds itself, each closed with its thread.

    ``first_on_loop`` and ``all_on_loop`` are for the event loop. On SQLite they run the read in
    place (an in-process call of microseconds, cheaper than a hop to a worker thread). On
    PostgreSQL the read is a network round trip: a worker thread per read cost more than the
    read itself (introspection at 0.2x SQLite), so the loop awaits it on a pipelined
    connection of its own and goes on serving other requests meanwhile.
    """

    def __init__(
        self, engine: Engine, statement: Select[*tuple[Any, ...]], *, per_thread: bool
    ) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        # Positional paramstyles (SQLite's qmark) need the order; named ones take the mapping.
        self._order = compiled.positiontup
        self._per_thread = per_thread
        # Per thread, its own driver connection, gone with the thread (closed with it); and
        # every one still held, for release.
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._loops: dict[asyncio.AbstractEventLoop, Pipeline] = {}
        self._networked = engine.dialect.name == "postgresql"
        if self._networked:
            # libpq's own placeholders ($1, $2, ...), for a statement prepared on the server.
            dialect = PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
            numbered = statement.compile(dialect=dialect)
            self._numbered_sql, self._numbered_order = str(numbered), numbered.positiontup or []

    def first(self, params: Params) -> Row | None:
        if not self._per_thread:
            rows = self._run(params, many=False)
            return rows[0] if rows else None
        # The read on this thread's own connection, with no layer between (introspection).
        held = getattr(self._local, "connection", None) or self._hold()
        cursor = held.execute(self._sql, [params[name] for name in self._order or ()])
        try:
            row: Row | None = cursor.fetchone()
            return row
        finally:
            cursor.close()

    def all(self, params: Params) -> list[Row]:
        return self._run(params, many=True)

    async def first_on_loop(self, params: Params) -> Row | None:
        if not self._networked:
            return self.first(params)
        rows = await self._pipelined(params)
        return rows[0] if rows else None

    async def all_on_loop(self, params: Params) -> list[Row]:
        return await self._pipelined(params) if self._networked else self.all(params)

    async def _pipelined(self, params: Params) -> list[Row]:
        loop = asyncio.get_running_loop()
        pipeline = self._loops.get(loop)
        if pipeline is None:
            pipeline = self._loops[loop] = Pipeline(_conninfo(self._engine))
        return await pipeline.run(
            self._numbered_sql, [params[name] for name in self._numbered_order]
        )

    def _run(self, params: Params, *, many: bool) -> list[Row]:
        bound = [params[name] for name in self._order] if self._order else params
        if not self._per_thread:
            connection = self._engine.raw_connection()
            try:
                return _fetch(connection.cursor(), self._sql, bound, many)
            finally:
                connection.close()
        held = getattr(self._local, "connection", None) or self._hold()
        return _fetch(held.cursor(), self._sql, bound, many)

    def _hold(self) -> Any:
        """This thread's own connection, opened on its first read: the driver's, taken out of
        the pool (which pools none for these engines) and kept by this thread alone."""
        fairy = self._engine.raw_connection()
        fairy.detach()
        holder = _Held(fairy.dbapi_connection)
        self._local.holder, self._local.connection = holder, holder.connection
        self._holders.add(holder)
        return holder.connection

    async def aclose(self) -> None:
        """Close the event loops' connections (the lifespan's shutdown)."""
        loops, self._loops = self._loops, {}
        for pipeline in loops.values():
            await pipeline.aclose()

    def release(self) -> None:
        """Close the connections held per thread; the next read opens new ones."""
        holders, self._holders = list(self._holders), weakref.WeakSet()
        self._local = threading.local()
        for holder in holders:
            holder.close()


class _Held:
    """A thread's connection, closed on release or as soon as its thread ends and takes this
    holder with it: left to itself, a sqlite3 connection waits for the cycle collector (its
    statement cache refers back to it), a file descriptor kept open per thread gone."""

    __slots__ = ("__weakref__", "close", "connection")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.close = weakref.finalize(self, connection.close)


def _conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _fetch(
    cursor: Any, sql: str, bound: Sequence[object] | Mapping[str, object], many: bool
) -> list[Row]:
    try:
        cursor.execute(sql, bound)
        if many:
            return list(cursor.fetchall())
        row: Row | None = cursor.fetchone()
        return [] if row is None else [row]
    finally:
        cursor.close()
