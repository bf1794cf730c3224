"""The OAuth 2.1 engine: Authlib's AuthorizationServer, configured to this server's profile,
behind a small synchronous API that the Starlette endpoints run in the thread pool."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
)

from authserver.models import Client
from authserver.oauth.assertion import ClientAssertion
from authserver.oauth.bridge import (
    BridgeJsonRequest,
    BridgeRequest,
    HttpRequest,
    OAuthResponse,
)
from authserver.oauth.clients import OAuthClient
from authserver.oauth.grants import PREFETCHED_REFRESH_TOKEN, CodeGrant, RefreshGrant, SignedIn
from authserver.oauth.introspection import Introspection
from authserver.oauth.jwks import ClientKeys
from authserver.oauth.pkce import S256CodeChallenge
from authserver.oauth.registration import Registration
from authserver.oauth.registration_management import Configuration
from authserver.oauth.resource import ResourceIndicator
from authserver.oauth.revocation import Revocation
from authserver.oauth.service import ServiceGrant
from authserver.oauth.services import Services
from authserver.security import new_secret
from shared import scopes


@dataclass(frozen=True)
class PendingAuthorization:
    """A valid authorization request, waiting for the user to log in and decide."""

    client_id: str
    scope: list[str]
    # The RFC 8707 resource (the token audience) the request was validated for.
    resource: str
    # The request parameters, replayed through validation again when the user decides.
    params: dict[str, str]


@dataclass(frozen=True)
class AuthorizationRejected:
    """The client or redirect URI cannot be trusted: show an error page, never redirect. Only
    the error code: the page says it in the person's words (endpoints.authorize), not in
    Authlib's English description."""

    error: str


# Authlib quotes some parameters in its error descriptions and refuses (ValueError) any it cannot
# quote; such a request cannot be answered by redirect, so it gets the error page.
_UNREADABLE = AuthorizationRejected("invalid_request")


# The shape of every OAuth parameter name (RFC 6749 appendix A and its extensions).
_PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


# The client row /authorize already read (and checked), so that validating the request does not
# read it again; set only around that one validation, in the thread that runs it. At /token,
# the row `prepare_token` read on the event loop, in the context of that one request.
_LOADED: ContextVar[Client | None] = ContextVar("loaded_client", default=None)


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, context: Services, assertion: ClientAssertion) -> None:
        super().__init__(scopes_supported=list(scopes.NAMES))
        self.context = context
        self.register_client_auth_method(assertion.CLIENT_AUTH_METHOD, assertion)
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [S256CodeChallenge(), ResourceIndicator(context)])
        self.register_grant(RefreshGrant)
        if context.settings.service_api_enabled:
            self.register_grant(ServiceGrant)
        self.register_endpoint(Revocation(self, context))
        self.registration = Registration(self, context)
        self.configuration = Configuration(self, context)

    def query_client(self, client_id: str) -> OAuthClient | None:
        loaded = _LOADED.get()
        if loaded is not None and loaded.client_id == client_id:
            row: Client | None = loaded
        else:
            row = self.context.store.client_to_read(client_id)
        # A blocked client is unknown to every endpoint (/authorize says so on a page first).
        if row is None or row.blocked:
            return None
        return OAuthClient(row, self.context.keys)

    def authenticate_client(self, request: Any, methods: list[str], endpoint: str = "token") -> Any:
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            # Always 401, so that a client whose registration is gone registers again.
            error.status_code = 401
            raise

    def create_oauth2_request(self, request: HttpRequest | BridgeRequest) -> BridgeRequest:
        return request if isinstance(request, BridgeRequest) else BridgeRequest(request)

    def create_json_request(self, request: HttpRequest) -> BridgeJsonRequest:
        return BridgeJsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        # Authlib announces events here; the audit log does not listen to them yet.
        return None

    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": new_secret("at"),
            "expires_in": self.context.settings.access_token_ttl,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret("rt")
        return token


