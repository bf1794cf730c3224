"""Authorization server metadata (RFC 8414) at both discovery paths."""

from __future__ import annotations

from shared import scopes
from shared.authentication import ACR_MFA, ACR_PASSWORD
from tests.harness import AuthServer


def test_metadata_is_served_at_both_paths(auth_server: AuthServer) -> None:
    with auth_server.http() as http:
        oauth = http.get("/.well-known/oauth-authorization-server")
        oidc = http.get("/.well-known/openid-configuration")
    assert oauth.status_code == oidc.status_code == 200
    assert oauth.json() == oidc.json()
    document = oauth.json()
    issuer = auth_server.settings.issuer
    assert document["issuer"] == issuer
    for name, path in (("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("introspection_endpoint", "/introspect"),
                       ("revocation_endpoint", "/revoke"),
                       ("registration_endpoint", "/register")):
        assert document[name] == issuer + path
    assert document["scopes_supported"] == list(scopes.NAMES)
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "none", "client_secret_basic", "client_secret_post", "private_key_jwt"
    ]
    assert document["revocation_endpoint_auth_methods_supported"] == [
        "none", "client_secret_basic", "client_secret_post", "private_key_jwt"
    ]
    # RFC 7523 assertions: asymmetric algorithms only, never none nor HMAC.
    for name in ("token_endpoint_auth_signing_alg_values_supported",
                 "revocation_endpoint_auth_signing_alg_values_supported"):
        algs = document[name]
        assert {"RS256", "PS256", "ES256"} <= set(algs)
        assert not [alg for alg in algs if alg == "none" or alg.startswith("HS")]
    assert document["authorization_response_iss_parameter_supported"] is True
    # RFC 9470 section 4: the levels a client may ask for in acr_values.
    assert document["acr_values_supported"] == [ACR_PASSWORD, ACR_MFA]


def test_advertised_endpoints_exist(auth_server: AuthServer) -> None:
    with auth_server.http() as http:
        document = http.get("/.well-known/oauth-authorization-server").json()
        for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint",
                     "registration_endpoint"):
            response = http.post(document[name].removeprefix(auth_server.url))
            assert response.status_code != 404, name
        assert http.get(document["authorization_endpoint"].removeprefix(auth_server.url)
                        ).status_code == 400
