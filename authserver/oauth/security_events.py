"""The revocation feed: Security Event Tokens (RFC 8417) that resource servers poll for
(RFC 8936), as the Shared Signals Framework delivers them, so that a token ended early stops
working at every resource server within its poll interval, not its cache TTL.

Event types: the CAEP session-revoked for a grant (a user's session with an application: the
"complex" subject of both), the RISC account-disabled for an account, the CAEP
token-claims-change when an account's role or hospitals change (its tokens' cached answers
would still claim the old ones), and two of our own (RFC 8417 section 2.2 lets an issuer name
its own) where no SSF type fits: an access token revoked, named by the SHA-256 of its value,
and a client whose every token ended (blocked, deleted, its consent withdrawn).

The SETs are unsecured JWTs (RFC 8417 section 2.1, "alg": "none"): this server has no signing
key (it issues opaque tokens), and a SET here only ever makes a resource server ask
introspection again, so a forged one could cost a cache miss and nothing more; what carries it
is the TLS connection the receiver opened to the issuer it already trusts for introspection,
with its own credentials.

The transmitter keeps no state per receiver, because every replica of a resource server shares
its credentials and must see every event: acknowledgements are cumulative, the position being
the newest jti acknowledged (jtis are the feed's increasing row ids), and each replica keeps its
own. Answers are immediate (returnImmediately is honoured by always answering at once, which
RFC 8936 section 2.4 allows); receivers poll about every second.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.models import SecurityEvent
from authserver.oauth.bridge import HttpRequest, MalformedRequest, OAuthResponse, send_response
from authserver.oauth.services import Services
from shared.security_events import (
    ACCOUNT_DISABLED,
    CLIENT_REVOKED,
    PATH,
    SESSION_REVOKED,
    TOKEN_CLAIMS_CHANGE,
    TOKEN_REVOKED,
    UNKNOWN_POSITION,
)

log = logging.getLogger(__name__)

__all__ = ["PATH", "Rfc8936Errors", "SecurityEventFeed"]

# SETs in one answer when the receiver names no maxEvents, and the most it may ask for.
DEFAULT_EVENTS = 100
MAX_EVENTS = 1000
# jtis are 64-bit row ids (shared.database.ROW_ID).
_MAX_JTI = 2**63 - 1
_HEADER = base64.urlsafe_b64encode(b'{"typ":"secevent+jwt","alg":"none"}').rstrip(b"=").decode()


class _Invalid(Exception):
    """A poll request this endpoint cannot read (RFC 8936 section 2.4.4: HTTP 400)."""


class SecurityEventFeed:
    """POST /security-events: a resource server, with its introspection credentials (HTTP
    Basic), acknowledges what it processed and receives the next SETs for its audience."""

    def __init__(self, context: Services) -> None:
        self.context = context

    def __call__(self, http: HttpRequest) -> OAuthResponse:
        resource = self._caller(http)
        if resource is None:
            return _error(401, "authentication_failed", "Resource server authentication failed.",
                          [("WWW-Authenticate", 'Basic realm="security-events"')])
        try:
            position, max_events = _poll(http.json)
        except _Invalid as why:
            return _error(400, "invalid_request", str(why))
        store = self.context.store
        events = store.security_events(resource, position, max_events + 1) if max_events else []
        if not events and position > store.newest_security_event():
            return _error(400, "invalid_request", UNKNOWN_POSITION)
        if max_events == 0:  # RFC 8936 section 2.4.1: acknowledge only
            return OAuthResponse(200, {"sets": {}}, [])
        issuer = self.context.settings.issuer
        sets = {str(event.id): _token(event, issuer, resource) for event in events[:max_events]}
        return OAuthResponse(200, {"sets": sets, "moreAvailable": len(events) > max_events}, [])

    def _caller(self, http: HttpRequest) -> str | None:
        """The calling resource server's resource, if its credentials are right: its secret,
        or the one a rotation replaced while its grace period lasts, as for introspection."""
        caller_id, secret = http.basic or ("", "")
        found = self.context.store.resource_server(caller_id) if caller_id else None
        if found is None or not found.authenticates(
            self.context.keys.hash_secret(secret), self.context.clock()
        ):
            return None
        return found.resource


class Rfc8936Errors:
    """Around the feed's endpoint: a body that cannot even be parsed (not JSON, too large, a
    NUL, malformed Basic credentials) is answered in RFC 8936's error shape too, not OAuth's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except MalformedRequest as error:  # raised before anything was sent
            # Malformed Basic credentials are a 401 (bridge): authentication failed.
            code = "authentication_failed" if error.status == 401 else "invalid_request"
            await send_response(_error(error.status, code, error.description), send)


