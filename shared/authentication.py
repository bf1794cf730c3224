"""How a user signed in, as access tokens carry it (RFC 9470 `acr` and `auth_time`, RFC 8176
`amr` values): the levels the authorization server records and resource servers require."""

from __future__ import annotations

from collections.abc import Collection

# Signed in with one factor (a password, or a passkey that did not verify its user); with two
# (a password and a one-time code or a passkey, or a passkey that verified its user).
ACR_PASSWORD = "urn:hospiai:acr:password"
ACR_MFA = "urn:hospiai:acr:mfa"
# Every level, weakest first: what the authorization server's metadata lists
# (acr_values_supported) and the only values /authorize accepts in acr_values.
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)

# The RFC 8176 values that are a factor each: a password, a one-time code, a key in hardware
# or software (a passkey). "user" (presence) is not one; "mfa" says the method was several.
_FACTORS = frozenset({"pwd", "otp", "hwk", "swk"})


def acr_of(amr: Collection[str]) -> str:
    """The level a sign-in by these methods amounts to: two factors, or one that is two by
    itself ("mfa": a passkey that verified its user), is mfa."""
    return ACR_MFA if "mfa" in amr or len(_FACTORS.intersection(amr)) > 1 else ACR_PASSWORD
