"""ChatGPT as an authorization server meets it: its client metadata document (one per
connector), its key set, and the private_key_jwt assertions (RFC 7523) it signs at /token and
/revoke, with keys made here."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwk, jwt

from tests.harness import AuthServer
from tests.internet import Internet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# ChatGPT's document and keys, as it publishes them (one document per connector).
CONNECTOR = "kDmjx77UnKOM"
CHATGPT = f"https://chatgpt.com/oauth/{CONNECTOR}/client.json"
CALLBACK = f"https://chatgpt.com/connector/oauth/{CONNECTOR}"
JWKS_URI = "https://chatgpt.com/oauth/jwks.json"
KID = "cimd-20260428030119"
KEY = jwk.RSAKey.generate_key(2048, {"kid": KID})


def short_rsa_key() -> dict[str, str]:
    """A 1024-bit RSA key, built without joserfc (which warns about one)."""
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()

    def encode(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "kid": "short", "n": encode(numbers.n), "e": encode(numbers.e)}


def chatgpt_document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "client_id": CHATGPT,
        "client_uri": "https://chatgpt.com/",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "ChatGPT",
        "logo_uri": "https://persistent.oaistatic.com/sonic/misc/openai-logo.png",
        "token_endpoint_auth_signing_alg": "RS256",
        "jwks_uri": JWKS_URI,
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not None}


def key_set(*keys: jwk.Key) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def signed(
    server: AuthServer, key: jwk.Key = KEY, *, alg: str = "RS256", **claims: object
) -> dict[str, str]:
    """The form fields of a client assertion; a claim set to None is left out."""
    now = server.clock()
    payload: dict[str, object] = {
        "iss": CHATGPT, "sub": CHATGPT, "aud": f"{server.settings.issuer}/token",
        "iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(16),
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    assertion = jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


def publish(internet: Internet) -> None:
    """ChatGPT's document and key set, on the stand-in for chatgpt.com."""
    internet.publish(CHATGPT, chatgpt_document())
    internet.publish(JWKS_URI, key_set(KEY))
