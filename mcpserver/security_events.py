"""The receiving end of the authorization server's revocation feed: Security Event Tokens
(RFC 8417) polled over HTTP (RFC 8936) with this server's introspection credentials, each one
dropping the cached introspection answers it names.

The cache keeps its TTL whatever the feed does: events only ever shorten how long an answer is
used, so while the feed cannot be reached a revoked token works at most as long as it did
without it (the TTL), never longer. Each replica keeps its own position in the feed (the jti
of the newest SET it processed, acknowledged with the next poll), so every replica sees every
event.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.security_events import (
    ACCOUNT_DISABLED,
    CLIENT_REVOKED,
    SESSION_REVOKED,
    TOKEN_CLAIMS_CHANGE,
    TOKEN_REVOKED,
    UNKNOWN_POSITION,
)

log = logging.getLogger(__name__)

# SETs asked for per poll; more are fetched at once when the answer says moreAvailable.
MAX_EVENTS = 500
# Far beyond a SET of this feed (a few hundred bytes): a longer one is not read.
MAX_SET_CHARS = 8192


class Evictor(Protocol):
    """What the feed acts on: the introspection cache (mcpserver.auth.IntrospectionVerifier)."""

    def evict(
        self, *, token_sha256: str | None = None, account_id: str | None = None,
        client_id: str | None = None,
    ) -> int: ...

    def evict_all(self) -> None: ...


class InvalidSet(ValueError):
    """A SET this receiver cannot use; reported back in setErrs and skipped."""


@dataclass(frozen=True)
class Feed:
    url: str
    client_id: str
    client_secret: str
    issuer: str
    resource: str
    # Seconds between polls.
    interval: float


class SecurityEventReceiver:
    def __init__(
        self, client: httpx.AsyncClient, feed: Feed, cache: Evictor, registry: CollectorRegistry
    ) -> None:
        self._client, self._feed, self._cache = client, feed, cache
        self._auth = httpx.BasicAuth(feed.client_id, feed.client_secret)
        # The jti of the newest SET processed; none before the first.
        self.position: str | None = None
        self._errors: dict[str, dict[str, str]] = {}
        self._healthy = True
        self._position = Gauge(
            "hospiai_security_events_position", "jti of the newest security event processed",
            registry=registry,
        )
        self._polls = Counter(
            "hospiai_security_event_polls", "Polls of the revocation feed by outcome",
            ["outcome"], registry=registry,
        )

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged (once until the feed answers again)
        and retried at the next interval."""
        while True:
            more = False
            try:
                more = await self.poll()
            except (httpx.HTTPError, ValueError) as error:
                self._polls.labels("failed").inc()
                if self._healthy:
                    # Our own sentence for an answer; only the class of a transport error.
                    why = str(error) if type(error) is ValueError else type(error).__name__
                    log.warning("security event feed unavailable (%s): the cache falls back to "
                                "its TTL", why)
                self._healthy = False
            else:
                self._polls.labels("ok").inc()
                if not self._healthy:
                    log.info("security event feed available again")
                self._healthy = True
            if not more:
                await asyncio.sleep(self._feed.interval)

    async def poll(self) -> bool:
        """One poll: acknowledge the position, process the SETs that come back in jti order.
        True when the feed has more to give at once."""
        request: dict[str, Any] = {"returnImmediately": True, "maxEvents": MAX_EVENTS,
                                   "ack": [] if self.position is None else [self.position]}
        if self._errors:
            request["setErrs"] = self._errors
        answer = await self._client.post(self._feed.url, json=request, auth=self._auth)
        if self.position is not None and _unknown_position(answer):
            self._start_again()
            return True
        if answer.status_code != 200:
            raise ValueError(f"HTTP {answer.status_code}")
        body = answer.json()
        sets = body.get("sets") if isinstance(body, dict) else None
        if not isinstance(sets, dict):
            raise ValueError("not a poll response")
        self._errors = {}
        for jti in sorted(sets, key=lambda jti: (_order(jti) or 0, jti)):
            self._deliver(jti, sets[jti])
        return body.get("moreAvailable") is True

    def _start_again(self) -> None:
        """The feed refused the position this receiver acknowledged as one it never issued (its
        database was restored from a backup or reset, and will give those ids to new events).
        Whatever this server missed cannot be known, so every cached answer goes, and the next
        poll, at once, starts with no position."""
        log.warning("the security event feed does not know position %s: every cached "
                    "introspection answer is dropped and the feed is read from its start",
                    self.position)
        self.position, self._errors = None, {}
        self._position.set(0)
        self._cache.evict_all()

    def _deliver(self, jti: str, token: object) -> None:
        """One SET of a poll: processed, or its error kept for the next poll's setErrs."""
        order = _order(jti)
        try:
            if order is None:
                raise InvalidSet("its jti is not one of this feed's")
            self._process(jti, token)
        except InvalidSet as why:
            log.warning("security event skipped: %s", why)
            self._errors[jti[:40]] = {"err": "invalid_request", "description": str(why)}
        # One of this feed's, processed or reported in setErrs: either way delivered (RFC
        # 8936 section 2.4), and it will not mend by being sent again.
        if order is not None:
            self.position = jti
            self._position.set(order)

    def _process(self, jti: str, token: object) -> None:
        claims = _claims(token)
        if claims.get("iss") != self._feed.issuer or claims.get("jti") != jti:
            raise InvalidSet("not from this issuer")
        audience = claims.get("aud")
        if self._feed.resource not in (audience if isinstance(audience, list) else [audience]):
            raise InvalidSet("not for this resource")
        events, subject = claims.get("events"), claims.get("sub_id")
        if not isinstance(events, dict) or not isinstance(subject, dict):
            raise InvalidSet("no events or subject")
        for event_type in events:
            self._evict(event_type, subject)

    def _evict(self, event_type: str, subject: dict[str, Any]) -> None:
        if event_type == TOKEN_REVOKED:
            self._cache.evict(token_sha256=_opaque(subject))
        elif event_type == SESSION_REVOKED:
            self._cache.evict(account_id=self._user(subject.get("user")),
                              client_id=_opaque(subject.get("application")))
        elif event_type in (ACCOUNT_DISABLED, TOKEN_CLAIMS_CHANGE):
            self._cache.evict(account_id=self._user(subject))
        elif event_type == CLIENT_REVOKED:
            self._cache.evict(client_id=_opaque(subject))
        # Other event types say nothing this cache holds.

    def _user(self, subject: object) -> str:
        if (
            not isinstance(subject, dict) or subject.get("format") != "iss_sub"
            or subject.get("iss") != self._feed.issuer or not isinstance(subject.get("sub"), str)
        ):
            raise InvalidSet("the user is not an iss_sub subject of this issuer")
        return str(subject["sub"])


