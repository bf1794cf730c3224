"""Hot reads: a SELECT compiled once, run on a raw DB-API cursor, from a worker thread or
without blocking the event loop (psycopg's async connection on PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import Engine, Select
from sqlalchemy.pool import PoolProxiedConnection

Params = Mapping[str, str | int]
Row = tuple[Any, ...]

# Connections a server process keeps for its hot reads on the event loop: enough to keep the
# database busy while the loop parses the next requests (on this 2-core machine 4 and 8 measured
# alike), few enough that replicas do not crowd PostgreSQL's max_connections.
LOOP_CONNECTIONS = 4


class HotRead:
    """A SELECT compiled once by SQLAlchemy for the engine's dialect, then run on a raw DB-API
    cursor: for a hot read whose SQLAlchemy execution overhead costs more than the query.
    Parameters must be plain str or int values and columns plain values (no type processing).

    ``per_thread``: keep one connection per thread instead of a checkout per call (the pool's
    checkout costs as much as the query); only for an engine with one connection per thread.

    ``first_on_loop`` and ``all_on_loop`` are for the event loop. On SQLite they run the read in
    place (an in-process call of microseconds, cheaper than a hop to a worker thread). On
    PostgreSQL the read is a network round trip: a worker thread per read cost more than the
    read itself (introspection at 0.2x SQLite), so the loop awaits it on an async connection of
    its own and goes on serving other requests meanwhile.
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
        self._held: dict[int, PoolProxiedConnection] = {}
        self._loops: dict[asyncio.AbstractEventLoop, _LoopConnections] = {}
        self._networked = engine.dialect.name == "postgresql"

    def first(self, params: Params) -> Row | None:
        rows = self._run(params, many=False)
        return rows[0] if rows else None

    def all(self, params: Params) -> list[Row]:
        return self._run(params, many=True)

    async def first_on_loop(self, params: Params) -> Row | None:
        rows = await self._run_on_loop(params, many=False)
        return rows[0] if rows else None

    async def all_on_loop(self, params: Params) -> list[Row]:
        return await self._run_on_loop(params, many=True)

    async def _run_on_loop(self, params: Params, *, many: bool) -> list[Row]:
        if not self._networked:
            return self._run(params, many=many)
        loop = asyncio.get_running_loop()
        connections = self._loops.get(loop)
        if connections is None:
            connections = self._loops[loop] = _LoopConnections(_conninfo(self._engine))
        return await connections.run(self._sql, params, many)

    def _run(self, params: Params, *, many: bool) -> list[Row]:
        bound = [params[name] for name in self._order] if self._order else params
        if not self._per_thread:
            connection = self._engine.raw_connection()
            try:
                return _fetch(connection.cursor(), self._sql, bound, many)
            finally:
                connection.close()
        thread = threading.get_ident()
        held = self._held.get(thread)
        if held is None:
            held = self._held[thread] = self._engine.raw_connection()
        return _fetch(held.cursor(), self._sql, bound, many)

    async def aclose(self) -> None:
        """Close the event loops' connections (the lifespan's shutdown)."""
        loops, self._loops = self._loops, {}
        for connections in loops.values():
            await connections.aclose()

    def release(self) -> None:
        """Close the connections held per thread; the next read opens new ones."""
        held, self._held = self._held, {}
        for connection in held.values():
            connection.close()


class _LoopConnections:
    """Up to LOOP_CONNECTIONS autocommit connections of one event loop, each running one read
    at a time (psycopg prepares a statement run five times, so the hot read is parsed once per
    connection). Autocommit: a lone SELECT needs no transaction, and a connection never sits
    idle in one."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._idle: list[psycopg.AsyncConnection[Row]] = []
        self._slots = asyncio.Semaphore(LOOP_CONNECTIONS)

    async def run(self, sql: str, params: Params, many: bool) -> list[Row]:
        async with self._slots:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else await self._connect()
            try:
                rows = await _fetch_async(connection, sql, params, many)
            except psycopg.OperationalError:
                await connection.close()
                if not reused:
                    raise
                # An idle connection the server has since closed (a restart, a failover): once
                # more on a new one, as the pool's pre-ping does for the other reads.
                connection = await self._connect()
                rows = await _fetch_async(connection, sql, params, many)
            self._idle.append(connection)
            return rows

    async def _connect(self) -> psycopg.AsyncConnection[Row]:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


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


async def _fetch_async(
    connection: psycopg.AsyncConnection[Row], sql: str, params: Params, many: bool
) -> list[Row]:
    async with connection.cursor() as cursor:
        await cursor.execute(sql, params)
        if many:
            return list(await cursor.fetchall())
        row = await cursor.fetchone()
        return [] if row is None else [row]
