"""A private_key_jwt client's public keys (RFC 7517 key sets): inline in its metadata document
(``jwks``), or at its ``jwks_uri``, fetched through the egress guard, kept as Cache-Control says
within bounds, and fetched again for an unknown ``kid`` at most once a minute."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from joserfc import jwk
from joserfc.errors import JoseError

from authserver.models import Client
from authserver.oauth.egress import Fetcher, FetchError, cache_seconds, parse_json

# A few keys of a few KB each, with room for a rotation in progress.
MAX_KEY_SET_BYTES = 32 * 1024
# However often assertions name a kid the set lacks, the set is fetched at most this often, so
# that nobody can make this server fetch on every request; a rotation is seen within it.
REFETCH_SECONDS = 60
# Key sets kept per process; the oldest goes first (it is fetched again when next needed).
MAX_KEY_SETS = 1000
MIN_RSA_BITS = 2048
_WHAT = "The application's key set (jwks_uri)"


def public_keys(value: object) -> jwk.KeySet:
    """The signature keys of a JWK Set, public parts only: RSA (2048 bits or more), EC and OKP
    keys not marked for encryption. ValueError when it is not a JWK Set or has none of them."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise ValueError("it is not a JWK Set (an object with an array of keys)")
    keys = [key for key in map(_signature_key, value["keys"]) if key is not None]
    if not keys:
        raise ValueError("it has no usable public signature key (RSA of 2048 bits, EC or OKP)")
    return jwk.KeySet(keys)


def _signature_key(data: object) -> jwk.Key | None:
    """One key of a set, or None to skip it: symmetric, for encryption, weak or malformed."""
    if not isinstance(data, dict) or data.get("kty") not in {"RSA", "EC", "OKP"}:
        return None
    if data.get("use", "sig") != "sig":
        return None
    # Measured before joserfc imports it, which warns about a short key rather than refusing.
    if data["kty"] == "RSA" and _modulus_bits(data.get("n")) < MIN_RSA_BITS:
        return None
    try:
        key = jwk.import_key(data)
        # Only the public part is kept, whatever the document carried by mistake.
        return jwk.import_key(key.as_dict(private=False))
    except (JoseError, ValueError, TypeError, KeyError):
        return None


def _modulus_bits(n: object) -> int:
    if not isinstance(n, str):
        return 0
    try:
        modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(modulus, "big").bit_length()


def _parse(body: bytes) -> jwk.KeySet:
    document = parse_json(body, _WHAT)
    try:
        return public_keys(document)
    except ValueError as error:
        raise FetchError(f"{_WHAT} cannot be used: {error}.") from None


@dataclass(frozen=True)
class _KeySet:
    """What is known of one jwks_uri: its keys (None when the last fetch failed and nothing
    fresh is left, with the reason), when it was last fetched, until when it may be used."""

    keys: jwk.KeySet | None
    problem: str
    fetched_at: int
    expires_at: int


def _names(keys: jwk.KeySet | None, kid: str | None) -> bool:
    return keys is not None and (kid is None or any(key.kid == kid for key in keys))


class ClientKeys:
    """Key sets by jwks_uri, per process. Fetched on the event loop (``refresh``, before the
    synchronous Authlib call), read in the thread pool (``keys_for``), which never fetches."""

    def __init__(self, clock: Callable[[], int], fetcher: Fetcher) -> None:
        self._clock = clock
        self._fetcher = fetcher
        self._sets: dict[str, _KeySet] = {}

    def keys_for(self, client: Client) -> jwk.KeySet:
        """The client's keys as known now; FetchError (with a safe reason) without any."""
        metadata = client.extra_metadata
        if "jwks" in metadata:
            try:
                return public_keys(metadata["jwks"])
            except ValueError:
                raise FetchError("The application's jwks has no usable key.") from None
        known = self._sets.get(str(metadata.get("jwks_uri")))
        if known is None or known.keys is None:
            raise FetchError(known.problem if known else "The application publishes no keys.")
        return known.keys

    async def refresh(self, client: Client, kid: str | None) -> None:
        """Fetch the client's jwks_uri if its keys are unknown, expired, or lack ``kid``, unless
        it was fetched less than REFETCH_SECONDS ago."""
        uri: Any = client.extra_metadata.get("jwks_uri")
        if not isinstance(uri, str):
            return
        now, known = self._clock(), self._sets.get(uri)
        if known is not None and (
            now - known.fetched_at < REFETCH_SECONDS
            or (known.expires_at > now and _names(known.keys, kid))
        ):
            return
        # Marked before the fetch, so that requests arriving meanwhile do not fetch as well.
        pending = _KeySet(None, "The application's keys are being fetched.", now, now)
        self._keep(uri, replace(known, fetched_at=now) if known else pending)
        self._keep(uri, await self._fetch(uri, now, known))

    async def _fetch(self, uri: str, now: int, known: _KeySet | None) -> _KeySet:
        try:
            body, cache_control = await self._fetcher.json(
                uri, what=_WHAT, max_bytes=MAX_KEY_SET_BYTES
            )
            keys = _parse(body)
        except FetchError as error:
            problem = error.description
        else:
            return _KeySet(keys, "", now, now + cache_seconds(cache_control))
        # A failed fetch keeps keys that are still fresh, never expired ones.
        if known is not None and known.keys is not None and known.expires_at > now:
            return replace(known, fetched_at=now)
        return _KeySet(None, problem, now, now)

    def _keep(self, uri: str, key_set: _KeySet) -> None:
        if uri not in self._sets and len(self._sets) >= MAX_KEY_SETS:
            del self._sets[next(iter(self._sets))]
        self._sets[uri] = key_set
