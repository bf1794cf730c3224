"""Token revocation (RFC 7009) for clients."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint

from authserver.models import AccessToken, RefreshToken
from authserver.oauth.bridge import BridgeRequest
from authserver.oauth.clients import AUTH_METHODS
from authserver.oauth.services import Services
from authserver.security import token_sha256


class _Revocable:
    def __init__(self, row: AccessToken | RefreshToken, token: str) -> None:
        self.row = row
        self.token = token

    def check_client(self, client: Any) -> bool:
        return bool(self.row.client_id == client.get_client_id())


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """Revoking a refresh token revokes its whole grant, access tokens included."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, server: Any, context: Services) -> None:
        super().__init__(server)
        self.context = context

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Revocable | None:
        store, token_hash = self.context.store, self.context.keys.hash_secret(token_string)
        lookups = [store.access_token, store.refresh_token]
        if token_type_hint == "refresh_token":
            lookups.reverse()
        for lookup in lookups:
            row = lookup(token_hash)
            if row is not None:
                return _Revocable(row, token_string)
        return None

    def revoke_token(self, token: _Revocable, request: BridgeRequest) -> None:
        now, row = self.context.clock(), token.row
        if isinstance(row, RefreshToken):
            self.context.store.revoke_grant(row.grant_id, now)
        else:
            self.context.store.revoke_access_token(row.token_hash, token_sha256(token.token), now)
        self.context.audit.record(
            "token.revoked",
            actor=row.account_id,
            client_id=row.client_id,
            ip=request.http.client_ip,
            grant_id=row.grant_id,
            token_type="refresh_token" if isinstance(row, RefreshToken) else "access_token",
        )
