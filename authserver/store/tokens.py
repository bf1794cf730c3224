"""Authorization codes, access and refresh tokens, each stored by its hash; and introspection
(RFC 7662), the hot path every resource-server cache miss lands on (its read in token_reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, or_
from sqlalchemy.sql.dml import Update, UpdateBase
from sqlmodel import col, update

from authserver.models import (
    AccessToken,
    AuditEvent,
    AuthorizationCode,
    Client,
    Grant,
    RefreshToken,
)
from authserver.store.rotations import LAST_USED_PRECISION, Rotation, RotationWriter
from authserver.store.security_events import SecurityEventStore, token_revoked
from authserver.store.token_reads import (
    INTROSPECTION,
    REFRESH_TOKEN,
    Introspected,
    LiveRefreshToken,
    LiveToken,
    introspected_from,
    live_refresh_token_from,
)
from shared.hot_reads import Params

__all__ = [
    "LAST_USED_PRECISION", "Introspected", "LiveRefreshToken", "LiveToken", "TokenStore"
]


class TokenStore(SecurityEventStore):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._introspection = self._hot_read(INTROSPECTION)
        self._refresh_token = self._hot_read(REFRESH_TOKEN)
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
        return live_refresh_token_from(self._refresh_token.first({"token_hash": token_hash}))

    async def live_refresh_token_on_loop(self, token_hash: str) -> LiveRefreshToken | None:
        """`live_refresh_token`, for the event loop: it never blocks it (see HotRead)."""
        row = await self._refresh_token.first_on_loop({"token_hash": token_hash})
        return live_refresh_token_from(row)

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
        return introspected_from(self._introspection.first(params))

    async def introspection_on_loop(
        self, caller_id: str, token_hash: str, now: int
    ) -> Introspected | None:
        """`introspection`, for the event loop: it never blocks it (see HotRead)."""
        params: Params = {"caller_id": caller_id, "token_hash": token_hash, "now": now}
        return introspected_from(await self._introspection.first_on_loop(params))


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
