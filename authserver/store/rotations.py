"""Refresh-token rotations (RFC 9700 4.14), committed in groups by one writer thread.

Each rotation is its own unit: the conditional UPDATE that spends the old token (the row count
says whether this caller won it), then, only if it did, the two new tokens, the audit row and
the last use of the grant and the client. A durable commit costs a flush to disk on SQLite
(about 2 ms here with synchronous=FULL) and a WAL flush plus a round trip on PostgreSQL; one
commit per refresh caps the grant at a few hundred a second however fast the rest is. So the
rotations that arrive while a commit is under way wait and are committed together in the
next one, each caller answered only once the commit that holds its rotation is durable.
Nothing is weakened: a rotation is still never visible without its audit row and touches,
and a spent token stays spent for every replica (the UPDATE's condition, on the database).

The statements are compiled once and run on a raw DB-API connection the writer holds (the
SQLAlchemy execution around six small statements cost more than the statements). On
PostgreSQL a group's statements are pipelined: three round trips for the whole group."""

from __future__ import annotations

import copy
import json
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Engine, Table, bindparam, insert, or_, update
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import col

from authserver.models import AccessToken, AuditEvent, Client, Grant, RefreshToken
from shared.database import write_lock

# Last-use times (of a grant, of a client) are kept to the minute: one write a minute at most.
LAST_USED_PRECISION = 60
# Rotations committed together at most: a bound on how long one group holds the write lock.
_GROUP = 128


@dataclass
class Rotation:
    """One refresh: spend ``old_hash`` and store its successors and their audit ``event``."""

    old_hash: str
    now: int
    access: AccessToken
    refresh: RefreshToken
    replay: bytes
    event: AuditEvent
    done: threading.Event = field(default_factory=threading.Event)
    won: bool = False
    error: BaseException | None = None


