"""The rules for a metadata document's authentication method and keys (CIMD section 4 and 8.4,
RFC 7591 section 2, RFC 7523), and which keys of a JWK Set are usable, one rule at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jwk

from authserver.oauth.cimd import document_columns
from authserver.oauth.egress import FetchError
from authserver.oauth.jwks import public_keys
from tests.chatgpt import CHATGPT, JWKS_URI, KEY, chatgpt_document, key_set, short_rsa_key


def _columns(**changes: object) -> dict[str, Any]:
    return document_columns(CHATGPT, json.dumps(chatgpt_document(**changes)).encode(), frozenset())


def test_chatgpts_document_keeps_its_method_keys_and_algorithm() -> None:
    columns = _columns()
    assert columns["token_endpoint_auth_method"] == "private_key_jwt"
    assert columns["extra_metadata"]["jwks_uri"] == JWKS_URI
    assert columns["extra_metadata"]["token_endpoint_auth_signing_alg"] == "RS256"
    inline = _columns(jwks_uri=None, jwks=key_set(KEY))
    assert inline["extra_metadata"]["jwks"] == key_set(KEY)


def test_a_public_document_keeps_no_keys() -> None:
    columns = _columns(token_endpoint_auth_method=None)
    assert columns["token_endpoint_auth_method"] == "none"
    assert not {"jwks", "jwks_uri", "token_endpoint_auth_signing_alg"} & set(
        columns["extra_metadata"]
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"jwks_uri": None}, "exactly one of jwks_uri and jwks"),
        ({"jwks": key_set(KEY)}, "exactly one of jwks_uri and jwks"),
        ({"token_endpoint_auth_signing_alg": "HS256"}, "token_endpoint_auth_signing_alg"),
        ({"token_endpoint_auth_signing_alg": "none"}, "token_endpoint_auth_signing_alg"),
        ({"token_endpoint_auth_signing_alg": ["RS256"]}, "token_endpoint_auth_signing_alg"),
        ({"jwks_uri": "http://chatgpt.com/oauth/jwks.json"}, "jwks_uri must be an https URL"),
        ({"jwks_uri": "https://chatgpt.com/oauth/jwks.json?v=2"}, "jwks_uri must not contain"),
        ({"jwks_uri": "https://chatgpt.com:8443/jwks.json"}, "default https port"),
        ({"jwks_uri": 42}, "jwks_uri"),
        ({"jwks_uri": None, "jwks": {"keys": [jwk.OctKey.generate_key(256).as_dict()]}},
         "jwks cannot be used"),
        ({"jwks_uri": None, "jwks": {"keys": [short_rsa_key()]}}, "jwks cannot be used"),
        ({"jwks_uri": None, "jwks": [KEY.as_dict(private=False)]}, "not a JWK Set"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "token_endpoint_auth_method none"),
        ({"token_endpoint_auth_method": "client_secret_post"}, "token_endpoint_auth_method none"),
    ],
)
def test_a_document_with_unusable_keys_is_refused(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(FetchError) as refused:
        _columns(**changes)
    assert reason in refused.value.description


def test_only_public_asymmetric_signature_keys_are_kept() -> None:
    private = jwk.ECKey.generate_key("P-256", {"kid": "ec"})
    keys = public_keys({"keys": [
        private.as_dict(private=True),
        {**KEY.as_dict(private=False), "use": "enc", "kid": "for-encryption"},
        jwk.OctKey.generate_key(256, {"kid": "shared"}).as_dict(),
        short_rsa_key(),
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not a key",
        KEY.as_dict(private=False),
    ]})
    assert [key.kid for key in keys] == ["ec", KEY.kid]
    # The private part a document carried by mistake is not kept.
    assert all(not key.is_private for key in keys)
