"""Client configuration (RFC 7592): read, update and delete a registration with its token."""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint

from authserver.oauth.bridge import BridgeJsonRequest
from authserver.oauth.clients import OAuthClient
from authserver.oauth.errors import InvalidClientMetadataError
from authserver.oauth.registration import (
    client_columns,
    describe,
    metadata_claims,
    registration_client_uri,
)
from authserver.oauth.services import Services


class _RegistrationToken:
    def __init__(self, client_id: str) -> None:
        self.client_id = client_id

    def check_client(self, client: OAuthClient) -> bool:
        return hmac.compare_digest(self.client_id, client.get_client_id())


def _bearer(request: BridgeJsonRequest) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Configuration(ClientConfigurationEndpoint):  # type: ignore[misc]
    def __init__(self, server: Any, context: Services) -> None:
        super().__init__(server, claims_classes=[metadata_claims(context)])
        self.context = context

    def authenticate_token(self, request: BridgeJsonRequest) -> _RegistrationToken:
        """RFC 7592 section 2: a missing, unknown or other client's token is invalid_token."""
        token = _bearer(request)
        client = None
        if token is not None:
            client = self.context.store.client_by_registration_token(
                self.context.keys.hash_secret(token)
            )
        if client is None or client.client_id != request.http.path_params.get("client_id"):
            raise InvalidTokenError(
                description="The registration access token is not valid for this client."
            )
        return _RegistrationToken(client.client_id)

    def authenticate_client(self, request: BridgeJsonRequest) -> OAuthClient | None:
        row = self.context.store.client(request.http.path_params.get("client_id", ""))
        return OAuthClient(row, self.context.keys) if row else None

    def revoke_access_token(self, *_args: Any) -> None:
        # Called when a valid registration token names a missing client. A registration token
        # is bound to exactly one client, so there is nothing else it could be revoked from.
        return None

    def check_permission(self, client: OAuthClient, request: BridgeJsonRequest) -> bool:
        return client.row.kind == "dynamic"

    def introspect_client(self, client: OAuthClient) -> dict[str, Any]:
        return describe(client.row)

    def generate_client_registration_info(
        self, client: OAuthClient, request: BridgeJsonRequest
    ) -> dict[str, str]:
        return {
            "registration_client_uri": registration_client_uri(self.context, client.client_id),
            "registration_access_token": _bearer(request) or "",
        }

    def delete_client(self, client: OAuthClient, request: BridgeJsonRequest) -> None:
        self.context.store.delete_client(client.client_id, self.context.clock())

    def update_client(
        self, client: OAuthClient, metadata: dict[str, Any], request: BridgeJsonRequest
    ) -> OAuthClient:
        if metadata["token_endpoint_auth_method"] != client.row.token_endpoint_auth_method:
            raise InvalidClientMetadataError("token_endpoint_auth_method cannot be changed.")
        row = self.context.store.update_client_metadata(
            client.client_id, client_columns(metadata), self.context.clock()
        )
        assert row is not None
        return OAuthClient(row, self.context.keys)

    def get_server_metadata(self) -> None:
        return None
