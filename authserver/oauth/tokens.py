"""Token introspection (RFC 7662) for resource servers and revocation (RFC 7009) for clients."""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from authserver.models import AccessToken, Account, RefreshToken, ResourceServer
from authserver.oauth.bridge import BridgeRequest
from authserver.oauth.clients import AUTH_METHODS
from authserver.oauth.context import OAuthContext


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """Callers are resource servers; each sees only tokens whose audience is its resource."""

    def __init__(self, server: Any, context: OAuthContext) -> None:
        super().__init__(server)
        self.context = context

    def authenticate_endpoint_client(self, request: BridgeRequest) -> ResourceServer:
        caller_id, secret = extract_basic_authorization(request.headers)
        caller = self.context.store.resource_server(caller_id) if caller_id else None
        if (
            caller is None
            or secret is None
            or not hmac.compare_digest(self.context.keys.hash_secret(secret), caller.secret_hash)
        ):
            raise InvalidClientError(
                status_code=401, description="Resource server authentication failed."
            )
        request.client = caller
        return caller

    def authenticate_token(
        self, request: BridgeRequest, caller: ResourceServer
    ) -> tuple[AccessToken, Account] | None:
        self.check_params(request, caller)
        return self.context.store.active_access_token(
            self.context.keys.hash_secret(request.form["token"]),
            caller.resource,
            self.context.clock(),
        )

    def create_introspection_payload(
        self, found: tuple[AccessToken, Account] | None
    ) -> dict[str, Any]:
        if found is None:
            return {"active": False}
        token, account = found
        return {
            "active": True,
            "sub": account.id,
            "client_id": token.client_id,
            "scope": token.scope,
            "aud": token.resource,
            "iss": self.context.settings.issuer,
            "exp": token.expires_at,
            "iat": token.issued_at,
            "token_type": "Bearer",
            "email": account.email,
            "given_name": account.given_name,
            "family_name": account.family_name,
            "role": account.role,
        }


class _Revocable:
    def __init__(self, row: AccessToken | RefreshToken) -> None:
        self.row = row

    def check_client(self, client: Any) -> bool:
        return bool(self.row.client_id == client.get_client_id())


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """Revoking a refresh token revokes its whole grant, access tokens included."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, server: Any, context: OAuthContext) -> None:
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
                return _Revocable(row)
        return None

    def revoke_token(self, token: _Revocable, request: BridgeRequest) -> None:
        now = self.context.clock()
        if isinstance(token.row, RefreshToken):
            self.context.store.revoke_grant(token.row.grant_id, now)
        else:
            self.context.store.revoke_access_token(token.row.token_hash, now)
