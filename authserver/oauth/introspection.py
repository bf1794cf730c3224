"""Token introspection (RFC 7662) for resource servers."""

from __future__ import annotations

from typing import Any

from authserver.oauth.bridge import HttpRequest, OAuthResponse
from authserver.oauth.services import Services
from authserver.store import Introspected, LiveToken
from authserver.store.tokens import LAST_USED_PRECISION
from shared import scopes
from shared.authentication import acr_of


class Introspection:
    """RFC 7662 for resource servers; each sees only tokens whose audience is its resource.

    Not Authlib's IntrospectionEndpoint: this is the hottest endpoint (every resource-server
    cache miss, and other HospiAI services), its protocol is the three checks below, and
    Authlib's request objects cost more than the single database read it needs. It runs on the
    event loop, its reads awaited (store.introspection_on_loop), never in a worker thread.
    """

    def __init__(self, context: Services) -> None:
        self.context = context

    async def _caller(
        self, http: HttpRequest, token: str | None, now: int
    ) -> Introspected | None:
        """The token as this resource server may see it, if the caller is who it says."""
        keys = self.context.keys
        caller_id, secret = http.basic or ("", "")
        if not caller_id:
            return None
        key = self.context.legacy.token_key(keys, token or "", now)
        found = await self.context.store.introspection_on_loop(caller_id, key, now)
        if found is None or not found.authenticates(keys.hash_secret(secret), now):
            return None
        return found

    async def __call__(self, http: HttpRequest) -> OAuthResponse:
        token, now = dict(http.form).get("token"), self.context.clock()
        found = await self._caller(http, token, now)
        if found is None:
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
            return OAuthResponse(200, await self.claims(live), [])
        # "Last used" for the user's connected apps and personal tokens: one write per grant
        # per minute at most, whatever the traffic, and after the answer (this runs on the
        # event loop, which must never wait for a database lock).
        store = self.context.store
        return OAuthResponse(
            200,
            await self.claims(live),
            [],
            after=lambda: store.touch_grant(live.grant_id, now, LAST_USED_PRECISION),
        )

    async def claims(self, token: LiveToken | None) -> dict[str, Any]:
        """The answer for ``token`` (None: inactive)."""
        if token is None:
            return {"active": False}
        payload = {
            "active": True,
            "sub": token.account_id,
            "client_id": token.client_id,
            # The account's role now, not when the token was issued: a demoted account's
            # tokens lose what the new role cannot hold.
            "scope": scopes.held_by_role(token.scope, token.role),
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
        if token.amr is not None and token.auth_time is not None:
            # How the user signed in (RFC 9470 section 6.2 / RFC 8176): what step-up checks.
            amr = token.amr.split()
            payload["amr"] = amr
            payload["acr"] = acr_of(amr)
            payload["auth_time"] = token.auth_time
        if token.role == "staff":
            # The hospitals whose data a staff account may change, read now (a removed
            # membership counts from the resource server's next cache miss). A second query
            # for staff only: patients are most of the traffic, and admins manage every one.
            payload["hospital_ids"] = await self.context.store.hospital_ids_on_loop(
                token.account_id
            )
        return payload


def _error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> OAuthResponse:
    return OAuthResponse(status, {"error": error, "error_description": description}, headers or [])
