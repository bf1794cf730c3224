"""What happened (SQLModel tables): the audit log, throttled attempts, and the security events
resource servers poll."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from shared.database import ROW_ID, UNIX_TIME


class AuditEvent(SQLModel, table=True):
    """Who did what, from where; never a secret (ids, scopes and emails only)."""

    # The dashboard counts one kind of event per day: a range of this index per kind.
    __table_args__ = (Index("ix_auditevent_event_at", "event", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    at: int = Field(index=True, sa_type=UNIX_TIME)
    # "login.succeeded", "token.issued", "admin.client_blocked", ...
    event: str = Field(index=True)
    # The account that acted, when there is one.
    actor: str | None = Field(default=None, index=True)
    client_id: str | None = Field(default=None, index=True)
    ip: str | None = None
    detail: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))


class Attempt(SQLModel, table=True):
    """An attempt counted against a throttling limit, kept for its window: a login that failed,
    or whose password check is still running (kind "login": counted per email and per
    network, a successful login deletes its own row and only that one), or a dynamic client
    registration (kind "registration": counted per network, kept whatever its outcome)."""

    # Each throttling question reads the newest rows of one key: a backward index range scan,
    # cut off at the limit, however many attempts an attack piles up.
    __table_args__ = (
        Index("ix_attempt_account_key_at", "account_key", "at"),
        Index("ix_attempt_kind_network_at", "kind", "network", "at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    # For the purge of rows past the window.
    at: int = Field(index=True, sa_type=UNIX_TIME)
    kind: str
    # Logins: a keyed hash of the email as typed, lower-cased as accounts are looked up; known
    # or not. None for a registration.
    account_key: str | None = None
    # The client's IPv4 address or IPv6 /64 network; none without a client address.
    network: str | None = None



class SecurityEvent(SQLModel, table=True):
    """Something that ends tokens before their expiry (a token or grant revoked, an account
    disabled, a client blocked), written in the transaction that did it: the feed resource
    servers poll (RFC 8936) to drop what they cached, the same on every replica. Identifiers
    only, never a token: a revoked access token is named by the SHA-256 of its value, which is
    how a resource server's cache already knows it."""

    # AUTOINCREMENT on SQLite: an id is never given again once purged, so a receiver's position
    # in the feed never skips a new event.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    at: int = Field(index=True, sa_type=UNIX_TIME)
    # "token", "grant", "account", "client" or "claims" (authserver.oauth.security_events maps
    # each to its event type URI).
    kind: str
    # The audience whose tokens it ends; None: every resource server (an account or a client).
    resource: str | None = None
    account_id: str | None = None
    client_id: str | None = None
    # "token" only: the SHA-256 (hex) of the revoked access token.
    token_sha256: str | None = None
    # "claims" only: the account's claims that changed, with their new values (a role that
    # can hold fewer scopes, fewer hospitals), which its tokens' cached answers must not keep.
    claims: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
