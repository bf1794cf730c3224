"""Clients as Authlib sees them, and the redirect URI rules (OAuth 2.1 section 2.3, RFC 8252)."""

from __future__ import annotations

import hmac
from urllib.parse import SplitResult, urlsplit

from authlib.oauth2.rfc6749 import ClientMixin

from authserver.models import Client
from authserver.security import Keys
from shared import scopes
from shared.settings import is_loopback_host

AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]
GRANT_TYPES = ["authorization_code", "refresh_token"]
RESPONSE_TYPES = ["code"]


def _resource_scopes(scope: str | None) -> list[str]:
    return [name for name in scopes.parse(scope) if name != scopes.OFFLINE_ACCESS]


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered, or None: https, or http on a loopback host."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"{uri!r} is not a valid URI"
    if parts.fragment or "#" in uri:
        return f"{uri!r} must not contain a fragment"
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return f"{uri!r} must be an absolute URI with a host and no user information"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return f"{uri!r} must use https, or http on a loopback address"


def redirect_uri_matches(registered: list[str], requested: str) -> bool:
    """Exact match, except that the port of a loopback http URI may differ (RFC 8252 7.3)."""
    if requested in registered:
        return True
    wanted = _loopback(requested)
    if wanted is None:
        return False
    for candidate in registered:
        allowed = _loopback(candidate)
        if allowed is not None and (
            allowed.hostname,
            allowed.path,
            allowed.query,
        ) == (wanted.hostname, wanted.path, wanted.query):
            return True
    return False


def _loopback(uri: str) -> SplitResult | None:
    if redirect_uri_problem(uri) is not None:
        return None
    parts = urlsplit(uri)
    return parts if parts.scheme == "http" else None


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """A stored client, with the checks Authlib asks of it."""

    def __init__(self, row: Client, keys: Keys) -> None:
        self.row = row
        self._keys = keys

    @property
    def client_id(self) -> str:
        return self.row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        # OAuth 2.1 profile: redirect_uri is always required, never implied.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope to grant: the request's if the client may hold it, else None (invalid_scope).

        A pre-registered client is limited to its configured scopes. For a dynamically
        registered one the registered scope only sets the defaults: MCP clients ask for more
        by step-up without registering again, and the user's consent is the control.

        offline_access follows the client's registered grant types, not the request: MCP
        clients ask for what the resource's challenge names, which never includes it (MCP
        spec, refresh tokens), so a client registered for refresh_token holds it ("Stay
        connected" on the consent page) whether or not it asked, and any other client never
        does, since it will not get a refresh token."""
        registered = _resource_scopes(self.row.scope)
        requested = _resource_scopes(scope)
        if not requested:
            granted = registered or list(scopes.DEFAULT_NAMES)
        else:
            permitted = (
                registered if registered and self.row.kind == "preregistered" else scopes.NAMES
            )
            if not set(requested) <= set(permitted):
                return None
            granted = requested
        if self.check_grant_type("refresh_token"):
            granted = [*granted, scopes.OFFLINE_ACCESS]
        return scopes.join(granted)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_matches(self.row.redirect_uris, redirect_uri)

    def check_client_secret(self, client_secret: object) -> bool:
        stored = self.row.client_secret_hash
        if stored is None or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self._keys.hash_secret(client_secret), stored)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.row.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.row.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types
