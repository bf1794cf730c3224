"""How a user signed in, as access tokens carry it (RFC 9470 `acr` and `auth_time`, RFC 8176
`amr` values): the levels the authorization server records and resource servers require."""

from __future__ import annotations

# Signed in with a password alone; with a second factor (a one-time code or a passkey).
ACR_PASSWORD = "urn:hospiai:acr:password"
ACR_MFA = "urn:hospiai:acr:mfa"
