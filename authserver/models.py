"""SQLModel tables of the authorization server. Secrets are stored only as keyed hashes.

Times are integer Unix seconds (UNIX_TIME: 64 bits), which compare the same way in SQLite and
PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, LargeBinary, false, text
from sqlmodel import Field, SQLModel

from shared.database import ROW_ID, UNIX_TIME

ROLES = ("patient", "staff", "admin")

# The built-in client personal access tokens are issued to (created by the first migration):
# blocking it stops them all. No redirect URI and no grant type, so it can never be used at
# /authorize or /token.
PERSONAL_CLIENT_ID = "hospiai_personal_tokens"
# The built-in client the account page asks the MCP server for the user's health-data access
# log with (authserver.data_access; created by migration 0013), also never usable at
# /authorize or /token. One live grant per account and resource, like an app's.
ACCOUNT_PAGE_CLIENT_ID = "hospiai_account_page"

# A live grant that consent memory keeps one of per account, client and resource; personal
# access tokens are the exception, with one grant per token.
LIVE_REMEMBERED_GRANT = text(f"revoked_at IS NULL AND client_id <> '{PERSONAL_CLIENT_ID}'")


class Account(SQLModel, table=True):
    id: str = Field(primary_key=True)
    email: str
    # Lower-cased email: makes the address unique regardless of case.
    email_key: str = Field(unique=True, index=True)
    password_hash: str
    given_name: str
    family_name: str
    phone: str | None = None
    # Indexed for the dashboard's count per role (an index-only scan, not the table).
    role: str = Field(default="patient", index=True)
    disabled: bool = False
    created_at: int = Field(sa_type=UNIX_TIME)


class Membership(SQLModel, table=True):
    """A staff account belongs to a hospital of the MCP server's directory (by its id): the
    hospitals whose data that account may change, sent to resource servers as `hospital_ids`."""

    account_id: str = Field(primary_key=True, foreign_key="account.id")
    hospital_id: str = Field(primary_key=True)
    created_at: int = Field(sa_type=UNIX_TIME)


class Client(SQLModel, table=True):
    client_id: str = Field(primary_key=True)
    # "dynamic" (RFC 7591), "preregistered" (CLI), "metadata_document" (CIMD), "service" (CLI:
    # client credentials for the service API), or "personal": a built-in client (personal
    # access tokens; the account page's reads of the access log).
    kind: str
    client_name: str
    client_secret_hash: str | None = None
    token_endpoint_auth_method: str
    redirect_uris: list[str] = Field(sa_column=Column(JSON, nullable=False))
    grant_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    response_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    scope: str = ""
    # Everything else the client registered (client_uri, logo_uri, contacts, ...).
    extra_metadata: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))
    registration_access_token_hash: str | None = Field(default=None, index=True)
    blocked: bool = False
    # Admin consent: scopes an admin allowed this client for every user (never asked again).
    approved_scope: str = ""
    # Metadata-document clients: when the cached document must be fetched again.
    metadata_expires_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    created_at: int = Field(sa_type=UNIX_TIME)
    last_used_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class ResourceServer(SQLModel, table=True):
    id: str = Field(primary_key=True)
    # The RFC 8707 resource URI; tokens issued for it carry it as their audience.
    resource: str = Field(unique=True)
    name: str
    secret_hash: str
    created_at: int = Field(sa_type=UNIX_TIME)
    # A rotation with a grace period keeps the secret it replaced (its hash) working until
    # previous_secret_until, and never after; a rotation without one, or the next rotation,
    # replaces both.
    previous_secret_hash: str | None = None
    previous_secret_until: int | None = Field(default=None, sa_type=UNIX_TIME)


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


class AccessToken(SQLModel, table=True):
    token_hash: str = Field(primary_key=True)
    grant_id: str = Field(index=True)
    client_id: str
    account_id: str
    scope: str
    resource: str
    issued_at: int = Field(sa_type=UNIX_TIME)
    expires_at: int = Field(sa_type=UNIX_TIME)
    revoked_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class RefreshToken(SQLModel, table=True):
    token_hash: str = Field(primary_key=True)
    grant_id: str = Field(index=True)
    client_id: str
    account_id: str
    scope: str
    resource: str
    issued_at: int = Field(sa_type=UNIX_TIME)
    expires_at: int = Field(sa_type=UNIX_TIME)
    spent_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    # The response this token was exchanged for, sealed under a key derived from the token
    # itself, so a retry inside the grace window gets the same pair and nobody else can read it.
    replay: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


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


class UsedAssertion(SQLModel, table=True):
    """A private_key_jwt client assertion already accepted (RFC 7523 section 3, item 7): its
    jti is refused again until the assertion could no longer be accepted anyway. The primary
    key makes the insert itself the single-use check, on any number of replicas."""

    client_id: str = Field(primary_key=True)
    jti: str = Field(primary_key=True)
    # For the purge: past this time the assertion is refused by its exp, jti or not.
    expires_at: int = Field(index=True, sa_type=UNIX_TIME)


class AccountSession(SQLModel, table=True):
    """A browser's login: the session cookie names it by a random secret, stored here only as a
    keyed hash, so ending the row (logout, an ended session, a disabled account, a new
    password) ends the cookie at once, on every replica."""

    # Public: what the account page's "End" button names; never enough to use the session.
    id: str = Field(primary_key=True)
    # Each page request's one read: a point lookup of this unique index.
    secret_hash: str = Field(unique=True, index=True)
    account_id: str = Field(index=True)
    created_at: int = Field(sa_type=UNIX_TIME)
    # When the password (or a second factor) was last checked: re-authentication rules.
    auth_time: int = Field(sa_type=UNIX_TIME)
    # Written at most every few minutes (web.session.LAST_SEEN_EVERY), not on every request.
    last_seen_at: int = Field(sa_type=UNIX_TIME)
    # For the purge, and the absolute end of the session (HOSPIAI_SESSION_TTL after login).
    expires_at: int = Field(index=True, sa_type=UNIX_TIME)
    # What the account page shows to tell sessions apart: "Firefox on Linux", an IPv4 address
    # or an IPv6 /64.
    user_agent: str = ""
    network: str | None = None
    # How the user proved who they are (RFC 8176 values, space-separated): "pwd", "pwd otp".
    amr: str = Field(default="pwd", sa_column_kwargs={"server_default": "pwd"})
    # The password was right and the account has a second factor not yet given: the session
    # counts for nothing but the second step (web.session.current_session ignores it).
    second_factor_due: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class OneTimeCodeFactor(SQLModel, table=True):
    """An account's authenticator app (TOTP, RFC 6238): its shared secret, sealed under a key
    derived from the server's secret (it must be read back to check a code, so it cannot be a
    hash), and the last time step used, which no code may use again (the conditional UPDATE of
    it is the single-use check, on any number of replicas)."""

    account_id: str = Field(primary_key=True, foreign_key="account.id")
    secret_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: int = Field(sa_type=UNIX_TIME)
    # None while enrolling: the user has not yet typed a code from the app.
    confirmed_at: int | None = Field(default=None, sa_type=UNIX_TIME)
    last_step: int | None = Field(default=None, sa_type=UNIX_TIME)


class RecoveryCode(SQLModel, table=True):
    """One of the ten single-use codes shown once at enrolment, stored as a keyed hash."""

    code_hash: str = Field(primary_key=True)
    account_id: str = Field(index=True, foreign_key="account.id")
    created_at: int = Field(sa_type=UNIX_TIME)
    used_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class Passkey(SQLModel, table=True):
    """A WebAuthn credential of an account (a passkey): its public key and the signature count
    the authenticator last reported, never anything secret. ``credential_id`` is what an
    assertion names it by (discoverable sign-in looks it up before knowing the account)."""

    id: str = Field(primary_key=True)
    account_id: str = Field(index=True, foreign_key="account.id")
    credential_id: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # An unsigned 32-bit counter: 64 bits on PostgreSQL, as a Unix time is.
    sign_count: int = Field(default=0, sa_type=UNIX_TIME)
    # What the user called it ("Work laptop"), shown on the account page and in the console.
    name: str
    # The backup-eligible flag at registration (WebAuthn section 6.1.3): "multi_device" for a
    # synced passkey (RFC 8176 amr "swk"), "single_device" for one bound to its device ("hwk").
    device_type: str
    created_at: int = Field(sa_type=UNIX_TIME)
    last_used_at: int | None = Field(default=None, sa_type=UNIX_TIME)


class UsedChallenge(SQLModel, table=True):
    """A passkey challenge already answered (by its keyed hash): the challenge lives in a signed
    cookie of the browser it was issued to, and this insert, decided by the primary key, is its
    single use on any number of replicas. Kept until the cookie would have expired anyway."""

    challenge_hash: str = Field(primary_key=True)
    expires_at: int = Field(index=True, sa_type=UNIX_TIME)
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
