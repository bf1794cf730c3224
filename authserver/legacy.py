"""HospiAI's tokens from before HospiAI Connect: HS256 JWTs signed with the web application's
secret, accepted while the record imported for them is live (`hospiai tokens import`).

HospiAI kept only the records (id, user, name, scopes, expiry, revoked), not the values, so a
record is stored as a personal access token whose hash column holds ``legacy:<id>``: never
the hex HMAC that an opaque token hashes to, so no presented secret can reach it, and every
rule of a personal token (audience, expiry, revocation, a disabled account, the list on
/account) applies to it unchanged."""

from __future__ import annotations

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import ClaimsOption

from authserver.security import Keys

RECORD_PREFIX = "legacy:"
# The one algorithm HospiAI signed with: a token naming another (none, RS256 with the secret
# as a public key) is refused before its signature is looked at.
ALGORITHMS = ["HS256"]


def record_key(record_id: str) -> str:
    """What the access token column holds for an imported record."""
    return f"{RECORD_PREFIX}{record_id}"


class LegacyTokens:
    """``secret``: the web application's signing secret; None refuses every legacy token."""

    def __init__(self, secret: str | None, id_claim: str = "jti") -> None:
        self._key = OctKey.import_key(secret) if secret else None
        self._id_claim = id_claim

    def record_key(self, token: str, now: int) -> str | None:
        """The key of the record a legacy JWT names, if its HS256 signature verifies and its
        ``exp`` is in the future; None for anything else (an opaque token costs no parsing)."""
        if self._key is None or token.count(".") != 2:
            return None
        try:
            decoded = jwt.decode(token, self._key, algorithms=ALGORITHMS)
            essential: ClaimsOption = {"essential": True}
            jwt.JWTClaimsRegistry(
                now=now, leeway=0, exp=essential, **{self._id_claim: essential}
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            return None
        record_id = decoded.claims[self._id_claim]
        if isinstance(record_id, bool) or not isinstance(record_id, str | int):
            return None
        return record_key(str(record_id))

    def token_key(self, keys: Keys, token: str, now: int) -> str:
        """What the store looks a presented bearer token up by: a legacy record's key, or the
        keyed hash of an opaque token (an unverified JWT too, which matches nothing)."""
        return self.record_key(token, now) or keys.hash_secret(token)
