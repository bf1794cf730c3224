"""POST /api/mcp/validate: HospiAI's token check from before the move, answered in the shape
its FastMCP servers read, on introspection's rules (a live personal access token, imported
legacy ones included, for the caller's audience). Deprecated: RFC 9745 Deprecation and RFC 8594
Sunset headers, and counted per caller, so IT sees who still calls it."""

from __future__ import annotations

import datetime
from email.utils import format_datetime
from typing import Any

from prometheus_client import Counter

from authserver.context import Context
from authserver.legacy import RECORD_PREFIX
from authserver.models import PERSONAL_CLIENT_ID, Account, Grant
from authserver.oauth.bridge import HttpRequest, OAuthResponse
from authserver.store import Introspected
from authserver.store.tokens import LAST_USED_PRECISION, LiveToken
from shared import scopes

PATH = "/api/mcp/validate"
# Where a resource server puts its credentials in "credentials" mode, as "<id>:<secret>": the
# Authorization header carries the user's token, as the FastMCP servers send it today.
CREDENTIALS_HEADER = "x-hospiai-resource-server"
# RFC 9745: deprecated since the release that brought HospiAI Connect's own introspection.
DEPRECATED_SINCE = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


class LegacyValidation:
    def __init__(self, context: Context) -> None:
        self.context = context
        self._calls = Counter(
            "hospiai_legacy_validations",
            "Calls of the deprecated POST /api/mcp/validate, by caller and outcome",
            ["caller", "outcome"],
            registry=context.metrics.registry,
        )
        self._headers = [("Deprecation", f"@{int(DEPRECATED_SINCE.timestamp())}")]
        sunset = context.settings.legacy_sunset
        if sunset is not None:
            moment = datetime.datetime.combine(sunset, datetime.time(), datetime.UTC)
            self._headers.append(("Sunset", format_datetime(moment, usegmt=True)))

    def __call__(self, http: HttpRequest) -> OAuthResponse:
        now, context = self.context.clock(), self.context
        scheme, _, token = http.headers.get("authorization", "").partition(" ")
        key = context.legacy.token_key(context.keys, token.strip(), now)
        caller, found = self._caller(http, key, now)
        if found is None:
            return self._refuse(caller, "Resource server authentication failed.")
        live = found.token
        if scheme.lower() != "bearer" or not token.strip():
            return self._refuse(caller, "Missing bearer token.")
        if live is None or live.client_id != PERSONAL_CLIENT_ID:
            return self._refuse(caller, "Invalid or expired token.")
        grant = context.store.grant(live.grant_id)
        account = context.store.account(live.account_id)
        if grant is None or account is None:
            return self._refuse(caller, "Invalid or expired token.")
        self._calls.labels(caller, "valid").inc()
        return self._valid(_valid_body(key, live, grant, account), live, now)

    def _valid(self, body: dict[str, Any], live: LiveToken, now: int) -> OAuthResponse:
        """200, and the grant's use recorded once the answer is sent, unless recorded within
        LAST_USED_PRECISION already (no write on each call)."""
        if (live.grant_last_used_at or 0) > now - LAST_USED_PRECISION:
            return OAuthResponse(200, body, list(self._headers))
        store = self.context.store
        return OAuthResponse(
            200, body, list(self._headers),
            after=lambda: store.touch_grant(live.grant_id, now, LAST_USED_PRECISION),
        )

    def _caller(self, http: HttpRequest, key: str, now: int) -> tuple[str, Introspected | None]:
        """Who is asking (a label for the metrics), and the token as its audience sees it:
        the resource server whose credentials are given, or in "bearer" mode the default
        resource's. None: the credentials are wrong, or no resource server is configured."""
        store = self.context.store
        if self.context.settings.legacy_validate == "bearer":
            resource = self.context.settings.default_resource or ""
            server = store.resource_server_by_resource(resource)
            found = store.introspection(server.id, key, now) if server else None
            return "bearer", found
        caller_id, _, secret = http.headers.get(CREDENTIALS_HEADER, "").partition(":")
        found = store.introspection(caller_id, key, now) if caller_id and secret else None
        if found is None or not found.authenticates(self.context.keys.hash_secret(secret), now):
            return "unauthenticated", None
        return caller_id, found

    def _refuse(self, caller: str, error: str) -> OAuthResponse:
        self._calls.labels(caller, "invalid").inc()
        return OAuthResponse(
            401, {"error": error}, [*self._headers, ("WWW-Authenticate", "Bearer")]
        )


def _valid_body(key: str, live: LiveToken, grant: Grant, account: Account) -> dict[str, Any]:
    """The answer HospiAI's FastMCP servers read for a valid token (the web application's
    field names), with the scopes the account's role still allows."""
    granted = scopes.allowed_for_role(scopes.parse(live.scope), live.role)
    expires = datetime.datetime.fromtimestamp(live.expires_at, datetime.UTC)
    return {
        "valid": True,
        "user": {
            "id": account.id, "email": account.email, "firstname": account.given_name,
            "surname": account.family_name, "phoneNumber": account.phone,
        },
        "token": {
            # An imported token keeps the id HospiAI gave it.
            "id": key.removeprefix(RECORD_PREFIX) if key.startswith(RECORD_PREFIX) else grant.id,
            "name": grant.name,
            "scopes": granted,
            "expiresAt": expires.isoformat().replace("+00:00", "Z"),
        },
        "scopes": granted,
    }
