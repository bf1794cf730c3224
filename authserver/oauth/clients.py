"""Clients as Authlib sees them, and the redirect URI rules (OAuth 2.1 section 2.3, RFC 8252)."""

from __future__ import annotations

import hmac
import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

from authlib.oauth2.rfc6749 import ClientMixin

from authserver.models import Client
from authserver.security import Keys
from shared import scopes
from shared.settings import is_loopback_host

# How a client authenticates at /token and /revoke. A dynamic registration picks one of the
# first three. A metadata document is public, so it can hold no shared secret (CIMD section
# 8.4): its client is public, or signs an assertion with keys it publishes (RFC 7523 2.2).
REGISTRATION_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]
DOCUMENT_AUTH_METHODS = ["none", "private_key_jwt"]
AUTH_METHODS = [*REGISTRATION_AUTH_METHODS, "private_key_jwt"]
# What a private_key_jwt assertion may be signed with: asymmetric only, so never "none" nor an
# HMAC whose secret would have to be shared (RFC 7518 section 3.1).
ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
GRANT_TYPES = ["authorization_code", "refresh_token"]
RESPONSE_TYPES = ["code"]


def _resource_scopes(scope: str | None) -> list[str]:
    return [name for name in scopes.parse(scope) if name != scopes.OFFLINE_ACCESS]


# RFC 3986 section 3.1, in the lower case it calls canonical (section 6.2.2.1).
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
# RFC 8252 section 7.1: a domain name the app's publisher controls, reversed (com.example.app).
_REVERSE_DOMAIN = re.compile(r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)+")
# Never an application's private-use scheme, whatever the settings say: they run script, read
# local files or memory, are not navigations (ws), or are the web's own (see _web_problem).
NEVER_PRIVATE_USE = frozenset(
    {"http", "https", "javascript", "data", "file", "vbscript", "blob", "about", "ws", "wss"}
)


def private_use_scheme_problem(scheme: str) -> str | None:
    """Why ``scheme`` cannot be on the allow-list of native applications' schemes, or None."""
    if not _SCHEME.fullmatch(scheme):
        return f"{scheme!r} is not a URI scheme in lower case (RFC 3986 section 3.1)"
    if scheme in NEVER_PRIVATE_USE:
        return f"{scheme!r} is never a native application's scheme"
    return None


def private_use_scheme(uri: str) -> str | None:
    """The scheme of a valid redirect URI if it is a private-use one (RFC 8252 section 7.1)."""
    scheme = urlsplit(uri).scheme
    return scheme if _is_private_use(scheme) else None


def _is_private_use(scheme: str) -> bool:
    return private_use_scheme_problem(scheme) is None


def redirect_uri_problem(uri: str, private_use: frozenset[str] | None = None) -> str | None:
    """Why a redirect URI cannot be registered, or None: https, or http on a loopback host.
    ``private_use``, for a public client only: the schemes, besides reverse-domain ones, that
    native applications may receive the answer on (RFC 8252 section 7.1)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"{uri!r} is not a valid URI"
    if parts.fragment or "#" in uri:
        return f"{uri!r} must not contain a fragment"
    if _is_private_use(parts.scheme):
        return _private_use_problem(uri, parts, private_use)
    return _web_problem(uri, parts)


def _web_problem(uri: str, parts: SplitResult) -> str | None:
    """OAuth 2.1 section 2.3.1 and RFC 8252 section 7.3: https, or http on a loopback host."""
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return f"{uri!r} must be an absolute URI with a host and no user information"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return f"{uri!r} must use https, or http on a loopback address"


def _private_use_problem(
    uri: str, parts: SplitResult, private_use: frozenset[str] | None
) -> str | None:
    """RFC 8252 section 7.1: a reverse-domain scheme, or one of a known native application."""
    if private_use is None:
        # RFC 8252 sections 8.5 and 8.6: a native app keeps no secret, and any app can claim a
        # scheme; a confidential client (or a resource) has no use for one.
        return (
            f"{uri!r} must use https, or http on a loopback address (a private-use scheme is"
            " for public clients only)"
        )
    if parts.scheme not in private_use and not _REVERSE_DOMAIN.fullmatch(parts.scheme):
        return (
            f"{uri!r} must use a reverse domain name as its scheme (such as com.example.app)"
            " or a known application's scheme"
        )
    if parts.username is not None or parts.password is not None:
        return f"{uri!r} must not contain user information"
    # The redirect is this very string with the answer added: it must read the same once parsed
    # (no upper case, spaces or control characters, no empty authority) and lead somewhere.
    if urlunsplit(parts) != uri or not (parts.netloc or parts.path):
        return f"{uri!r} must be a plain URI that reads the same once parsed"
    return None


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


def on_device(uri: str) -> bool:
    """Whether a valid redirect URI goes to an application on the user's own device: http on a
    loopback host (RFC 8252 section 7.3) or a private-use scheme (section 7.1)."""
    return _loopback(uri) is not None or private_use_scheme(uri) is not None


def impersonable(client: Client, redirect_uri: str) -> bool:
    """RFC 8252 section 8.6: a public client answered on this device may be any program on it,
    since any of them can listen on a loopback port or claim a scheme, and none has a secret."""
    return client.token_endpoint_auth_method == "none" and on_device(redirect_uri)


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
