"""Bearer tokens checked by RFC 7662 introspection: one pooled client, a bounded cache keyed
by the token's hash (never past `exp`), audience pinned to this resource, fail closed."""

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


class AuthServerUnavailable(Exception):
    """Introspection failed: the request must be refused (fail closed), never let through."""


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

    async def verify(self, token: str) -> Identity | None:
        """The identity behind an active token for this resource, else None."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            self._cache.move_to_end(key)
            identity = cached[0]
            return identity if identity is None or identity.expires_at > now else None
        identity = await self._introspect(token)
        if self._ttl > 0:
            until = now + self._ttl
            if identity is not None:
                until = min(until, identity.expires_at)
            self._cache[key] = (identity, until)
            self._cache.move_to_end(key)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return identity

    async def _introspect(self, token: str) -> Identity | None:
        try:
            response = await self._client.post(
                self._url, data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
            )
        except httpx.HTTPError as error:
            log.warning("introspection failed: %s", type(error).__name__)
            raise AuthServerUnavailable from None
        if response.status_code != 200:
            log.warning("introspection answered HTTP %s", response.status_code)
            raise AuthServerUnavailable
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
        try:
            return Identity(
                sub=str(data["sub"]),
                client_id=str(data["client_id"]),
                scopes=frozenset(str(data.get("scope", "")).split()),
                email=str(data.get("email", "")),
                given_name=str(data.get("given_name", "")),
                family_name=str(data.get("family_name", "")),
                role=str(data.get("role", "patient")),
                expires_at=int(data["exp"]),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("introspection response lacks required claims")
            return None