def _poll(body: object) -> tuple[int, int]:
    """The receiver's position (its newest acknowledged jti, 0 for none) and maxEvents, from a
    poll request (RFC 8936 section 2.4)."""
    if not isinstance(body, dict):
        raise _Invalid("The poll request must be a JSON object.")
    ack = _ack(body.get("ack", []))
    max_events = _max_events(body.get("maxEvents", DEFAULT_EVENTS))
    if not isinstance(body.get("returnImmediately", True), bool):
        raise _Invalid("returnImmediately must be true or false.")
    _set_errors(body.get("setErrs", {}))
    return max((_jti(jti) for jti in ack), default=0), max_events


def _ack(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(jti, str) for jti in value):
        raise _Invalid("ack must be an array of jti strings.")
    return value


def _max_events(value: object) -> int:
    # bool is an int in Python, never in JSON's sense.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EVENTS:
        raise _Invalid(f"maxEvents must be a whole number from 0 to {MAX_EVENTS}.")
    return value


def _set_errors(errors: object) -> None:
    """RFC 8936 section 2.4.3: what the receiver could not process. Those events stay
    acknowledged (they will not mend); the count is logged, never their content."""
    if not isinstance(errors, dict):
        raise _Invalid("setErrs must be an object.")
    if errors:
        log.warning("a resource server could not process %d security events", len(errors))


def _jti(value: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or int(value) > _MAX_JTI:
        raise _Invalid("Each acknowledged jti must be one this feed issued.")
    return int(value)


def _token(event: SecurityEvent, issuer: str, resource: str) -> str:
    """The event as an unsecured SET for ``resource``: header.claims. (empty signature)."""
    claims: dict[str, Any] = {
        "iss": issuer, "aud": resource, "iat": event.at, "jti": str(event.id),
        "sub_id": _subject(event, issuer),
        "events": {_EVENT_TYPES[event.kind]: {
            "event_timestamp": event.at,
            # CAEP token-claims-change: the claims that changed, with their new values.
            **({"claims": event.claims} if event.kind == "claims" else {}),
        }},
    }
    encoded = json.dumps(claims, separators=(",", ":")).encode()
    return f"{_HEADER}.{base64.urlsafe_b64encode(encoded).rstrip(b'=').decode()}."


_EVENT_TYPES = {
    "token": TOKEN_REVOKED, "grant": SESSION_REVOKED, "account": ACCOUNT_DISABLED,
    "client": CLIENT_REVOKED, "claims": TOKEN_CLAIMS_CHANGE,
}


def _subject(event: SecurityEvent, issuer: str) -> dict[str, Any]:
    """The subject (RFC 9493 identifiers; SSF's complex subject for a user's application)."""
    user = {"format": "iss_sub", "iss": issuer, "sub": event.account_id}
    application = {"format": "opaque", "id": event.client_id}
    if event.kind == "token":
        return {"format": "opaque", "id": event.token_sha256}
    if event.kind == "grant":
        return {"format": "complex", "user": user, "application": application}
    return application if event.kind == "client" else user


def _error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> OAuthResponse:
    """RFC 8936 section 2.4.4 / RFC 8935 section 2.3: {"err", "description"}."""
    return OAuthResponse(status, {"err": error, "description": description}, headers or [])
