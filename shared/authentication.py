"""How a user signed in, as access tokens carry it (RFC 9470 `acr` and `auth_time`, RFC 8176
`amr` values): the levels the authorization server records and resource servers require."""

from __future__ import annotations

from collections.abc import Collection

# Signed in with one factor (a password, or a passkey that did not verify its user); with two
# (a password and a one-time code or a passkey, or a passkey that verified its user).
ACR_PASSWORD = "urn:hospiai:acr:password"
ACR_MFA = "urn:hospiai:acr:mfa"

# The RFC 8176 values that are a factor each: a password, a one-time code, a key in hardware
# or software (a passkey). "user" (presence) is not one; "mfa" says the method was several.
_FACTORS = frozenset({"pwd", "otp", "hwk", "swk"})


def acr_of(amr: Collection[str]) -> str:
    """The level of a sign-in by its amr values."""
    return ACR_MFA if "mfa" in amr or len(_FACTORS.intersection(amr)) > 1 else ACR_PASSWORD
