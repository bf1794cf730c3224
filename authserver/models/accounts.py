"""Accounts, their hospitals and their browser sessions (SQLModel tables)."""

from __future__ import annotations

from sqlalchemy import false
from sqlmodel import Field, SQLModel

from shared.database import UNIX_TIME

ROLES = ("patient", "staff", "admin")


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
