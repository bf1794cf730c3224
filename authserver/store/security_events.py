"""Security events: the rows of the revocation feed (RFC 8936 polling), each inserted by the
statement that ends the tokens it names, in that statement's transaction.

The feed is read by position (the id of the last event a receiver processed), so ids must
become visible in the order they are numbered. SQLite has one writer at a time, so they do. On
PostgreSQL two transactions could take ids 7 and 8 and commit 8 first: a receiver would read 8,
move past 7 and never see it. So every writer of an event first takes the table's EXCLUSIVE
lock (which readers do not wait for) and holds it until it commits: events are written one
transaction at a time, in id order. Revocations are rare; the lock is taken last in each
transaction, so no writer waits for it while holding a lock another writer needs first."""

from __future__ import annotations

from sqlalchemy import Engine, Executable, TextClause, literal, text
from sqlalchemy import insert as insert_into
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, or_, select

from authserver.models import AccessToken, Grant, SecurityEvent
from shared.database import SQLStore

# How long an event stays in the feed. A resource server caches an answer at most 300 s (its
# HOSPIAI_INTROSPECTION_CACHE_TTL bound), so an event older than that names nothing it could
# still hold; an hour leaves room for a receiver that was away for a while.
RETENTION_SECONDS = 3600

_COLUMNS = ("at", "kind", "resource", "account_id", "client_id", "token_sha256")
_LOCK = text("LOCK TABLE securityevent IN EXCLUSIVE MODE")
# The newest id ever given to an event, purged or not: SQLite's AUTOINCREMENT counter, and the
# id sequence on PostgreSQL (NULL while it has given none).
_NEWEST = {
    "sqlite": text("SELECT seq FROM sqlite_sequence WHERE name = 'securityevent'"),
    "postgresql": text(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('securityevent', 'id'))"
    ),
}


def token_revoked(token_hash: str, token_sha256: str, now: int) -> Executable:
    """The event of an access token revoked (RFC 7009), for its audience only."""
    return insert_into(SecurityEvent).from_select(
        _COLUMNS,
        select_columns(
            literal(now), literal("token"), col(AccessToken.resource),
            col(AccessToken.account_id), col(AccessToken.client_id), literal(token_sha256),
        ).where(col(AccessToken.token_hash) == token_hash),
    )


def grant_revoked(grant_id: str, now: int) -> Executable:
    """The event of a grant revoked, for its audience only: it names the account and the
    client (a live grant is the only one of its account, client and resource, apart from
    personal tokens, whose other grants a receiver then only asks about again)."""
    return insert_into(SecurityEvent).from_select(
        _COLUMNS,
        select_columns(
            literal(now), literal("grant"), col(Grant.resource), col(Grant.account_id),
            col(Grant.client_id), literal(None),
        ).where(col(Grant.id) == grant_id),
    )


def account_disabled(account_id: str, now: int) -> Executable:
    """For every resource server: an account id is not a token identifier."""
    return insert_into(SecurityEvent).values(at=now, kind="account", account_id=account_id)


def claims_changed(account_id: str, claims: dict[str, object], now: int) -> Executable:
    """The account's role or hospitals changed: its tokens' cached answers claim too much."""
    return insert_into(SecurityEvent).values(
        at=now, kind="claims", account_id=account_id, claims=claims
    )


def client_revoked(client_id: str, now: int) -> Executable:
    """A client blocked, deleted, or whose grants were all withdrawn: every resource server."""
    return insert_into(SecurityEvent).values(at=now, kind="client", client_id=client_id)


class SecurityEventStore(SQLStore):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._serialized = engine.dialect.name == "postgresql"

    def _recording(self, *events: Executable) -> list[Executable | TextClause]:
        """The statements that record ``events``, last in their transaction (see above)."""
        return [_LOCK, *events] if self._serialized and events else list(events)

    def _record_in(self, session: Session, *events: Executable) -> None:
        """Record ``events`` in ``session``'s transaction, as its last statements."""
        for statement in self._recording(*events):
            session.exec(statement)  # type: ignore[call-overload]

    def security_events(self, resource: str, after: int, limit: int) -> list[SecurityEvent]:
        """The events after position ``after`` that ``resource`` may see (its own tokens',
        and those of accounts and clients), oldest first, at most ``limit``."""
        query = (
            select(SecurityEvent)
            .where(
                col(SecurityEvent.id) > after,
                or_(col(SecurityEvent.resource).is_(None), col(SecurityEvent.resource) == resource),
            )
            .order_by(col(SecurityEvent.id))
            .limit(limit)
        )
        with self._session() as session:
            return list(session.exec(query))

    def newest_security_event(self) -> int:
        """The jti of the newest event this feed ever issued, 0 for none: a receiver's position
        past it belongs to another history of this database (restored from a backup, reset)."""
        with self._engine.connect() as connection:
            return int(connection.execute(_NEWEST[self._engine.dialect.name]).scalar() or 0)
