"""Passkeys (WebAuthn Level 2, by py_webauthn): the options a browser needs to register one or
to sign in with one, and the check of what its authenticator answered. The relying party is the
issuer: its host name is the RP ID and its origin the only origin accepted, so `make run`
(http://localhost:9000) works as a deployment does. The challenges are the caller's
(web.passkey_challenges keeps them single-use)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authserver.models import Account, Passkey
from authserver.security import new_id

RP_NAME = "HospiAI"
# What the browser gives the user to answer (milliseconds); the challenge lives a little longer.
TIMEOUT_MS = 120_000
NAME_LENGTH = 60
# Far more than any authenticator's answer (a few kilobytes); refused before it is parsed.
_CREDENTIAL_LENGTH = 32_768
# What a forged or broken answer raises in py_webauthn, or in reading it (deep JSON nesting).
_UNREADABLE = (WebAuthnException, ValueError, KeyError, TypeError, RecursionError)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party(issuer: str) -> RelyingParty | None:
    """The issuer as a WebAuthn relying party; None when its host is an IP address, which
    browsers refuse as an RP ID (passkeys are then not offered)."""
    parts = urlsplit(issuer)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return RelyingParty(host, f"{parts.scheme}://{parts.netloc}") if host else None
    return None


def _verification(required: bool) -> UserVerificationRequirement:
    # Required: the authenticator checks a PIN or a biometric, a second factor by itself.
    return (
        UserVerificationRequirement.REQUIRED if required
        else UserVerificationRequirement.PREFERRED
    )


def registration_options(
    rp: RelyingParty, account: Account, existing: list[Passkey], challenge: bytes,
    verify_user: bool,
) -> str:
    """The browser's navigator.credentials.create() options, as JSON: a discoverable
    credential (it signs in without an email typed), and none on an authenticator that already
    holds one of the account's."""
    options = webauthn.generate_registration_options(
        rp_id=rp.id, rp_name=RP_NAME, user_name=account.email,
        # The account's random id, never its email: authenticators may show and sync it.
        user_id=account.id.encode(),
        user_display_name=f"{account.given_name} {account.family_name}".strip() or account.email,
        challenge=challenge, timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=_verification(verify_user),
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=passkey.credential_id) for passkey in existing
        ],
    )
    return webauthn.options_to_json(options)


def register(
    rp: RelyingParty, account: Account, name: str, credential: str, challenge: bytes,
    verify_user: bool, now: int,
) -> Passkey | None:
    """The passkey the browser created for ``challenge``; None if its answer does not verify
    (no attestation is asked for: which authenticator it is changes nothing here)."""
    try:
        verified = webauthn.verify_registration_response(
            credential=_json_object(credential), expected_challenge=challenge,
            expected_rp_id=rp.id, expected_origin=rp.origin,
            require_user_verification=verify_user,
        )
    except _UNREADABLE:
        return None
    return Passkey(
        id=new_id("pk"), account_id=account.id, credential_id=verified.credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        name=name.strip()[:NAME_LENGTH] or "Passkey",
        device_type=verified.credential_device_type.value, created_at=now,
    )


def authentication_options(
    rp: RelyingParty, challenge: bytes, verify_user: bool, allowed: list[Passkey] | None = None
) -> str:
    """navigator.credentials.get() options: any passkey of this site (sign-in, the account not
    yet known) or one of ``allowed`` (the second step of a known account)."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.id, challenge=challenge, timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=passkey.credential_id) for passkey in allowed or []
        ],
        user_verification=_verification(verify_user),
    )
    return webauthn.options_to_json(options)


def credential_id(credential: str) -> bytes | None:
    """The credential an assertion says it is from (to find its passkey); None if unreadable."""
    try:
        return parse_authentication_credential_json(_json_object(credential)).raw_id
    except _UNREADABLE:
        return None


@dataclass(frozen=True)
class Assertion:
    """A verified assertion: the count the authenticator reported, and the RFC 8176 amr values
    it is worth."""

    sign_count: int
    amr: tuple[str, ...]


def verify(
    rp: RelyingParty, passkey: Passkey, credential: str, challenge: bytes, verify_user: bool
) -> Assertion | None:
    """The assertion checked against ``challenge``, the passkey's public key and its sign count
    (a count that did not move forwards is a cloned authenticator: refused); None if any check
    fails."""
    try:
        parsed = parse_authentication_credential_json(_json_object(credential))
        if parsed.response.user_handle not in (None, passkey.account_id.encode()):
            return None  # the authenticator's account for this credential is another one
        verified = webauthn.verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=verify_user,
        )
    except _UNREADABLE:
        return None
    # A synced passkey is a software-secured key, one bound to its device a hardware one;
    # py_webauthn refuses any assertion without user presence ("user"); user verification
    # (a PIN or biometric on the authenticator) makes it multi-factor by itself ("mfa").
    synced = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    amr = ("swk" if synced else "hwk", "user", *(("mfa",) if verified.user_verified else ()))
    return Assertion(verified.new_sign_count, amr)


class PasskeyStore(Protocol):
    def passkey_used(
        self, passkey_id: str, seen_count: int, new_count: int, now: int
    ) -> bool: ...


def use(
    store: PasskeyStore, rp: RelyingParty, passkey: Passkey, credential: str, challenge: bytes,
    verify_user: bool, now: int,
) -> Assertion | None:
    """``verify``, and the new sign count recorded; None if either fails (another use of the
    passkey moved the count meanwhile: one of the two is a clone)."""
    assertion = verify(rp, passkey, credential, challenge, verify_user)
    if assertion is None or not store.passkey_used(
        passkey.id, passkey.sign_count, assertion.sign_count, now
    ):
        return None
    return assertion


def _json_object(credential: str) -> dict[str, object]:
    if len(credential) > _CREDENTIAL_LENGTH:
        raise ValueError("too long for a credential")
    value = json.loads(credential)
    if not isinstance(value, dict):
        raise ValueError("a credential is a JSON object")
    return value
