"""The OAuth 2.1 grants: authorization code (RFC 6749 4.1, with PKCE and resource checks from
pkce and resource), and refresh tokens rotated on every use with reuse detection (RFC 9700 4.14)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant

from authserver.models import AccessToken, Account, AuthorizationCode, Grant, RefreshToken
from authserver.oauth.clients import AUTH_METHODS
from authserver.oauth.resource import check_token_resource
from authserver.oauth.services import Services
from authserver.security import new_id, new_secret
from authserver.store.tokens import LiveRefreshToken
from shared import scopes

if TYPE_CHECKING:
    from authserver.oauth.bridge import BridgeRequest


@dataclass(frozen=True)
class SignedIn:
    """Whom a code is issued for, and how they signed in (RFC 8176 amr, space-separated, and
    auth_time): Authlib's grant user, recorded on the grant."""

    account: Account
    amr: str
    auth_time: int


class IssuedCode:
    """A stored authorization code, with the accessors Authlib expects."""

    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


class IssuedRefreshToken:
    def __init__(self, row: LiveRefreshToken, value: str) -> None:
        self.row = row
        self.value = value

    def check_client(self, client: Any) -> bool:
        return bool(self.row.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.row.scope


# The refresh token of this request, as read on the event loop before the thread pool ran
# Authlib (OAuthEngine.prepare_token): the grant's read then costs no database call in a worker.
PREFETCHED_REFRESH_TOKEN: ContextVar[LiveRefreshToken | None] = ContextVar(
    "prefetched_refresh_token", default=None
)


# What an audit row of the token endpoint is about.
_Issued = AccessToken | AuthorizationCode | LiveRefreshToken


class _Issuing:
    """Token rows for a token response, and their audit; shared by both grants."""

    server: Any
    request: BridgeRequest

    @property
    def context(self) -> Services:
        context: Services = self.server.context
        return context

    def _rows(
        self, token: dict[str, Any], source: AuthorizationCode | LiveRefreshToken, now: int
    ) -> tuple[AccessToken, RefreshToken | None]:
        """The rows to store for ``token``, bound to the grant ``source`` came from."""
        settings, keys = self.context.settings, self.context.keys
        fields = {
            "grant_id": source.grant_id,
            "client_id": source.client_id,
            "account_id": source.account_id,
            "scope": token["scope"],
            "resource": source.resource,
            "issued_at": now,
        }
        access = AccessToken(
            token_hash=keys.hash_secret(token["access_token"]),
            expires_at=now + settings.access_token_ttl,
            **fields,
        )
        refresh = None
        if "refresh_token" in token:
            refresh = RefreshToken(
                token_hash=keys.hash_secret(token["refresh_token"]),
                expires_at=now + settings.refresh_token_ttl,
                **{**fields, "scope": source.scope},
            )
        return access, refresh

    def _record(self, event: str, row: _Issued) -> None:
        self.context.audit.record(event, **self._details(row))

    def _details(self, row: _Issued) -> dict[str, Any]:
        return {
            "actor": row.account_id,
            "client_id": row.client_id,
            "ip": self.request.http.client_ip,
            "grant_id": row.grant_id,
            "scope": row.scope,
        }

    def _live_account(self, account_id: str) -> Account:
        account = self.context.store.account(account_id)
        if account is None or account.disabled:
            raise InvalidGrantError("The account is not active.")
        return account


class CodeGrant(_Issuing, AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def generate_authorization_code(self) -> str:
        return new_secret("ac")

    def save_authorization_code(self, code: str, request: BridgeRequest) -> None:
        context = self.context
        now = context.clock()
        signed_in: SignedIn = request.user
        account = signed_in.account
        granted = scopes.allowed_for_role(scopes.parse(request.scope), account.role)
        if not granted:
            raise InvalidScopeError(
                "None of the requested scopes are available to this account.",
                redirect_uri=request.payload.data["redirect_uri"],
            )
        assert request.resource is not None  # set by ResourceIndicator during validation
        grant = Grant(
            id=new_id("grant"),
            account_id=account.id,
            client_id=request.client.get_client_id(),
            scope=scopes.join(granted),
            resource=request.resource,
            created_at=now,
            amr=signed_in.amr,
            auth_time=signed_in.auth_time,
        )
        data = request.payload.data
        context.store.issue_code(
            grant,
            AuthorizationCode(
                code_hash=context.keys.hash_secret(code),
                grant_id=grant.id,
                client_id=grant.client_id,
                account_id=account.id,
                redirect_uri=data["redirect_uri"],
                scope=grant.scope,
                resource=grant.resource,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                created_at=now,
                expires_at=now + context.settings.code_ttl,
            ),
        )

    def query_authorization_code(self, code: str, client: Any) -> IssuedCode | None:
        context = self.context
        now = context.clock()
        row = context.store.code(context.keys.hash_secret(code))
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.consumed_at is not None:
            # RFC 9700 4.2.4 / OAuth 2.1 4.1.3: a replayed code revokes what it bought.
            context.store.revoke_grant(row.grant_id, now)
            self._record("code.reuse_detected", row)
            return None
        grant = context.store.grant(row.grant_id)
        if row.expires_at <= now or grant is None or grant.revoked_at is not None:
            return None
        return IssuedCode(row)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        check_token_resource(self.request, self.request.authorization_code.row.resource)

    def burn_code(self) -> None:
        """The code of this request failed its PKCE check: nobody may redeem it any more."""
        code: IssuedCode = self.request.authorization_code
        if self.context.store.burn_code(code.row.code_hash, self.context.clock()):
            self._record("code.pkce_failed", code.row)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        code: IssuedCode = self.request.authorization_code
        self._live_account(code.row.account_id)
        now = self.context.clock()
        # A refresh token needs both the client's refresh_token grant and the user's consent
        # to offline_access ("Stay connected"), which every request of such a client carries
        # (OAuthClient.get_allowed_scope).
        token = self.generate_token(
            scope=code.row.scope,
            include_refresh_token=self.request.client.check_grant_type("refresh_token")
            and scopes.OFFLINE_ACCESS in scopes.parse(code.row.scope),
        )
        access, refresh = self._rows(token, code.row, now)
        if not self.context.store.exchange_code(code.row.code_hash, now, access, refresh):
            # Lost the race to another exchange of the same code: that is a replay too.
            self.context.store.revoke_grant(code.row.grant_id, now)
            self._record("code.reuse_detected", code.row)
            raise InvalidGrantError("The code has already been used.")
        self._record("token.issued", access)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshGrant(_Issuing, RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefreshToken | None:
        context = self.context
        token_hash = context.keys.hash_secret(refresh_token)
        # One read for the token, its grant and its account: the refresh grant's only read.
        row = PREFETCHED_REFRESH_TOKEN.get()
        if row is None or row.token_hash != token_hash:
            row = context.store.live_refresh_token(token_hash)
        if row is None or row.expires_at <= context.clock() or row.live_grant_id is None:
            return None
        return IssuedRefreshToken(row, refresh_token)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        check_token_resource(self.request, self.request.refresh_token.row.resource)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        spent: IssuedRefreshToken = self.request.refresh_token
        if spent.row.spent_at is not None:
            return self._replay_or_revoke(spent)
        role = spent.row.account_role
        if role is None:
            raise InvalidGrantError("The account is not active.")
        context = self.context
        now = context.clock()
        # RFC 6749 section 6: the access token may narrow; the new refresh token keeps its scope.
        # Neither keeps what the account's role no longer allows.
        narrowed = scopes.join(scopes.parse(self.request.payload.scope)) or spent.row.scope
        narrowed = scopes.held_by_role(narrowed, role)
        token = self.generate_token(scope=narrowed, include_refresh_token=True)
        access, refresh = self._rows(token, spent.row, now)
        assert refresh is not None
        sealed = context.keys.seal_replay(spent.value, token)
        # The audit row is written in the rotation's transaction: one commit, and never a
        # rotation without its record.
        event = context.audit.entry("token.refreshed", **self._details(access))
        if not context.store.rotate_refresh_token(
            spent.row.token_hash, now, access, refresh, sealed, event
        ):
            latest = context.store.live_refresh_token(spent.row.token_hash)
            assert latest is not None
            return self._replay_or_revoke(IssuedRefreshToken(latest, spent.value))
        context.audit.stored(event)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def _replay_or_revoke(
        self, spent: IssuedRefreshToken
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """A spent token: inside the grace window the same pair again, otherwise reuse."""
        context = self.context
        now = context.clock()
        row = spent.row
        assert row.spent_at is not None
        if row.replay is not None and now - row.spent_at < context.settings.refresh_grace_seconds:
            replayed = context.keys.open_replay(spent.value, row.replay)
            if replayed is not None:
                return 200, replayed, self.TOKEN_RESPONSE_HEADER
        context.store.revoke_grant(row.grant_id, now)
        self._record("refresh_token.reuse_detected", row)
        raise InvalidGrantError("The refresh token was already used; the grant is revoked.")
