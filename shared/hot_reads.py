"""Hot reads: a SELECT compiled once, run on a raw DB-API cursor, from a worker thread or
without blocking the event loop (a pipelined libpq connection on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine, Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from shared.pipeline import Pipeline, Row
from shared.thread_connections import ThreadConnections

Params = Mapping[str, str | int]


class HotRead:
    """A SELECT compiled once by SQLAlchemy for the engine's dialect, then run on a raw DB-API
    cursor: for a hot read whose SQLAlchemy execution overhead costs more than the query.
    Parameters must be plain str or int values and columns plain values (no type processing).

    ``connections``: read on the thread's own connection, shared by the store's hot reads,
    instead of a checkout per call (the pool's checkout costs as much as the query).

    ``first_on_loop`` and ``all_on_loop`` are for the event loop. On SQLite they run the read in
    place (an in-process call of microseconds, cheaper than a hop to a worker thread). On
    PostgreSQL the read is a network round trip: a worker thread per read cost more than the
    read itself (introspection at 0.2x SQLite), so the loop awaits it on a pipelined
    connection of its own and goes on serving other requests meanwhile.
    """

    def __init__(
        self, engine: Engine, statement: Select[*tuple[Any, ...]], *,
        connections: ThreadConnections | None,
    ) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = str(compiled)
        # Positional paramstyles (SQLite's qmark) need the order; named ones take the mapping.
        self._order = compiled.positiontup
        self._connections = connections
        self._loops: dict[asyncio.AbstractEventLoop, Pipeline] = {}
        self._networked = engine.dialect.name == "postgresql"
        if self._networked:
            # libpq's own placeholders ($1, $2, ...), for a statement prepared on the server.
            dialect = PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
            numbered = statement.compile(dialect=dialect)
            self._numbered_sql, self._numbered_order = str(numbered), numbered.positiontup or []

    def first(self, params: Params) -> Row | None:
        if self._connections is None:
            rows = self._run(params, many=False)
            return rows[0] if rows else None
        # The read on this thread's own connection, with no layer between (introspection).
        bound = [params[name] for name in self._order or ()]
        cursor = self._connections.get().execute(self._sql, bound)
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
        if self._connections is None:
            connection = self._engine.raw_connection()
            try:
                return _fetch(connection.cursor(), self._sql, bound, many)
            finally:
                connection.close()
        return _fetch(self._connections.get().cursor(), self._sql, bound, many)

    async def aclose(self) -> None:
        """Close the event loops' connections (the lifespan's shutdown)."""
        loops, self._loops = self._loops, {}
        for pipeline in loops.values():
            await pipeline.aclose()


def _conninfo(engine: Engine) -> str:
    """What the engine's own connections are opened with (its session settings included), as
    a libpq connection string: a URL rendered again would hand libpq the query's form encoding
    (``+`` for a space), which it does not decode."""
    args, options = engine.dialect.create_connect_args(engine.url)
    options.pop("context", None)  # SQLAlchemy's adapters, not a libpq parameter
    return make_conninfo(*args, **options)


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
