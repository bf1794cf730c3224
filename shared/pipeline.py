"""A PostgreSQL connection of an event loop in libpq's pipeline mode, for the hot reads
(shared.hot_reads) that must not block the loop nor pay a worker thread per read."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import abc as psycopg_abc
from psycopg import pq
from psycopg.adapt import Transformer

from shared import session_bounds

Row = tuple[Any, ...]


class Pipeline:
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
        await connection.execute(*session_bounds.statement())  # as the engine's own sessions
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
