"""SQLModel tables of the authorization server, one module per noun group, all importable from
here (the store, the migrations' tests and the CLI import `authserver.models`). Secrets are
stored only as keyed hashes.

Times are integer Unix seconds (UNIX_TIME: 64 bits), which compare the same way in SQLite and
PostgreSQL.
"""

from authserver.models.accounts import ROLES, Account, AccountSession, Membership
from authserver.models.clients import (
    ACCOUNT_PAGE_CLIENT_ID,
    PERSONAL_CLIENT_ID,
    Client,
    ResourceServer,
    UsedAssertion,
)
from authserver.models.events import Attempt, AuditEvent, SecurityEvent
from authserver.models.factors import OneTimeCodeFactor, Passkey, RecoveryCode, UsedChallenge
from authserver.models.grants import (
    AccessToken,
    AuthorizationCode,
    Grant,
    Interaction,
    RefreshToken,
)

__all__ = [
    "ACCOUNT_PAGE_CLIENT_ID",
    "PERSONAL_CLIENT_ID",
    "ROLES",
    "AccessToken",
    "Account",
    "AccountSession",
    "Attempt",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Grant",
    "Interaction",
    "Membership",
    "OneTimeCodeFactor",
    "Passkey",
    "RecoveryCode",
    "RefreshToken",
    "ResourceServer",
    "SecurityEvent",
    "UsedAssertion",
    "UsedChallenge",
]
