"""Bearer tokens checked by RFC 7662 introspection: one pooled client, a bounded cache keyed
by the token's hash (never past `exp`), audience pinned to this resource, `exp` and `iat`
checked here too, fail closed."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

log = logging.getLogger(__name__)

# Far longer than any token the authorization server issues (hospiai_at_ and 43 characters):
# a longer one is refused without asking, as the authorization server would refuse the body.
MAX_TOKEN_CHARS = 4096
# How far ahead of this clock a token's `iat` may be (clock skew between the two servers).
IAT_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Identity:
    """The acting user and what the token allows, from introspection."""

    sub: str
    client_id: str
    scopes: frozenset[str]
    email: str
    given_name: str
    family_name: str
    role: str
    expires_at: int
    # The hospitals a staff account belongs to (the `hospital_ids` claim); empty for others.
    hospital_ids: frozenset[str] = frozenset()
    # How and when the user signed in (RFC 9470 `acr`, `auth_time`), when the token says.
    acr: str | None = None
    auth_time: int | None = None

    def manages(self, hospital_id: str) -> bool:
        """Whether this user may change ``hospital_id``'s data: an admin every hospital, staff
        only those they belong to, a patient none."""
        if self.role == "admin":
            return True
        return self.role == "staff" and hospital_id in self.hospital_ids


class AuthServerUnavailable(Exception):
    """Introspection failed: the request must be refused (fail closed), never let through."""


class IntrospectionRefused(AuthServerUnavailable):
    """The authorization server refused this server's own credentials (HTTP 401 or 403): a
    fault of configuration, which waiting will not mend; still fail closed."""


class TokenVerifier(Protocol):
    """What the bearer guard needs: the identity behind an active token for this resource,
    None for any other token, AuthServerUnavailable when that cannot be known."""

    async def verify(self, token: str) -> Identity | None: ...


class IntrospectionVerifier:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        introspection_url: str,
        client_id: str,
        client_secret: str,
        resource: str,
        issuer: str,
        cache_ttl: int,
        cache_size: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._url = introspection_url
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._resource = resource
        self._issuer = issuer
        self._ttl = cache_ttl
        self._size = cache_size
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Identity | None, float]] = OrderedDict()
        # The cached identities by account and by client, for revocation events to find them.
        self._by_account: dict[str, set[str]] = {}
        self._by_client: dict[str, set[str]] = {}
        # Counts evictions: an answer that was in flight while one happened is not cached, as
        # it may predate the revocation the eviction was for.
        self._evictions = 0

    async def verify(self, token: str) -> Identity | None:
        """The identity behind an active token for this resource, else None."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            self._cache.move_to_end(key)
            identity = cached[0]
            return identity if identity is None or identity.expires_at > now else None
        evictions = self._evictions
        identity = await self._introspect(token, now)
        if self._ttl > 0 and evictions == self._evictions:
            until = now + self._ttl
            if identity is not None:
                until = min(until, identity.expires_at)
            self._keep(key, identity, until)
        return identity

    def evict(
        self, *, token_sha256: str | None = None, account_id: str | None = None,
        client_id: str | None = None,
    ) -> int:
        """Forget the cached answers a revocation event names: one token (by the SHA-256 of its
        value, which is its cache key), or every token of an account, of a client, or of an
        account with a client. Returns how many were forgotten."""
        self._evictions += 1
        if token_sha256 is not None:
            keys = {token_sha256} & self._cache.keys()
        elif account_id is not None:
            keys = set(self._by_account.get(account_id, ()))
            if client_id is not None:
                keys &= self._by_client.get(client_id, set())
        else:
            keys = set(self._by_client.get(client_id or "", ()))
        for key in keys:
            self._forget(key)
        return len(keys)

    def evict_all(self) -> None:
        """Forget every cached answer (the feed cannot say which ones were revoked)."""
        self._evictions += 1
        self._cache.clear()
        self._by_account.clear()
        self._by_client.clear()

    def _keep(self, key: str, identity: Identity | None, until: float) -> None:
        self._forget(key)
        self._cache[key] = (identity, until)
        if identity is not None:
            self._by_account.setdefault(identity.sub, set()).add(key)
            self._by_client.setdefault(identity.client_id, set()).add(key)
        while len(self._cache) > self._size:
            self._forget(next(iter(self._cache)))

    def _forget(self, key: str) -> None:
        identity, _until = self._cache.pop(key, (None, 0.0))
        if identity is not None:
            _unindex(self._by_account, identity.sub, key)
            _unindex(self._by_client, identity.client_id, key)

    async def _introspect(self, token: str, now: float) -> Identity | None:
        try:
            response = await self._client.post(
                self._url, data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
            )
        except httpx.HTTPError as error:
            log.warning("introspection failed: %s", type(error).__name__)
            raise AuthServerUnavailable from None
        if response.status_code != 200:
            _refused(response.status_code)
            return None
        try:
            data = response.json()
        except ValueError:
            raise AuthServerUnavailable from None
        if not isinstance(data, dict) or data.get("active") is not True:
            return None
        audience = data.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._resource not in audiences or data.get("iss") != self._issuer:
            return None
        return _identity(data, now)


def _unindex(index: dict[str, set[str]], name: str, key: str) -> None:
    keys = index.get(name)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[name]


def _refused(status: int) -> None:
    """What an answer other than 200 means. The authorization server refusing this request
    (a body too large, say) is an answer about the token (no identity), not an outage; refusing this
    server's credentials is IntrospectionRefused; the rest (5xx, and 429, which asks to come
    back later) AuthServerUnavailable."""
    if status in (401, 403):
        log.error("introspection refused this server's credentials: HTTP %s", status)
        raise IntrospectionRefused
    log.warning("introspection answered HTTP %s", status)
    if 400 <= status < 500 and status != 429:
        return None
    raise AuthServerUnavailable


def _identity(data: dict[str, object], now: float) -> Identity | None:
    """The identity an active answer describes; None if it lacks a claim, or if its times are
    not sane here: defence in depth, should the authorization server answer active for a token
    that has expired or was issued in the future."""
    try:
        identity = Identity(
            sub=str(data["sub"]),
            client_id=str(data["client_id"]),
            scopes=frozenset(str(data.get("scope", "")).split()),
            email=str(data.get("email", "")),
            given_name=str(data.get("given_name", "")),
            family_name=str(data.get("family_name", "")),
            role=str(data.get("role", "patient")),
            expires_at=_seconds(data["exp"]),
            hospital_ids=_hospital_ids(data.get("hospital_ids")),
            acr=acr if isinstance(acr := data.get("acr"), str) else None,
            auth_time=_seconds(data["auth_time"]) if "auth_time" in data else None,
        )
        issued_at = _seconds(data.get("iat", now))
    except (KeyError, TypeError, ValueError):
        log.warning("introspection response lacks required claims")
        return None
    if identity.expires_at <= now or not issued_at <= min(now + IAT_LEEWAY_SECONDS,
                                                          identity.expires_at):
        log.warning("introspection answered active for a token outside its lifetime")
        return None
    return identity


def _hospital_ids(value: object) -> frozenset[str]:
    """The `hospital_ids` claim: a list of texts. Anything else means no hospital (stricter
    than refusing the token, which would also stop the user's reading tools)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return frozenset()
    return frozenset(value)


def _seconds(value: object) -> int:
    """A NumericDate claim (RFC 7519 section 2) as whole seconds; a bool, a text or a float
    beyond int is refused (TypeError, ValueError)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    try:
        return int(value)
    except OverflowError:
        raise ValueError("out of range") from None
