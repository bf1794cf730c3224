"""OAuth error classes Authlib does not define."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

__all__ = [
    "InvalidClientMetadataError",
    "InvalidRedirectURIError",
    "InvalidTargetError",
    "TemporarilyUnavailableError",
]


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 section 2: the requested resource is invalid, unknown or malformed."""

    error = "invalid_target"


class TemporarilyUnavailableError(OAuth2Error):  # type: ignore[misc]
    """Too many requests: 429 with Retry-After (RFC 6585 section 4). RFC 6749 has no code for
    a rate limit; temporarily_unavailable (section 4.1.2.1) is the one that tells a client to
    try again later rather than that its request is wrong, and RFC 7591 clients that know
    only its codes then show the description."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description=description)
        self.retry_after = retry_after

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        return [*headers, ("Retry-After", str(self.retry_after))]
