"""The health-data access log's rows: appended in one transaction per group of concurrent
calls (a call's rows all in one), read newest first, deleted only past the retention. Nothing
here updates a row."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from anyio import to_thread
from sqlalchemy import insert
from sqlmodel import col, delete, select

from mcpserver.domain.models import DataAccess
from shared.database import SQLStore


class AccessLogStore(SQLStore):
    def log_access(self, rows: Sequence[DataAccess]) -> None:
        """All the rows of a commit's calls, or none (then it raises, and those calls fail).
        One INSERT of their values, without the ORM's unit of work: 68-132 us of CPU a row
        instead of 110-240 (commits of 16 and 4 rows), and what the log costs a logged
        tools/call went from 167 to 109 us of the server's CPU (`make bench` (e), issue 14)."""
        if not rows:
            return
        with self._engine.begin() as connection:
            connection.execute(
                insert(DataAccess), [row.model_dump(exclude={"id"}) for row in rows]
            )

    def accesses(
        self,
        *,
        subject_sub: str | None = None,
        actor_sub: str | None = None,
        hospital_id: str | None = None,
        tool: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[DataAccess]:
        """Newest first; pages continue ``before`` the last id seen."""
        query = select(DataAccess)
        for column, value in ((DataAccess.subject_sub, subject_sub),
                              (DataAccess.actor_sub, actor_sub),
                              (DataAccess.hospital_id, hospital_id), (DataAccess.tool, tool)):
            if value is not None:
                query = query.where(col(column) == value)
        if before is not None:
            query = query.where(col(DataAccess.id) < before)
        with self._session() as session:
            return list(session.exec(query.order_by(col(DataAccess.id).desc()).limit(limit)))

    def purge_accesses(self, older_than: int) -> int:
        """Delete the rows recorded before ``older_than``; how many."""
        with self._session() as session:
            deleted = session.exec(
                delete(DataAccess).where(col(DataAccess.at) < older_than)
            ).rowcount
            session.commit()
        return int(deleted or 0)


class GroupCommit:
    """Appends the rows of concurrent calls in one transaction: each call waits for the commit
    that holds its rows (so it never answers before its record is durable, and a failed
    commit fails every call in it), while one commit a batch amortises the disk's flush.
    One per event loop's services; the rows are written even if the call that brought them
    is cancelled meanwhile."""

    def __init__(self, store: AccessLogStore) -> None:
        self._store = store
        self._pending: list[tuple[Sequence[DataAccess], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def write(self, rows: Sequence[DataAccess]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        await asyncio.shield(future)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await to_thread.run_sync(
                        self._store.log_access, [row for rows, _ in batch for row in rows])
                except Exception as error:
                    for _, future in batch:
                        future.set_exception(error)
                else:
                    for _, future in batch:
                        future.set_result(None)
        finally:
            self._flushing = None
