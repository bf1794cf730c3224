"""Authorization requests, grants and what they issue: codes, access and refresh tokens
(SQLModel tables). Tokens and codes are stored by their keyed hash only."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, LargeBinary, false, text
from sqlmodel import Field, SQLModel

from authserver.models.clients import PERSONAL_CLIENT_ID
from shared.database import UNIX_TIME

# A live grant that consent memory keeps one of per account, client and resource; personal
# access tokens are the exception, with one grant per token.
LIVE_REMEMBERED_GRANT = text(f"revoked_at IS NULL AND client_id <> '{PERSONAL_CLIENT_ID}'")


class Interaction(SQLModel, table=True):
    """One authorization request waiting for the user: the hand-off between OAuth and the pages."""

    id: str = Field(primary_key=True)
    client_id: str
    # The validated authorization request parameters, replayed into Authlib when it completes.
    params: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    # The scope the request resolved to (the client's defaults when it asked for none).
    scope: str
    # The resource (token audience) it was validated for.
    resource: str
    # Only the browser that started the request may finish it.
    browser_binding: str
    created_at: int = Field(sa_type=UNIX_TIME)
    expires_at: int = Field(sa_type=UNIX_TIME)
    # What oauth.prompt decided the pages must do whatever the session or remembered consent
    # say: log in again (prompt=login), ask for consent again (prompt=consent).
    force_login: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    force_consent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The pages' result: who decided, and "allow" or "deny"; and how that user had signed in
    # (their session's amr and auth_time), which the grant records when the code is issued.
    account_id: str | None = None
    decision: str | None = None
    amr: str | None = None
    auth_time: int | None = Field(default=None, sa_type=UNIX_TIME)
    completed_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class Grant(SQLModel, table=True):
    """What one account allowed one client, and everything issued from that decision."""

    # Two approvals at once (two tabs, two replicas) must widen one grant, not make a second.
    __table_args__ = (
        Index(
            "ix_grant_live_key", "account_id", "client_id", "resource", unique=True,
            sqlite_where=LIVE_REMEMBERED_GRANT, postgresql_where=LIVE_REMEMBERED_GRANT,
        ),
        # The admin console's grants list, newest first: a backward walk cut off at a page.
        Index("ix_grant_created_at_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True)
    account_id: str = Field(index=True)
    client_id: str = Field(index=True)
    scope: str
    resource: str
    created_at: int = Field(sa_type=UNIX_TIME)
    last_used_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    revoked_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    # Personal access tokens only: the name the user gave it, and the token's first characters.
    name: str | None = None
    token_prefix: str | None = None
    # How the user signed in for its latest authorization (RFC 8176 amr, space-separated, and
    # auth_time), returned by introspection with the acr it amounts to; none for personal
    # tokens and for grants from before it was recorded.
    amr: str | None = None
    auth_time: int | None = Field(default=None, sa_type=UNIX_TIME)


class AuthorizationCode(SQLModel, table=True):
    code_hash: str = Field(primary_key=True)
    grant_id: str = Field(index=True)
    client_id: str
    account_id: str
    redirect_uri: str
    scope: str
    resource: str
    code_challenge: str
    code_challenge_method: str
    created_at: int = Field(sa_type=UNIX_TIME)
    expires_at: int = Field(sa_type=UNIX_TIME)
    consumed_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class _IssuedToken(SQLModel):
    """What an access token and a refresh token both hold: stored by the hash of its value
    (never the value), for one grant, client, account, scope and resource, with its life."""

    token_hash: str = Field(primary_key=True)
    grant_id: str = Field(index=True)
    client_id: str
    account_id: str
    scope: str
    resource: str
    issued_at: int = Field(sa_type=UNIX_TIME)
    expires_at: int = Field(sa_type=UNIX_TIME)


class AccessToken(_IssuedToken, table=True):
    revoked_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class RefreshToken(_IssuedToken, table=True):
    spent_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    # The response this token was exchanged for, sealed under a key derived from the token
    # itself, so a retry inside the grace window gets the same pair and nobody else can read it.
    replay: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