class OAuthEngine:
    def __init__(self, context: Services, client_keys: ClientKeys) -> None:
        self.context = context
        self._assertion = ClientAssertion(context, client_keys)
        self._server = _Server(context, self._assertion)
        self._introspection = Introspection(context)

    async def prepare_client_authentication(self, http: HttpRequest) -> None:
        """What /token and /revoke need from the network before the engine runs in the thread
        pool: the keys of a private_key_jwt client (RFC 7523), fetched on the event loop."""
        await self._assertion.prepare(http)

    async def prepare_token(self, http: HttpRequest) -> None:
        """`prepare_client_authentication`, and for a refresh the reads of its client and its
        token, on the event loop (a pipelined read on PostgreSQL, in place on SQLite): in the
        thread pool each cost a pooled connection's checkout and ping, more than the read.
        The grant still decides on them in the thread pool; the context carries them there."""
        await self.prepare_client_authentication(http)
        form = dict(reversed(http.form))  # the first of repeated ones, which _repeated refuses
        value = form.get("refresh_token")
        if form.get("grant_type") != "refresh_token" or not value:
            return
        store = self.context.store
        client_id = http.basic[0] if http.basic else form.get("client_id")
        if client_id:
            _LOADED.set(await store.client_to_read_on_loop(client_id))
        token_hash = self.context.keys.hash_secret(value)
        PREFETCHED_REFRESH_TOKEN.set(await store.live_refresh_token_on_loop(token_hash))

    # -- authorization endpoint -------------------------------------------------------------

    def validate_authorization(
        self, http: HttpRequest, client: Client | None
    ) -> PendingAuthorization | AuthorizationRejected | OAuthResponse:
        """Check an authorization request; an OAuthResponse is an error redirect to the client.
        ``client``: the row of the request's client_id, as the endpoint already read it."""
        loading = _LOADED.set(client)
        try:
            grant = self._consent_grant(http)
        finally:
            _LOADED.reset(loading)
        if isinstance(grant, AuthorizationRejected | OAuthResponse):
            return grant
        request: BridgeRequest = grant.request
        assert request.resource is not None  # set by ResourceIndicator during validation
        return PendingAuthorization(
            client_id=request.client.get_client_id(),
            scope=scopes.parse(request.scope),
            resource=request.resource,
            params=dict(request.payload.data),
        )

    def complete_authorization(
        self, params: dict[str, str], signed_in: SignedIn | None
    ) -> AuthorizationRejected | OAuthResponse:
        """Issue a code (for whom ``signed_in`` names) or access_denied (None), re-validating
        the request."""
        http = HttpRequest(
            method="GET",
            url=f"{self.context.settings.issuer}/authorize?{urlencode(params)}",
            headers={},
            query=list(params.items()),
        )
        grant = self._consent_grant(http)
        if isinstance(grant, AuthorizationRejected | OAuthResponse):
            return grant
        response = self._server.create_authorization_response(
            grant.request, grant_user=signed_in, grant=grant
        )
        return self._with_issuer(response)

    def _consent_grant(
        self, http: HttpRequest
    ) -> Any:
        """Authlib's validated code grant for an authorization request, or how it was refused
        (an AuthorizationRejected page, or an OAuthResponse error redirect)."""
        try:
            grant = self._server.get_consent_grant(http)
        except OAuth2Error as error:
            return self._authorization_error(error)
        except ValueError:
            return _UNREADABLE
        return grant

    def reject_authorization(
        self, params: dict[str, str], error: str, description: str
    ) -> OAuthResponse:
        """An error redirect for a request already validated (for example prompt=none)."""
        location = add_params_to_uri(
            params["redirect_uri"],
            [("error", error), ("error_description", description)]
            + ([("state", params["state"])] if params.get("state") else []),
        )
        return self._with_issuer(OAuthResponse(302, "", [("Location", location)]))

    def _authorization_error(self, error: OAuth2Error) -> AuthorizationRejected | OAuthResponse:
        if not error.redirect_uri:
            return AuthorizationRejected(error.error)
        return self._with_issuer(self._server.handle_error_response(None, error))

    def _with_issuer(self, response: OAuthResponse) -> OAuthResponse:
        """RFC 9207: every authorization response, errors included, names its issuer."""
        location = response.location
        if location is None:
            return response
        with_iss = add_params_to_uri(location, [("iss", self.context.settings.issuer)])
        return OAuthResponse(response.status, "", [("Location", with_iss)])

    # -- token, introspection, revocation, registration -------------------------------------

    def token(self, http: HttpRequest) -> OAuthResponse:
        response: OAuthResponse = self._repeated(http) or self._server.create_token_response(http)
        return response

    async def introspect(self, http: HttpRequest) -> OAuthResponse:
        """On the event loop: its reads never block it (see Introspection)."""
        return self._repeated(http) or await self._introspection(http)

    def revoke(self, http: HttpRequest) -> OAuthResponse:
        response: OAuthResponse = self._repeated(http) or self._server.create_endpoint_response(
            "revocation", http
        )
        return response

    def _repeated(self, http: HttpRequest) -> OAuthResponse | None:
        """RFC 6749 section 3.2: request parameters must not be included more than once."""
        names = [name for name, _ in http.form]
        if len(set(names)) == len(names):
            return None
        repeated = sorted({name for name in names if names.count(name) > 1})
        # Only names shaped like an OAuth parameter are quoted back: any other is the caller's
        # raw input (Authlib refuses quotes, backslashes and non-ASCII in a description).
        named = [name for name in repeated if _PARAMETER_NAME.fullmatch(name)]
        listed = f"Repeated parameter: {', '.join(named)}." if named else "A parameter is repeated."
        error = InvalidRequestError(listed[:200])
        response: OAuthResponse = self._server.handle_error_response(None, error)
        return response

    def register(self, http: HttpRequest) -> OAuthResponse:
        return self._json_endpoint(self._server.registration, http)

    def configure_client(self, http: HttpRequest) -> OAuthResponse:
        return self._json_endpoint(self._server.configuration, http)

    def _json_endpoint(self, endpoint: Any, http: HttpRequest) -> OAuthResponse:
        request = self._server.create_json_request(http)
        try:
            status, body, headers = endpoint(request)
        except OAuth2Error as error:
            response: OAuthResponse = self._server.handle_error_response(request, error)
            return response
        return OAuthResponse(status, body, list(headers))
