"""Second factors and passkeys of an account (SQLModel tables); nothing secret is readable
back except the one-time code secret, which is sealed."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from shared.database import UNIX_TIME


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
