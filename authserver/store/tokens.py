"""Authorization codes, access and refresh tokens, each stored by its hash; and introspection
(RFC 7662), the hot path every resource-server cache miss lands on."""

from __future__ import annotations

import hmac
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, Select, and_, bindparam, or_
from sqlalchemy import select as select_columns
from sqlalchemy.sql.dml import Update, UpdateBase
from sqlmodel import col, update

from authserver.models import (
    AccessToken,
    Account,
    AuditEvent,
    AuthorizationCode,
    Client,
    Grant,
    RefreshToken,
    ResourceServer,
)
from authserver.store.rotations import LAST_USED_PRECISION, Rotation, RotationWriter
from authserver.store.security_events import SecurityEventStore, token_revoked
from shared.hot_reads import Params

__all__ = ["LAST_USED_PRECISION", "LiveRefreshToken", "TokenStore"]


class LiveToken(NamedTuple):
    grant_id: str
    grant_last_used_at: int | None
    client_id: str
    scope: str
    resource: str
    issued_at: int
    expires_at: int
    account_id: str
    email: str
    given_name: str
    family_name: str
    role: str
    # How the user signed in for the grant's latest authorization (none: not recorded).
    amr: str | None
    auth_time: int | None


class Introspected(NamedTuple):
    caller_secret_hash: str
    caller_resource: str
    # None: no access token with that hash is live for the caller's resource.
    token: LiveToken | None
    # The secret a rotation with a grace period replaced, and until when it still works.
    caller_previous_secret_hash: str | None = None
    caller_previous_until: int | None = None

    def authenticates(self, secret_hash: str, now: int) -> bool:
        """Whether the caller's secret (its hash) is its current one, or the one it replaced
        while the grace period of that rotation lasts (up to, not including, its end)."""
        current = hmac.compare_digest(secret_hash, self.caller_secret_hash)
        previous = (
            self.caller_previous_secret_hash is not None
            and self.caller_previous_until is not None
            and now < self.caller_previous_until
            and hmac.compare_digest(secret_hash, self.caller_previous_secret_hash)
        )
        return current or previous


# The calling resource server, then the token and what keeps it live, each left-joined only if
# live; flat joins, because SQLite materializes a nested one (twice the cost on the hot path).
_INTROSPECTION: Select[*tuple[Any, ...]] = (
    select_columns(
        col(ResourceServer.secret_hash),
        col(ResourceServer.resource),
        col(ResourceServer.previous_secret_hash),
        col(ResourceServer.previous_secret_until),
        col(Client.client_id),
        col(Grant.id),
        col(Grant.last_used_at),
        col(AccessToken.client_id),
        col(AccessToken.scope),
        col(AccessToken.resource),
        col(AccessToken.issued_at),
        col(AccessToken.expires_at),
        col(Account.id),
        col(Account.email),
        col(Account.given_name),
        col(Account.family_name),
        col(Account.role),
        col(Grant.amr),
        col(Grant.auth_time),
    )
    .select_from(ResourceServer)
    .outerjoin(
        AccessToken,
        and_(
            col(AccessToken.token_hash) == bindparam("token_hash"),
            col(AccessToken.resource) == col(ResourceServer.resource),
            col(AccessToken.expires_at) > bindparam("now"),
            col(AccessToken.revoked_at).is_(None),
        ),
    )
    .outerjoin(
        Grant, and_(col(Grant.id) == col(AccessToken.grant_id), col(Grant.revoked_at).is_(None))
    )
    .outerjoin(
        Client,
        and_(col(Client.client_id) == col(AccessToken.client_id), col(Client.blocked).is_(False)),
    )
    .outerjoin(
        Account,
        and_(col(Account.id) == col(AccessToken.account_id), col(Account.disabled).is_(False)),
    )
    .where(col(ResourceServer.id) == bindparam("caller_id"))
)


class LiveRefreshToken(NamedTuple):
    """A refresh token with what the refresh grant checks of its grant and account."""

    token_hash: str
    grant_id: str
    client_id: str
    account_id: str
    scope: str
    resource: str
    issued_at: int
    expires_at: int
    spent_at: int | None
    replay: bytes | None
    # None: the grant is revoked (or gone).
    live_grant_id: str | None
    # None: the account is disabled (or gone).
    account_role: str | None


# The refresh grant's one read: the token, its grant if live, its account if active.
_REFRESH_TOKEN: Select[*tuple[Any, ...]] = (
    select_columns(
        col(RefreshToken.token_hash),
        col(RefreshToken.grant_id),
        col(RefreshToken.client_id),
        col(RefreshToken.account_id),
        col(RefreshToken.scope),
        col(RefreshToken.resource),
        col(RefreshToken.issued_at),
        col(RefreshToken.expires_at),
        col(RefreshToken.spent_at),
        col(RefreshToken.replay),
        col(Grant.id),
        col(Account.role),
    )
    .select_from(RefreshToken)
    .outerjoin(
        Grant, and_(col(Grant.id) == col(RefreshToken.grant_id), col(Grant.revoked_at).is_(None))
    )
    .outerjoin(
        Account,
        and_(col(Account.id) == col(RefreshToken.account_id), col(Account.disabled).is_(False)),
    )
    .where(col(RefreshToken.token_hash) == bindparam("token_hash"))
)


