"""OAuth clients: registered, preregistered, metadata-document (CIMD) and the personal one."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Boolean, Engine, bindparam
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, delete, select, update

from authserver.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Grant,
    Interaction,
    RefreshToken,
)
from authserver.store.search import contains_text
from authserver.store.security_events import SecurityEventStore, client_revoked

# What a client's metadata document sets; the rest of the row is this server's own record.
_DOCUMENT_COLUMNS = (
    "client_name", "token_endpoint_auth_method", "redirect_uris", "grant_types",
    "response_types", "scope", "extra_metadata", "metadata_expires_at",
)


_CLIENT_COLUMNS = list(Client.__table__.columns)  # type: ignore[attr-defined]
# Per column, how a raw DB-API value becomes the model's: JSON text (SQLite; psycopg parses it
# itself) and SQLite's 0/1 booleans.
_DECODE = {
    column.name: json.loads if isinstance(column.type, JSON)
    else bool if isinstance(column.type, Boolean) else None
    for column in _CLIENT_COLUMNS
}


class ClientStore(SecurityEventStore):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._client = self._hot_read(
            select_columns(*_CLIENT_COLUMNS).where(
                col(Client.client_id) == bindparam("client_id")
            )
        )

    def client_to_read(self, client_id: str) -> Client | None:
        """`client`, for a caller that only reads it (client authentication at the token and
        revocation endpoints): one raw read, and a row built without validation (a tenth of
        the ORM's cost, which was half of a refresh). Never to be changed and stored."""
        return _client_row(self._client.first({"client_id": client_id}))

    async def client_to_read_on_loop(self, client_id: str) -> Client | None:
        """`client_to_read`, for the event loop: it never blocks it (see HotRead)."""
        return _client_row(await self._client.first_on_loop({"client_id": client_id}))

    def clients(self, *, q: str = "", offset: int, limit: int) -> list[Client]:
        """One page of clients, newest first; the id breaks ties, so pages never overlap.
        ``q``: the name or the client id contains it (any case)."""
        query = select(Client)
        if q:
            query = query.where(contains_text(q, col(Client.client_name), col(Client.client_id)))
        with self._session() as session:
            return list(session.exec(
                query.order_by(col(Client.created_at).desc(), col(Client.client_id))
                .offset(offset)
                .limit(limit)
            ))

    def set_client_blocked(self, client_id: str, blocked: bool, now: int) -> bool:
        """Blocking records its event in the same transaction: its tokens stop everywhere."""
        return self._update_one(
            update(Client).where(col(Client.client_id) == client_id).values(blocked=blocked),
            then=self._recording(client_revoked(client_id, now)) if blocked else [],
        )

    def approve_client(self, client_id: str, scope: str) -> bool:
        """Admin consent: ``scope`` is allowed for every user of this client."""
        return self._update_one(
            update(Client).where(col(Client.client_id) == client_id).values(approved_scope=scope)
        )

    def add_client(self, client: Client) -> None:
        self._add(client)

    def client(self, client_id: str) -> Client | None:
        with self._session() as session:
            return session.get(Client, client_id)

    def clients_by_id(self, client_ids: set[str]) -> list[Client]:
        """Each of these clients that exists, in one query (the clients an access log names)."""
        if not client_ids:
            return []
        with self._session() as session:
            return list(session.exec(select(Client).where(col(Client.client_id).in_(client_ids))))

    def client_by_registration_token(self, token_hash: str) -> Client | None:
        with self._session() as session:
            return session.exec(
                select(Client).where(Client.registration_access_token_hash == token_hash)
            ).first()

    def save_metadata_client(self, client: Client, now: int) -> bool:
        """Store a metadata-document client, or refresh the stored one's metadata (its blocking
        and history stay). When its redirect URIs changed, its admin consent and every grant
        go: they were given for the old ones. True when it is new."""
        values: dict[str, Any] = {name: getattr(client, name) for name in _DOCUMENT_COLUMNS}
        with self._session() as session:
            stored = session.get(Client, client.client_id)
            if stored is not None and stored.kind == client.kind:
                withdrawn = stored.redirect_uris != client.redirect_uris
                if withdrawn:
                    values.update(_withdraw_consent(session, client.client_id, now))
                session.exec(
                    update(Client).where(col(Client.client_id) == client.client_id).values(**values)
                )
                if withdrawn:
                    self._record_in(session, client_revoked(client.client_id, now))
                session.commit()
                return False
            session.add(client)
            # Fetched at the same moment by another request or replica: theirs is as good.
            return self._commit_new(session)

    def update_client_metadata(
        self, client_id: str, values: dict[str, Any], now: int
    ) -> Client | None:
        """Replace a registration's metadata (RFC 7592 section 2.2). When its redirect URIs
        change, its admin consent and every grant go, as for a metadata document. The row is
        read FOR UPDATE, so that on PostgreSQL concurrent updates each compare with the URIs
        they replace (SQLite has no row locks and ignores it)."""
        with self._session() as session:
            stored = session.exec(
                select(Client).where(col(Client.client_id) == client_id).with_for_update()
            ).first()
            if stored is None:
                return None
            withdrawn = (
                "redirect_uris" in values and values["redirect_uris"] != stored.redirect_uris
            )
            if withdrawn:
                values = {**values, **_withdraw_consent(session, client_id, now)}
            session.exec(update(Client).where(col(Client.client_id) == client_id).values(**values))
            if withdrawn:
                self._record_in(session, client_revoked(client_id, now))
            session.commit()
            return session.get(Client, client_id, populate_existing=True)

    def delete_client(self, client_id: str, now: int) -> None:
        """Delete a client and everything issued to it, and record its event."""
        with self._session() as session:
            for table in (AccessToken, RefreshToken, AuthorizationCode, Grant, Interaction):
                session.exec(delete(table).where(col(table.client_id) == client_id))
            session.exec(delete(Client).where(col(Client.client_id) == client_id))
            self._record_in(session, client_revoked(client_id, now))
            session.commit()


def _client_row(row: tuple[Any, ...] | None) -> Client | None:
    if row is None:
        return None
    values = {}
    for column, value in zip(_CLIENT_COLUMNS, row, strict=True):
        decode = _DECODE[column.name]
        # psycopg hands JSON back parsed already.
        if decode is not None and value is not None and not (
            decode is json.loads and not isinstance(value, str | bytes)
        ):
            value = decode(value)
        values[column.name] = value
    return Client.model_construct(**values)


def _withdraw_consent(session: Session, client_id: str, now: int) -> dict[str, Any]:
    """Revoke every live grant of a client whose redirect URIs change: the users and the admin
    allowed it for the old ones. Returns the client columns that go with it (no admin consent)."""
    session.exec(
        update(Grant)
        .where(col(Grant.client_id) == client_id, col(Grant.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return {"approved_scope": ""}
