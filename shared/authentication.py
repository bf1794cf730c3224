"""How a user signed in, as access tokens carry it (RFC 9470 `acr` and `auth_time`, RFC 8176
`amr` values): the levels the authorization server records and resource servers require."""

from __future__ import annotations

from collections.abc import Sequence

# Signed in with a password alone; with a second factor (a one-time code or a passkey).
ACR_PASSWORD = "urn:hospiai:acr:password"
ACR_MFA = "urn:hospiai:acr:mfa"
# Every level, weakest first: what the authorization server's metadata lists
# (acr_values_supported) and the only values /authorize accepts in acr_values.
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)


def acr_of(amr: Sequence[str]) -> str:
    """The level a sign-in by these methods amounts to: a password and anything more is mfa."""
    return ACR_MFA if len(amr) > 1 else ACR_PASSWORD
