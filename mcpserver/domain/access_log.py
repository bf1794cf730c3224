"""The health-data access log's rows: appended in one transaction per call, read newest first,
deleted only past the retention. Nothing here updates a row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, delete, select

from mcpserver.domain.models import DataAccess
from shared.database import SQLStore


class AccessLogStore(SQLStore):
    def log_access(self, rows: Sequence[DataAccess]) -> None:
        """All the rows of one call, or none (then it raises, and the call fails)."""
        self._add(*rows)

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
