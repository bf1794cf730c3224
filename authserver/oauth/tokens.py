"""Token introspection (RFC 7662) for resource servers and revocation (RFC 7009) for clients."""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint

from authserver.models import AccessToken, RefreshToken
from authserver.oauth.bridge import BridgeRequest, HttpRequest, OAuthResponse
from authserver.oauth.clients import AUTH_METHODS
from authserver.oauth.services import Services
from authserver.store import LiveToken
from shared import scopes

LAST_USED_PRECISION = 60


class Introspection:
    """RFC 7662 for resource servers; each sees only tokens whose audience is its resource.

    Not Authlib's IntrospectionEndpoint: this is the hottest endpoint (every resource-server
    cache miss, and other HospiAI services), its protocol is the three checks below, and
    Authlib's request objects cost more than the single database read it needs.
    """

    def __init__(self, context: Services) -> None:
        self.context = context

    def __call__(self, http: HttpRequest) -> OAuthResponse:
        keys, token = self.context.keys, dict(http.form).get("token")
        caller_id, secret = http.basic or ("", "")
        now = self.context.clock()
        found = (
            self.context.store.introspection(caller_id, keys.hash_secret(token or ""), now)
            if caller_id
            else None
        )
        if found is None or not hmac.compare_digest(
            keys.hash_secret(secret), found.caller_secret_hash
        ):
            description = "Resource server authentication failed."
            challenge = f'Basic error="invalid_client", error_description="{description}"'
            return _error(401, "invalid_client", description, [("WWW-Authenticate", challenge)])
        if token is None:
            return _error(400, "invalid_request", "Missing \"token\" in request.")
        live = found.token
        self.context.metrics.token(
            "introspection_inactive" if live is None else "introspection_active"
        )
        if live is None or (live.grant_last_used_at or 0) > now - LAST_USED_PRECISION:
            return OAuthResponse(200, self._payload(live), [])
        # "Last used" for the user's connected apps and personal tokens: one write per grant
        # per minute at most, whatever the traffic, and after the answer (this may run on the
        # event loop, which must never wait for a database lock).
        store = self.context.store
        return OAuthResponse(
            200,
            self._payload(live),
            [],
            after=lambda: store.touch_grant(live.grant_id, now, LAST_USED_PRECISION),
        )

    def _payload(self, token: LiveToken | None) -> dict[str, Any]:
        if token is None:
            return {"active": False}
        return {
            "active": True,
            "sub": token.account_id,
            "client_id": token.client_id,
            # The account's role now, not when the token was issued: a demoted account's
            # tokens lose what the new role cannot hold.
            "scope": scopes.join(scopes.allowed_for_role(scopes.parse(token.scope), token.role)),
            "aud": token.resource,
            "iss": self.context.settings.issuer,
            "exp": token.expires_at,
            "iat": token.issued_at,
            "token_type": "Bearer",
            "email": token.email,
            "given_name": token.given_name,
            "family_name": token.family_name,
            "role": token.role,
        }


def _error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> OAuthResponse:
    return OAuthResponse(status, {"error": error, "error_description": description}, headers or [])


class _Revocable:
    def __init__(self, row: AccessToken | RefreshToken) -> None:
        self.row = row

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
                return _Revocable(row)
        return None

    def revoke_token(self, token: _Revocable, request: BridgeRequest) -> None:
        now, row = self.context.clock(), token.row
        if isinstance(row, RefreshToken):
            self.context.store.revoke_grant(row.grant_id, now)
        else:
            self.context.store.revoke_access_token(row.token_hash, now)
        self.context.audit.record(
            "token.revoked",
            actor=row.account_id,
            client_id=row.client_id,
            ip=request.http.client_ip,
            grant_id=row.grant_id,
            token_type="refresh_token" if isinstance(row, RefreshToken) else "access_token",
        )