class _Statement:
    """A statement compiled once for the engine's dialect, bound from a mapping."""

    def __init__(self, engine: Engine, statement: UpdateBase, keys: Sequence[str] = ()) -> None:
        compiled = statement.compile(
            dialect=engine.dialect, column_keys=list(keys) if keys else None
        )
        self.sql = str(compiled)
        self._order = compiled.positiontup

    def bind(self, params: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        return [params[name] for name in self._order] if self._order else params


def _insert_of(engine: Engine, model: Any, skip: str = "") -> tuple[_Statement, list[str]]:
    table: Table = model.__table__
    names = [column.name for column in table.columns if column.name != skip]
    return _Statement(engine, insert(table), names), names


class RotationWriter:
    """The one writer of rotations for an engine: `rotate` blocks until its rotation is
    committed (True) or lost to another spender of the token (False)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pipelined = engine.dialect.name == "postgresql"
        self._queue: queue.SimpleQueue[Rotation | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._spend = _Statement(engine, update(RefreshToken).where(
            col(RefreshToken.token_hash) == bindparam("old_hash"),
            col(RefreshToken.spent_at).is_(None),
        ).values(spent_at=bindparam("now"), replay=bindparam("sealed")))
        since: BindParameter[int] = bindparam("since")
        self._touch_grant = _Statement(engine, update(Grant).where(
            col(Grant.id) == bindparam("grant"),
            or_(col(Grant.last_used_at).is_(None), col(Grant.last_used_at) <= since),
        ).values(last_used_at=bindparam("now")))
        self._touch_client = _Statement(engine, update(Client).where(
            col(Client.client_id) == bindparam("client"),
            or_(col(Client.last_used_at).is_(None), col(Client.last_used_at) <= since),
        ).values(last_used_at=bindparam("now")))
        self._access, self._access_names = _insert_of(engine, AccessToken)
        self._refresh, self._refresh_names = _insert_of(engine, RefreshToken)
        self._event, self._event_names = _insert_of(engine, AuditEvent, skip="id")
        # The driver's error for the database failing as a whole rather than one statement.
        dbapi = engine.dialect.dbapi
        assert dbapi is not None
        self._unavailable: type[Exception] = dbapi.OperationalError

    def rotate(self, rotation: Rotation) -> bool:
        self._start()
        self._queue.put(rotation)
        rotation.done.wait()
        if rotation.error is not None:
            raise rotation.error
        return rotation.won

    def close(self) -> None:
        """Stop the writer once the rotations queued before have been committed."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._starting:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="rotations", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < _GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(more)
            self._commit_group(group)

    def _commit_group(self, group: list[Rotation]) -> None:
        try:
            self._transaction(group)
        except self._unavailable as error:
            if _conflict(error):
                self._one_by_one(group)
            else:
                # The database itself failed (its lock not had within the timeout, the
                # connection lost): each rotation alone would wait as long again, one after
                # the other, while every later refresh queued behind them. All fail now (a
                # server_error each; their tokens stay unspent, so the clients' retries work).
                for rotation in group:
                    rotation.won, rotation.error = False, copy.copy(error)
        except Exception:  # one bad rotation must not fail the others
            self._one_by_one(group)
        for rotation in group:
            rotation.done.set()

    def _one_by_one(self, group: list[Rotation]) -> None:
        """Each alone, so that whatever failed fails only its own caller."""
        for rotation in group:
            try:
                self._transaction([rotation])
            except Exception as error:  # raised in the caller's thread
                rotation.won, rotation.error = False, error

    def _transaction(self, group: list[Rotation]) -> None:
        """Spend, then store the winners' rows, in one transaction; False for the losers."""
        connection = self._engine.raw_connection()
        try:
            with write_lock(self._engine):
                won = self._run_group(connection, group)
            for rotation, winner in zip(group, won, strict=True):
                rotation.won = winner
        finally:
            connection.close()

    def _run_group(self, connection: Any, group: list[Rotation]) -> list[bool]:
        try:
            if self._pipelined:
                with connection.driver_connection.pipeline() as pipeline:
                    won = self._statements(connection, group, pipeline.sync)
                    connection.commit()
            else:
                won = self._statements(connection, group, lambda: None)
                connection.commit()
        except BaseException:
            connection.rollback()
            raise
        return won

    def _statements(
        self, connection: Any, group: list[Rotation], sync: Callable[[], None]
    ) -> list[bool]:
        spends = []
        for rotation in group:
            cursor = connection.cursor()
            params = {"old_hash": rotation.old_hash, "now": rotation.now, "sealed": rotation.replay}
            cursor.execute(self._spend.sql, self._spend.bind(params))
            spends.append(cursor)
        sync()
        won = [cursor.rowcount == 1 for cursor in spends]
        cursor = connection.cursor()
        touched: set[tuple[str, str]] = set()
        for rotation, winner in zip(group, won, strict=True):
            if not winner:
                continue
            self._insert(cursor, self._access, self._access_names, rotation.access)
            self._insert(cursor, self._refresh, self._refresh_names, rotation.refresh)
            self._insert(cursor, self._event, self._event_names, rotation.event)
            now = rotation.now
            for statement, key, value in (
                (self._touch_grant, "grant", rotation.access.grant_id),
                (self._touch_client, "client", rotation.access.client_id),
            ):
                # Once per group and row: the later ones of a group would change nothing.
                if (key, value) not in touched:
                    touched.add((key, value))
                    params = {key: value, "now": now, "since": now - LAST_USED_PRECISION}
                    cursor.execute(statement.sql, statement.bind(params))
        return won

    @staticmethod
    def _insert(cursor: Any, statement: _Statement, names: list[str], row: Any) -> None:
        values = {name: getattr(row, name) for name in names}
        if "detail" in values:
            values["detail"] = json.dumps(values["detail"])
        cursor.execute(statement.sql, statement.bind(values))


def _conflict(error: Exception) -> bool:
    """A PostgreSQL transaction rolled back for its conflict with another (SQLSTATE class 40:
    a deadlock with another replica's group, a serialization failure), which a retry of each
    rotation alone gets past; psycopg's classes for them are not all TransactionRollback's."""
    return str(getattr(error, "sqlstate", None) or "").startswith("40")
