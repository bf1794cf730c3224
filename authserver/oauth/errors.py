"""OAuth error classes Authlib does not define."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

__all__ = ["InvalidClientMetadataError", "InvalidRedirectURIError", "InvalidTargetError"]


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 section 2: the requested resource is invalid, unknown or malformed."""

    error = "invalid_target"
