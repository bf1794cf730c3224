"""Resource servers (RFC 8707 resources): the audiences tokens are issued for, and the callers
of introspection (RFC 7662)."""

from __future__ import annotations

from sqlmodel import col, select, update

from authserver.models import ResourceServer
from shared.database import SQLStore


class ResourceServerStore(SQLStore):
    def add_resource_server(self, resource_server: ResourceServer) -> None:
        self._add(resource_server)

    def rotate_resource_server(
        self, resource_server_id: str, secret_hash: str, previous_until: int | None
    ) -> bool:
        """A new secret; the one it replaces keeps working until ``previous_until`` (None: it
        stops at once). One UPDATE, whose SET reads the row as it was: the replaced secret is
        the current one, and a grace left by an earlier rotation ends here."""
        kept = col(ResourceServer.secret_hash) if previous_until is not None else None
        return self._update_one(
            update(ResourceServer)
            .where(col(ResourceServer.id) == resource_server_id)
            .values(
                secret_hash=secret_hash,
                previous_secret_hash=kept,
                previous_secret_until=previous_until,
            )
        )

    def resource_servers(self) -> list[ResourceServer]:
        with self._session() as session:
            return list(session.exec(select(ResourceServer).order_by(col(ResourceServer.name))))

    def resource_server_by_resource(self, resource: str) -> ResourceServer | None:
        with self._session() as session:
            return session.exec(
                select(ResourceServer).where(ResourceServer.resource == resource)
            ).first()

    def resource_server(self, resource_server_id: str) -> ResourceServer | None:
        with self._session() as session:
            return session.get(ResourceServer, resource_server_id)
