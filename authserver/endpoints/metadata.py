"""Authorization server metadata (RFC 8414), also served at the OpenID Connect discovery path."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver.context import get_context
from authserver.oauth.clients import ASSERTION_ALGS, AUTH_METHODS, GRANT_TYPES, RESPONSE_TYPES
from authserver.oauth.service import GRANT_TYPE
from authserver.settings import Settings
from shared import scopes
from shared.authentication import ACR_VALUES


def metadata_document(settings: Settings) -> dict[str, Any]:
    issuer = settings.issuer
    document: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "scopes_supported": list(scopes.NAMES),
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": ["query"],
        "grant_types_supported": (
            [*GRANT_TYPES, GRANT_TYPE] if settings.service_api_enabled else GRANT_TYPES
        ),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": settings.metadata_documents_enabled,
        # The levels /authorize honours in acr_values (RFC 9470 section 4), the only ones it
        # accepts (OpenID Connect Discovery 1.0 section 3).
        "acr_values_supported": list(ACR_VALUES),
    }
    if settings.registration_enabled:
        document["registration_endpoint"] = f"{issuer}/register"
    return document


async def authorization_server_metadata(request: Request) -> Response:
    return JSONResponse(
        metadata_document(get_context(request).settings),
        headers={"Cache-Control": "public, max-age=300"},
    )
