"""Clients and resource servers (SQLModel tables), and the built-in clients' ids."""

from __future__ import annotations

import hmac

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.database import UNIX_TIME

# The built-in client personal access tokens are issued to (created by the first migration):
# blocking it stops them all. No redirect URI and no grant type, so it can never be used at
# /authorize or /token.
PERSONAL_CLIENT_ID = "hospiai_personal_tokens"
# The built-in client the account page asks the MCP server for the user's health-data access
# log with (authserver.data_access; created by migration 0013), also never usable at
# /authorize or /token. One live grant per account and resource, like an app's.
ACCOUNT_PAGE_CLIENT_ID = "hospiai_account_page"


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

    def authenticates(self, secret_hash: str, now: int) -> bool:
        return secret_holds(
            secret_hash, self.secret_hash, self.previous_secret_hash, self.previous_secret_until,
            now,
        )


def secret_holds(
    secret_hash: str, current: str, previous: str | None, previous_until: int | None, now: int
) -> bool:
    """Whether a resource server's secret (its hash) is its current one, or the one it replaced
    while the grace period of that rotation lasts (up to, not including, its end): the same
    for every endpoint it calls (introspection, the revocation feed, the old validation)."""
    matches_current = hmac.compare_digest(secret_hash, current)
    matches_previous = (
        previous is not None
        and previous_until is not None
        and now < previous_until
        and hmac.compare_digest(secret_hash, previous)
    )
    return matches_current or matches_previous



class UsedAssertion(SQLModel, table=True):
    """A private_key_jwt client assertion already accepted (RFC 7523 section 3, item 7): its
    jti is refused again until the assertion could no longer be accepted anyway. The primary
    key makes the insert itself the single-use check, on any number of replicas."""

    client_id: str = Field(primary_key=True)
    jti: str = Field(primary_key=True)
    # For the purge: past this time the assertion is refused by its exp, jti or not.
    expires_at: int = Field(index=True, sa_type=UNIX_TIME)
