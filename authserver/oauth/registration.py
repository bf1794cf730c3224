"""Dynamic client registration (RFC 7591): the metadata this server accepts, from a registration
or a client metadata document, and /register."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint

from authserver.models import Client
from authserver.oauth.bounds import check_lengths, check_name, check_size
from authserver.oauth.bridge import BridgeJsonRequest
from authserver.oauth.clients import (
    ASSERTION_ALGS,
    DOCUMENT_AUTH_METHODS,
    GRANT_TYPES,
    REGISTRATION_AUTH_METHODS,
    RESPONSE_TYPES,
    redirect_uri_problem,
)
from authserver.oauth.egress import url_problem
from authserver.oauth.errors import (
    InvalidClientMetadataError,
    InvalidRedirectURIError,
    TemporarilyUnavailableError,
)
from authserver.oauth.jwks import public_keys
from authserver.oauth.services import Services
from authserver.security import new_id, new_secret
from shared import scopes

# Registered metadata kept as columns; the rest of REGISTERED_CLAIMS goes to extra_metadata.
_COLUMNS = ("redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types")


_STRINGS = (
    "client_name", "client_uri", "logo_uri", "scope", "tos_uri", "policy_uri",
    "software_id", "software_version", "token_endpoint_auth_method",
)
_STRING_LISTS = ("redirect_uris", "grant_types", "response_types", "contacts")
# What only private_key_jwt uses: the client's keys and the one algorithm it signs with.
_KEY_CLAIMS = ("jwks", "jwks_uri", "token_endpoint_auth_signing_alg")

class ClientMetadata(ClientMetadataClaims):  # type: ignore[misc]
    """RFC 7591 section 2 metadata, validated to this server's OAuth 2.1 profile.
    ``private_use``: the native applications' redirect schemes a public client may register."""

    def __init__(
        self,
        claims: dict[str, Any],
        header: dict[str, Any],
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        *,
        private_use: frozenset[str],
    ) -> None:
        super().__init__(claims, header, options, params)
        self.private_use = private_use

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        check_size(self)
        # Keys serve only private_key_jwt: without it they are dropped, whatever they hold.
        if self.get("token_endpoint_auth_method") != "private_key_jwt":
            for name in _KEY_CLAIMS:
                self.pop(name, None)
        self._check_types()
        check_lengths(self)
        if "client_name" in self:
            check_name(self["client_name"])
        super().validate(now, leeway)

    def _check_types(self) -> None:
        """Types first, so that no validator after it ever sees a value of the wrong shape."""
        for name in _STRINGS:
            if name in self and not isinstance(self[name], str):
                raise InvalidClientMetadataError(f"{name} must be a string.")
        for name in _STRING_LISTS:
            if name in self and (
                not isinstance(self[name], list) or not all(isinstance(v, str) for v in self[name])
            ):
                raise InvalidClientMetadataError(f"{name} must be an array of strings.")

    def validate_redirect_uris(self) -> None:
        uris = self.get("redirect_uris")
        if not uris:
            raise InvalidRedirectURIError("redirect_uris must be a non-empty array of strings.")
        # RFC 8252 sections 8.5 and 8.6: private-use schemes only for a public client (PKCE is
        # always required here). Without the field the method is client_secret_basic, not none.
        public = self.get("token_endpoint_auth_method") == "none"
        for uri in uris:
            problem = redirect_uri_problem(uri, self.private_use if public else None)
            if problem is not None:
                raise InvalidRedirectURIError(_ascii(f"redirect_uris: {problem}."))

    def validate_token_endpoint_auth_method(self) -> None:
        # RFC 7591 section 2: the default is client_secret_basic.
        method = self.setdefault("token_endpoint_auth_method", "client_secret_basic")
        if method not in REGISTRATION_AUTH_METHODS:
            raise InvalidClientMetadataError(
                "token_endpoint_auth_method must be one of: "
                + ", ".join(REGISTRATION_AUTH_METHODS) + "."
            )

    def validate_grant_types(self) -> None:
        # RFC 7591 section 2: the default is authorization_code alone.
        self._validate_subset("grant_types", ["authorization_code"], GRANT_TYPES)
        if "authorization_code" not in self["grant_types"]:
            raise InvalidClientMetadataError("grant_types must include authorization_code.")

    def validate_response_types(self) -> None:
        self._validate_subset("response_types", ["code"], RESPONSE_TYPES)

    def validate_scope(self) -> None:
        # Unknown scopes are dropped, not refused: Claude registers with scope=claudeai.
        if "scope" in self:
            self["scope"] = scopes.join(scopes.known(scopes.parse(self["scope"])))

    def _validate_subset(self, name: str, default: list[str], allowed: list[str]) -> None:
        values = self.setdefault(name, default)
        if not values or not set(values) <= set(allowed):
            raise InvalidClientMetadataError(f"{name} must be a non-empty subset of {allowed}.")


def metadata_claims(context: Services) -> Callable[..., ClientMetadata]:
    """ClientMetadata as Authlib's endpoints build it, with this server's redirect policy."""
    return partial(ClientMetadata, private_use=context.settings.private_use_schemes)