class TokenStore(SecurityEventStore):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._introspection = self._hot_read(_INTROSPECTION)
        self._refresh_token = self._hot_read(_REFRESH_TOKEN)
        self._rotations = RotationWriter(engine)

    def dispose(self) -> None:
        self._rotations.close()
        super().dispose()

    def code(self, code_hash: str) -> AuthorizationCode | None:
        with self._session() as session:
            return session.get(AuthorizationCode, code_hash)

    def exchange_code(
        self, code_hash: str, now: int, access: AccessToken, refresh: RefreshToken | None
    ) -> bool:
        """Consume a code and store the tokens it buys, in one transaction.

        False means the code was already consumed or expired: nothing is stored.
        """
        return self._update_one(
            _unused_code(code_hash, now)
            .values(consumed_at=now),
            add=[access] if refresh is None else [access, refresh],
            then=_touch(access.grant_id, access.client_id, now),
        )

    def burn_code(self, code_hash: str, now: int) -> bool:
        """Expire an unused code now, so that nobody can redeem it any more; False if it was
        already used, expired or burnt. Expired rather than consumed: a consumed code shown
        again is a replay that revokes the grant, and a guess at its verifier is not."""
        return self._update_one(
            _unused_code(code_hash, now)
            .values(expires_at=now)
        )

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        with self._session() as session:
            return session.get(RefreshToken, token_hash)

    def live_refresh_token(self, token_hash: str) -> LiveRefreshToken | None:
        """The refresh token with that hash, spent or not, in one read (see LiveRefreshToken)."""
        return _live_refresh_token(self._refresh_token.first({"token_hash": token_hash}))

    async def live_refresh_token_on_loop(self, token_hash: str) -> LiveRefreshToken | None:
        """`live_refresh_token`, for the event loop: it never blocks it (see HotRead)."""
        row = await self._refresh_token.first_on_loop({"token_hash": token_hash})
        return _live_refresh_token(row)

    def rotate_refresh_token(
        self,
        old_hash: str,
        now: int,
        access: AccessToken,
        refresh: RefreshToken,
        replay: bytes,
        event: AuditEvent,
    ) -> bool:
        """Spend a refresh token and store its successors, its audit ``event`` and the use of
        its grant and client, in one transaction (shared with the rotations committed beside
        it: see RotationWriter).

        False means another request spent it first: nothing is stored.
        """
        return self._rotations.rotate(Rotation(old_hash, now, access, refresh, replay, event))

    def access_token(self, token_hash: str) -> AccessToken | None:
        with self._session() as session:
            return session.get(AccessToken, token_hash)

    def add_access_token(self, token: AccessToken) -> None:
        """A token issued under no grant: a service client's (client credentials)."""
        self._add(token)

    def revoke_access_token(self, token_hash: str, token_sha256: str, now: int) -> None:
        """Revoke an access token, and tell its audience by ``token_sha256`` (the SHA-256 of its
        value, which a resource server's cache knows it by) unless it was revoked already."""
        self._update_one(
            update(AccessToken)
            .where(
                col(AccessToken.token_hash) == token_hash,
                col(AccessToken.revoked_at).is_(None),
            )
            .values(revoked_at=now),
            then=self._recording(token_revoked(token_hash, token_sha256, now)),
        )

    def introspection(self, caller_id: str, token_hash: str, now: int) -> Introspected | None:
        """The calling resource server and, if the token is live for its resource, the token.

        Live means: not expired or revoked, its grant not revoked, its account not disabled,
        its client not blocked, and its audience exactly the caller's resource. One query on
        plain columns, because every resource-server cache miss lands here. None: no such caller.
        """
        params: Params = {"caller_id": caller_id, "token_hash": token_hash, "now": now}
        return _introspected(self._introspection.first(params))

    async def introspection_on_loop(
        self, caller_id: str, token_hash: str, now: int
    ) -> Introspected | None:
        """`introspection`, for the event loop: it never blocks it (see HotRead)."""
        params: Params = {"caller_id": caller_id, "token_hash": token_hash, "now": now}
        return _introspected(await self._introspection.first_on_loop(params))


def _live_refresh_token(row: tuple[Any, ...] | None) -> LiveRefreshToken | None:
    if row is None:
        return None
    token = LiveRefreshToken(*row)
    # A driver may hand binary columns back as a memoryview.
    return token if token.replay is None else token._replace(replay=bytes(token.replay))


def _introspected(row: tuple[Any, ...] | None) -> Introspected | None:
    if row is None:
        return None
    secret_hash, resource, previous_hash, previous_until, client_id, *columns = row
    token = LiveToken(*columns)
    live = None not in (client_id, token.grant_id, token.account_id)
    return Introspected(
        secret_hash, resource, token if live else None, previous_hash, previous_until
    )


def _unused_code(code_hash: str, now: int) -> Update:
    """An UPDATE of the code, if it is neither consumed nor expired: of concurrent takers, the
    row count says which one changed it."""
    return update(AuthorizationCode).where(
        col(AuthorizationCode.code_hash) == code_hash,
        col(AuthorizationCode.consumed_at).is_(None),
        col(AuthorizationCode.expires_at) > now,
    )


def _touch(grant_id: str, client_id: str, now: int) -> tuple[UpdateBase, UpdateBase]:
    """A use of the grant and of its client, recorded with the tokens it just bought: at most
    one write per LAST_USED_PRECISION seconds for each (a busy client refreshes hundreds of
    times a second, and every write of its row would queue behind the one before)."""
    since = now - LAST_USED_PRECISION
    return (
        update(Grant)
        .where(col(Grant.id) == grant_id, _unused_since(col(Grant.last_used_at), since))
        .values(last_used_at=now),
        update(Client)
        .where(col(Client.client_id) == client_id, _unused_since(col(Client.last_used_at), since))
        .values(last_used_at=now),
    )


def _unused_since(last_used_at: Any, since: int) -> ColumnElement[bool]:
    return or_(last_used_at.is_(None), last_used_at <= since)
