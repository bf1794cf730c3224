"""private_key_jwt client authentication (RFC 7523 section 2.2 and 3, RFC 7521 section 4.2):
Authlib's JWTBearerClientAssertion, checked with this server's clock, asymmetric algorithms only,
a bounded lifetime and a single-use jti."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwk, jwt
from joserfc.errors import (
    BadSignatureError,
    InvalidKeyIdError,
    JoseError,
    UnsupportedAlgorithmError,
)
from starlette.concurrency import run_in_threadpool

from authserver.oauth.bridge import BridgeRequest, HttpRequest
from authserver.oauth.clients import ASSERTION_ALGS, OAuthClient
from authserver.oauth.egress import FetchError
from authserver.oauth.jwks import ClientKeys
from authserver.oauth.services import Services

ASSERTION_TYPE = JWTBearerClientAssertion.CLIENT_ASSERTION_TYPE
# An assertion is made for one request: it may expire at most this far ahead (RFC 7523 3,
# item 4 lets the server bound it), so that its jti is remembered for as long at most.
MAX_LIFETIME_SECONDS = 300
# The clock difference allowed between the client and this server, both ways.
LEEWAY_SECONDS = 60
MAX_JTI_LENGTH = 255


def _refused(description: str) -> InvalidClientError:
    return InvalidClientError(description=description)


class ClientAssertion(JWTBearerClientAssertion):  # type: ignore[misc]
    """The private_key_jwt method for Authlib's client authentication, at /token and /revoke."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, context: Services, keys: ClientKeys) -> None:
        super().__init__(leeway=LEEWAY_SECONDS)
        self._context = context
        self._keys = keys

    async def prepare(self, http: HttpRequest) -> None:
        """On the event loop, before Authlib runs: fetch (or refresh, for an unknown kid) the
        keys of the client the assertion names, so the check in the thread pool never waits on
        the network. A malformed assertion is left to that check, which refuses it."""
        assertion = dict(http.form).get("client_assertion")
        if not assertion:
            return
        try:
            header, claims = self.extract_assertion(assertion)
        except InvalidClientError:
            return
        client_id, kid = claims.get("sub"), header.get("kid")
        if not isinstance(client_id, str):
            return
        row = await run_in_threadpool(self._context.store.client, client_id)
        if row is not None and row.token_endpoint_auth_method == self.CLIENT_AUTH_METHOD:
            await self._keys.refresh(row, kid if isinstance(kid, str) else None)

    def __call__(self, query_client: Any, request: BridgeRequest) -> OAuthClient | None:
        form = request.form
        named = form.get("client_id")
        if "client_assertion" not in form and "client_assertion_type" not in form:
            # Not this method; but a private_key_jwt client is told what it forgot.
            named_client = query_client(named) if named else None
            if named_client is not None and (
                named_client.row.token_endpoint_auth_method == self.CLIENT_AUTH_METHOD
            ):
                raise _refused(
                    "This client authenticates with private_key_jwt: send client_assertion_type"
                    f" {ASSERTION_TYPE} and a client_assertion."
                )
            return None
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise _refused(f"client_assertion_type must be {ASSERTION_TYPE}.")
        if not form.get("client_assertion"):
            raise _refused("The client_assertion is missing.")
        client: OAuthClient = super().__call__(query_client, request)
        # RFC 7521 section 4.2: a client_id sent beside the assertion names the same client.
        if named is not None and named != client.get_client_id():
            raise _refused("client_id is not the subject of the client_assertion.")
        return client

    def get_audiences(self) -> list[str]:
        issuer = self._context.settings.issuer
        return [issuer, f"{issuer}/token"]

    def resolve_client_public_key(self, client: OAuthClient) -> Callable[[Any], jwk.KeySet]:
        try:
            keys = self._keys.keys_for(client.row)
        except FetchError as error:
            raise _refused(error.description) from None
        required = client.row.extra_metadata.get("token_endpoint_auth_signing_alg")

        def resolve(token: Any) -> jwk.KeySet:
            # RFC 7591 section 2: a registered algorithm is the only one the client uses.
            if required is not None and token.headers().get("alg") != required:
                raise _refused(f"The client_assertion must be signed with {required}.")
            return keys

        return resolve

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        # As Authlib does, but with asymmetric algorithms only: never none nor HMAC.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except UnsupportedAlgorithmError:
            raise _refused(
                "The client_assertion must be signed with one of: " + ", ".join(ASSERTION_ALGS)
                + "."
            ) from None
        except InvalidKeyIdError:
            raise _refused(
                "The client_assertion names a key (kid) that the application does not publish."
            ) from None
        except BadSignatureError:
            raise _refused(
                "The client_assertion's signature does not verify with the application's keys."
            ) from None
        except JoseError as error:
            raise _refused(f"The client_assertion is not valid: {error.description}") from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        """RFC 7523 section 3, with this server's clock (Authlib's reads the system's): iss and
        sub are the client, aud is this server, exp is near, and the jti is used once."""
        now = self._context.clock()
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=self.leeway,
            iss={"essential": True, "value": claims["sub"]},
            sub={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise _refused(f"The client_assertion is not valid: {error.description}") from None
        if claims["exp"] > now + MAX_LIFETIME_SECONDS + self.leeway:
            raise _refused(
                f"The client_assertion expires more than {MAX_LIFETIME_SECONDS} seconds ahead."
            )
        if len(claims["jti"]) > MAX_JTI_LENGTH:
            raise _refused(f"The client_assertion's jti is longer than {MAX_JTI_LENGTH}.")
        if not self.validate_jti(claims, claims["jti"]):
            raise _refused("The client_assertion was already used: its jti is single use.")

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        # Remembered while the assertion could still be accepted: until exp, plus the leeway.
        return self._context.store.use_assertion(
            claims["sub"], jti, self._context.clock(), int(claims["exp"]) + self.leeway
        )