class DocumentMetadata(ClientMetadata):
    """The metadata of a client metadata document (CIMD section 4). A document is public, so it
    holds no shared secret (section 8.4): its client is public (none, the default), or proves
    itself with private_key_jwt (RFC 7523 section 2.2) by keys in jwks or at jwks_uri."""

    REGISTERED_CLAIMS: ClassVar[list[str]] = [
        *ClientMetadata.REGISTERED_CLAIMS, "token_endpoint_auth_signing_alg"
    ]

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        # Before the redirect URIs are checked, which depend on whether the client is public.
        self.setdefault("token_endpoint_auth_method", "none")
        super().validate(now, leeway)

    def validate_token_endpoint_auth_method(self) -> None:
        if self["token_endpoint_auth_method"] not in DOCUMENT_AUTH_METHODS:
            raise InvalidClientMetadataError(
                "a document holds no secret: it uses token_endpoint_auth_method none, or"
                " private_key_jwt with the client's keys."
            )
        if self["token_endpoint_auth_method"] != "private_key_jwt":
            return
        if ("jwks" in self) == ("jwks_uri" in self):
            raise InvalidClientMetadataError(
                "private_key_jwt needs the client's keys: exactly one of jwks_uri and jwks."
            )
        alg = self.get("token_endpoint_auth_signing_alg")
        if alg is not None and alg not in ASSERTION_ALGS:
            raise InvalidClientMetadataError(
                "token_endpoint_auth_signing_alg must be one of: " + ", ".join(ASSERTION_ALGS) + "."
            )

    def validate_jwks_uri(self) -> None:
        uri = self.get("jwks_uri")
        if uri is None:
            return
        if not isinstance(uri, str):
            raise InvalidClientMetadataError("jwks_uri is no URL.")
        problem = url_problem(uri, "jwks_uri")
        if problem is not None:
            raise InvalidClientMetadataError(problem.description)

    def validate_jwks(self) -> None:
        if "jwks" not in self:
            return
        try:
            public_keys(self["jwks"])
        except ValueError as error:
            raise InvalidClientMetadataError(f"jwks cannot be used: {error}.") from None


def _ascii(text: str) -> str:
    """Error descriptions must be printable ASCII without quotes or backslashes (RFC 6749 5.2)."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in "\"\\" else "?" for c in text)


def describe(client: Client) -> dict[str, Any]:
    """The client's registered metadata as RFC 7591 returns it, without any secret."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at,
        "client_name": client.client_name,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "grant_types": client.grant_types,
        "response_types": client.response_types,
        **client.extra_metadata,
    }
    if client.scope:
        body["scope"] = client.scope
    if client.client_secret_hash is not None:
        body["client_secret_expires_at"] = 0
    return body


def client_columns(metadata: dict[str, Any]) -> dict[str, Any]:
    name = metadata.get("client_name") or urlsplit(metadata["redirect_uris"][0]).hostname or ""
    return {
        **{key: metadata[key] for key in _COLUMNS},
        "client_name": name,
        "scope": metadata.get("scope", ""),
        "extra_metadata": {
            key: value
            for key, value in metadata.items()
            if key not in _COLUMNS and key not in {"client_name", "scope"}
        },
    }


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    def __init__(self, server: Any, context: Services) -> None:
        super().__init__(server, claims_classes=[metadata_claims(context)])
        self.context = context

    def create_registration_response(
        self, request: BridgeJsonRequest
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        if not self.context.settings.registration_enabled:
            raise AccessDeniedError("Dynamic client registration is disabled.")
        throttled = self.context.registrations.begin(request.http.client_ip, self.context.clock())
        if throttled is not None:
            raise TemporarilyUnavailableError(
                "Too many client registrations from this network; try again later.",
                throttled.retry_after,
            )
        if not isinstance(request.http.json, dict) or not request.http.json:
            raise InvalidClientMetadataError("The body must be a JSON object of client metadata.")
        metadata = self.extract_client_metadata(request)
        keys = self.context.keys
        secret = None
        if metadata["token_endpoint_auth_method"] != "none":
            secret = new_secret("cs")
        registration_token = new_secret("rat")
        client = Client(
            client_id=new_id("client"),
            kind="dynamic",
            client_secret_hash=keys.hash_secret(secret) if secret else None,
            registration_access_token_hash=keys.hash_secret(registration_token),
            created_at=self.context.clock(),
            **client_columns(metadata),
        )
        self.context.store.add_client(client)
        self.context.audit.record(
            "client.registered",
            client_id=client.client_id,
            ip=request.http.client_ip,
            client_name=client.client_name,
            kind=client.kind,
        )
        body = describe(client)
        if secret:
            body["client_secret"] = secret
        body["registration_access_token"] = registration_token
        body["registration_client_uri"] = registration_client_uri(self.context, client.client_id)
        return 201, body, [("Content-Type", "application/json")]

    def get_server_metadata(self) -> None:
        # Validation is done by ClientMetadata against this server's profile, not by Authlib's
        # generic options (which would refuse unknown scopes instead of dropping them).
        return None


def registration_client_uri(context: Services, client_id: str) -> str:
    return f"{context.settings.issuer}/register/{client_id}"
