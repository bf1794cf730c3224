"""One-time codes from an authenticator app (TOTP, RFC 6238, by pyotp) and recovery codes: the
second factor after a password. A code's time step is used once (store.use_time_step), and a
recovery code once (store.use_recovery_code), on any number of replicas."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal, Protocol

import pyotp
import segno

from authserver.models import Account, OneTimeCodeFactor
from authserver.security import Keys

ISSUER_NAME = "HospiAI"
RECOVERY_CODES = 10
# A code of the step before or after the server's also counts (RFC 6238 section 5.2: clock
# drift, and the seconds it takes to type it).
_DRIFT_STEPS = 1
# 16 characters of a 32-letter alphabet without 0/O and 1/I: 80 random bits, so a keyed hash
# (not argon2) is safe at rest, and lets a code be found and used by one conditional UPDATE.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_TYPED = re.compile(r"[\s-]+")

Used = Literal["otp", "recovery"]


class FactorStore(Protocol):
    def one_time_code_factor(self, account_id: str) -> OneTimeCodeFactor | None: ...
    def start_one_time_codes(self, account_id: str, secret_sealed: bytes, now: int) -> bool: ...
    def confirm_one_time_codes(
        self, account_id: str, step: int, recovery_hashes: list[str], now: int
    ) -> bool: ...
    def use_time_step(self, account_id: str, step: int) -> bool: ...
    def use_recovery_code(self, account_id: str, code_hash: str, now: int) -> bool: ...


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as text (typed by hand), and as a QR code."""

    secret: str
    qr_svg: str


def start(store: FactorStore, keys: Keys, account: Account, now: int) -> bool:
    """A new secret waiting for its first code; False if the account has a confirmed app."""
    secret = pyotp.random_base32()
    return store.start_one_time_codes(account.id, keys.seal_factor(account.id, secret), now)


def pending(store: FactorStore, keys: Keys, account: Account) -> Enrolment | None:
    """The enrolment waiting for its first code, if there is one."""
    factor = store.one_time_code_factor(account.id)
    if factor is None or factor.confirmed_at is not None:
        return None
    secret = keys.open_factor(account.id, factor.secret_sealed)
    if secret is None:
        return None
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER_NAME)
    # Inline SVG: an element of the page, so no script and no image request (CSP unchanged).
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return Enrolment(secret, qr_svg)


def confirm(
    store: FactorStore, keys: Keys, account: Account, code: str, now: int
) -> list[str] | None:
    """The first code from the app: the ten recovery codes (shown once, stored as keyed
    hashes), or None if the code is wrong or the enrolment is gone."""
    factor = store.one_time_code_factor(account.id)
    if factor is None or factor.confirmed_at is not None:
        return None
    step = _matching_step(keys, factor, code, now)
    if step is None:
        return None
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    hashes = [keys.hash_secret(_normalise(code)) for code in codes]
    return codes if store.confirm_one_time_codes(account.id, step, hashes, now) else None


def use(store: FactorStore, keys: Keys, account: Account, code: str, now: int) -> Used | None:
    """Which second factor ``code`` was, used now; None if wrong, or used before."""
    factor = store.one_time_code_factor(account.id)
    if factor is None or factor.confirmed_at is None:
        return None
    typed = _normalise(code)
    if typed.isdigit():
        step = _matching_step(keys, factor, typed, now)
        return "otp" if step is not None and store.use_time_step(account.id, step) else None
    if len(typed) == 16 and store.use_recovery_code(account.id, keys.hash_secret(typed), now):
        return "recovery"
    return None


def _matching_step(keys: Keys, factor: OneTimeCodeFactor, code: str, now: int) -> int | None:
    secret = keys.open_factor(factor.account_id, factor.secret_sealed)
    if secret is None or not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    # The latest step first: a code of the step after wins over an older one it also matches.
    for offset in range(_DRIFT_STEPS, -_DRIFT_STEPS - 1, -1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return current + offset
    return None


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[index:index + 4] for index in range(0, 16, 4))


def _normalise(code: str) -> str:
    """As typed: case, spaces and hyphens do not matter."""
    return _TYPED.sub("", code).upper()[:64]