def _unknown_position(answer: httpx.Response) -> bool:
    """The feed's refusal of the acknowledged position, and not any other 400 (a proxy's, a
    poll it could not read), which is a failed poll like any other."""
    if answer.status_code != 400:
        return False
    try:
        body: object = answer.json()
    except ValueError:
        return False
    return body == {"err": "invalid_request", "description": UNKNOWN_POSITION}


def _opaque(subject: object) -> str:
    if not isinstance(subject, dict) or subject.get("format") != "opaque" or not isinstance(
        subject.get("id"), str
    ):
        raise InvalidSet("the subject is not an opaque identifier")
    return str(subject["id"])


def _claims(token: object) -> dict[str, Any]:
    """The claims of an unsecured SET (RFC 8417 section 2.1): its integrity is that of the
    authenticated TLS channel to the issuer, and a SET can only make this server ask again."""
    if not isinstance(token, str) or len(token) > MAX_SET_CHARS or token.count(".") != 2:
        raise InvalidSet("not a compact JWT")
    header, payload, signature = token.split(".")
    try:
        parsed = [json.loads(_decode(part)) for part in (header, payload)]
    except (ValueError, binascii.Error):
        raise InvalidSet("not a readable JWT") from None
    if not all(isinstance(part, dict) for part in parsed) or not _unsecured_set(
        parsed[0], signature
    ):
        raise InvalidSet("not an unsecured SET")
    claims: dict[str, Any] = parsed[1]
    return claims


def _unsecured_set(header: dict[str, Any], signature: str) -> bool:
    """A SET's header (RFC 8417 section 2.3) of an unsecured JWT (RFC 7519 section 6)."""
    return header.get("typ") == "secevent+jwt" and header.get("alg") == "none" and not signature


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _order(jti: str) -> int | None:
    """The feed's jtis are increasing integers (processed oldest first); None for another."""
    return int(jti) if jti.isascii() and jti.isdigit() and len(jti) <= 18 else None
