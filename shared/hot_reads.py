"""Hot reads: a SELECT compiled once, run on a raw DB-API cursor, from a worker thread or
without blocking the event loop (a pipelined libpq connection on PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import abc as psycopg_abc
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import Engine, Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

Params = Mapping[str, str | int]
Row = tuple[Any, ...]


class HotRead:
    """A SELECT compiled once by SQLAlchemy for the engine's dialect, then run on a raw DB-API
    cursor: for a hot read whose SQLAlchemy execution overhead costs more than the query.
    Parameters must be plain str or int values and columns plain values (no type processing).

    ``per_thread``: keep one connection per thread instead of a checkout per call (the pool's
    checkout costs as much as the query); only for an engine with one connection per thread.

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
        self._loops: dict[asyncio.AbstractEventLoop, _Pipeline] = {}
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
            pipeline = self._loops[loop] = _Pipeline(_conninfo(self._engine))
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


class _Pipeline:
    """One connection of an event loop in libpq's pipeline mode: each read is sent as soon as
    it is asked for, without waiting for the answers before it, and the answers are read as
    they arrive, in order, by one reader callback on the socket. Through psycopg's cursor
    each read cost three times SQLite's whole read in Python alone (its generators, a wait
    per read); here a read is one send and its share of one socket wake-up.

    Each statement is prepared once, on the connection that runs it, and each read is
    followed by its own sync point, so that a failed read fails alone. A lost connection
    fails every read in flight (OperationalError) and the next read opens a new one."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.AsyncConnection[Row] | None = None
        self._socket = -1
        self._opening: asyncio.Future[psycopg.AsyncConnection[Row]] | None = None
        self._loader: psycopg_abc.Transformer | None = None
        self._prepared: dict[str, bytes] = {}
        # What was sent, in order: each read's answer (None: a statement's preparation), and
        # the result of the one being read.
        self._waiting: deque[asyncio.Future[list[Row]] | None] = deque()
        self._result: pq.abc.PGresult | None = None

    async def run(self, sql: str, params: Sequence[str | int]) -> list[Row]:
        try:
            return await self._send(await self._open(), sql, params)
        except psycopg.OperationalError:
            # A connection the server has since closed (a restart, a failover): once more,
            # on a new one, as the pool's pre-ping does for the other reads. Reads only.
            return await self._send(await self._open(), sql, params)

    async def _open(self) -> psycopg.AsyncConnection[Row]:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._connect())
        try:
            return await asyncio.shield(self._opening)
        finally:
            if self._opening is not None and self._opening.done():
                self._opening = None

    async def _connect(self) -> psycopg.AsyncConnection[Row]:
        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        connection.pgconn.enter_pipeline_mode()
        # Kept: a lost connection no longer tells its socket.
        self._socket = connection.pgconn.socket
        asyncio.get_running_loop().add_reader(self._socket, self._readable)
        self._connection, self._prepared = connection, {}
        self._loader = Transformer.from_context(connection)
        return connection

    def _send(
        self, connection: psycopg.AsyncConnection[Row], sql: str, params: Sequence[str | int]
    ) -> asyncio.Future[list[Row]]:
        pgconn, loop = connection.pgconn, asyncio.get_running_loop()
        answer: asyncio.Future[list[Row]] = loop.create_future()
        try:
            name = self._prepared.get(sql)
            if name is None:
                name = self._prepared[sql] = f"hot_read_{len(self._prepared)}".encode()
                pgconn.send_prepare(name, sql.encode())
                pgconn.pipeline_sync()
                self._waiting.append(None)
            # Text parameters (str and int only: see HotRead), typed by the statement's casts.
            pgconn.send_query_prepared(name, [str(value).encode() for value in params])
            pgconn.pipeline_sync()
            self._waiting.append(answer)
            if pgconn.flush():
                loop.add_writer(self._socket, self._writable)
        except psycopg.OperationalError as error:
            self._lost(error)
            raise
        return answer

    def _writable(self) -> None:
        assert self._connection is not None
        try:
            pending = self._connection.pgconn.flush()
        except psycopg.OperationalError as error:
            self._lost(error)
            return
        if not pending:
            asyncio.get_running_loop().remove_writer(self._socket)

    def _readable(self) -> None:
        assert self._connection is not None
        pgconn = self._connection.pgconn
        try:
            pgconn.consume_input()
            while self._waiting and not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:  # the end of one statement's results
                    outcome, self._result = self._outcome(self._result), None
                    self._settle(outcome)
                elif result.status != pq.ExecStatus.PIPELINE_SYNC:
                    self._result = result
        except psycopg.OperationalError as error:
            self._lost(error)

    def _settle(self, outcome: list[Row] | Exception) -> None:
        """The oldest statement's outcome to its caller, in the order they were sent."""
        if isinstance(outcome, psycopg.OperationalError):
            raise outcome  # the server is ending the connection (57P01, ...)
        answer = self._waiting.popleft()
        if answer is None or answer.done():  # a preparation; a cancelled caller
            return
        if isinstance(outcome, Exception):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)

    def _outcome(self, result: pq.abc.PGresult | None) -> list[Row] | Exception:
        if result is None or result.status == pq.ExecStatus.COMMAND_OK:
            return []
        if result.status == pq.ExecStatus.TUPLES_OK:
            assert self._loader is not None
            self._loader.set_pgresult(result)
            return self._loader.load_rows(0, result.ntuples, tuple)
        # The error class psycopg itself would raise for this SQLSTATE.
        sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        try:
            error = psycopg.errors.lookup(sqlstate)
        except KeyError:
            error = psycopg.DatabaseError
        return error((result.error_message or b"").decode(errors="replace"))

    def _lost(self, error: Exception) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._socket)
            loop.remove_writer(self._socket)
            connection.pgconn.finish()
        waiting, self._waiting, self._result = self._waiting, deque(), None
        for answer in waiting:
            if answer is not None and not answer.done():
                answer.set_exception(psycopg.OperationalError(str(error)))

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._socket)
            loop.remove_writer(self._socket)
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
