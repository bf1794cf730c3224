"""The client credentials grant (RFC 6749 section 4.4) for service clients only: HospiAI's web
application calling the service API (`admin:tokens`) as itself, never on a user's cookie.
MCP's client-credentials extension describes the same grant for machine clients."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant

from authserver.models import AccessToken
from authserver.oauth.services import Services

GRANT_TYPE = "client_credentials"
# A service client's kind: made only by `hospiai clients create --service`; no registration
# (dynamic or by metadata document) can make one or ask for this grant.
SERVICE_KIND = "service"
# The scopes only a service client can hold; they are in no user's consent catalogue.
SERVICE_SCOPES = ("admin:tokens",)
# How a service client authenticates at /token.
SERVICE_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]


def service_audience(issuer: str) -> str:
    """The audience of a service token: this server's own API, no resource server's."""
    return f"{issuer}/api/service"


class ServiceGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = SERVICE_AUTH_METHODS

    @property
    def context(self) -> Services:
        context: Services = self.server.context
        return context

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if self.request.client.row.kind != SERVICE_KIND:
            raise UnauthorizedClientError("Only a service client may use client credentials.")

    def validate_requested_scope(self) -> None:
        requested = (self.request.payload.scope or "").split()
        held = self.request.client.row.scope.split()
        if not set(requested) <= set(held):
            raise InvalidScopeError("The client may not hold the requested scope.")

    def save_token(self, token: dict[str, Any]) -> None:
        context, client = self.context, self.request.client.row
        now = context.clock()
        # Without a scope the client gets all it holds.
        token["scope"] = token.get("scope") or client.scope
        row = AccessToken(
            token_hash=context.keys.hash_secret(token["access_token"]),
            # No grant and no account: introspection never finds it live, so it is good at
            # the service API only.
            grant_id="",
            client_id=client.client_id,
            account_id="",
            scope=token["scope"],
            resource=service_audience(context.settings.issuer),
            issued_at=now,
            expires_at=now + context.settings.access_token_ttl,
        )
        context.store.add_access_token(row)
        context.audit.record(
            "token.issued", client_id=client.client_id, ip=self.request.http.client_ip,
            scope=row.scope, grant_type=GRANT_TYPE,
        )
