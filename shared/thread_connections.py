"""One SQLite connection per thread for a store's hot reads (shared.hot_reads), held here
rather than in a pool: every hot read of the store shares the thread's one connection, and
each is closed as soon as its thread ends."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine


class ThreadConnections:
    """For an engine that pools none: its connections are taken out of SQLAlchemy's hands and
    kept per thread. SQLAlchemy's pool of one connection per thread closed arbitrary ones, a
    live thread's included, once threads that had come and gone reached its size (anyio's
    idle workers end and are replaced), and every later read on that thread failed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        # Every connection still held, for release; changed and read under the lock.
        self._holders: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._lock = threading.Lock()

    def get(self) -> Any:
        """This thread's driver connection, opened on its first read."""
        holder: _Held = getattr(self._local, "holder", None) or self._hold()
        return holder.connection

    def _hold(self) -> _Held:
        fairy = self._engine.raw_connection()
        fairy.detach()
        holder = _Held(fairy.dbapi_connection)
        with self._lock:
            self._holders.add(holder)
            self._local.holder = holder
        return holder

    def release(self) -> None:
        """Close every thread's connection (the store's disposal); the next read opens new
        ones. A read under way on another thread fails, as on any disposed engine."""
        with self._lock:
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
