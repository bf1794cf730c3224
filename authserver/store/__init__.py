"""The only package that issues SQL: one module per noun, composed into one `Store`. Methods
are named for their intent; single use is atomic.

Every consuming operation (a code, a refresh token, an interaction) is a conditional UPDATE
whose row count says who won, so it stays correct with several replicas on one database.
"""

from __future__ import annotations

from authserver.models import (
    AccessToken,
    Account,
    AccountSession,
    Attempt,
    AuditEvent,
    AuthorizationCode,
    Client,
    Grant,
    Interaction,
    Membership,
    OneTimeCodeFactor,
    Passkey,
    RecoveryCode,
    RefreshToken,
    ResourceServer,
    SecurityEvent,
    UsedAssertion,
    UsedChallenge,
)
from authserver.store.accounts import AccountStore
from authserver.store.assertions import AssertionStore
from authserver.store.attempts import AttemptStore, RecentAttempts
from authserver.store.audit import AuditEventStore
from authserver.store.clients import ClientStore
from authserver.store.factors import FactorStore
from authserver.store.grants import GrantStore
from authserver.store.interactions import InteractionStore
from authserver.store.memberships import MembershipStore
from authserver.store.passkeys import PasskeyStore
from authserver.store.purge import Purger
from authserver.store.resource_servers import ResourceServerStore
from authserver.store.security_events import SecurityEventStore
from authserver.store.sessions import SessionStore
from authserver.store.statistics import StatisticsStore
from authserver.store.tokens import Introspected, LiveToken, TokenStore

__all__ = ["Introspected", "LiveToken", "RecentAttempts", "Store"]


class Store(
    AccountStore,
    MembershipStore,
    ClientStore,
    ResourceServerStore,
    InteractionStore,
    GrantStore,
    TokenStore,
    AuditEventStore,
    AttemptStore,
    AssertionStore,
    SessionStore,
    FactorStore,
    PasskeyStore,
    StatisticsStore,
    SecurityEventStore,
    Purger,
):
    SERVICE = "authserver"
    TABLES = (
        Account, Client, ResourceServer, Interaction, Grant, AuthorizationCode, AccessToken,
        RefreshToken, AuditEvent, Attempt, UsedAssertion, Membership, AccountSession,
        OneTimeCodeFactor, RecoveryCode, Passkey, UsedChallenge, SecurityEvent,
    )
