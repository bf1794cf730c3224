"""Password hashes as other web applications store them (bcrypt, scrypt, PBKDF2), verified with
bcrypt and hashlib, so that imported accounts keep their passwords until their next login
re-hashes them to argon2id. Argon2 hashes are argon2-cffi's own and are not read here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable

import bcrypt

# What an imported hash may make one login cost: a file with absurd parameters would otherwise
# turn every login of that account into a denial of service.
MAX_PBKDF2_ITERATIONS = 5_000_000
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
# bcrypt reads only the first 72 bytes of a password; the bcrypt library refuses longer ones
# rather than cut them, so they are cut here as the application that made the hash did.
_BCRYPT_INPUT_BYTES = 72
_DIGESTS = {"sha1", "sha256", "sha512"}

# A password check, once a hash is read: None when the hash is not one of ours to check.
Check = Callable[[bytes], bool]


def _ab64(text: str) -> bytes:
    """passlib's "adapted base64": '.' for '+', no padding."""
    return _b64(text.replace(".", "+"))


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _pbkdf2(digest: str, salt: bytes, rounds: str, expected: bytes) -> Check | None:
    if digest not in _DIGESTS or not 1 <= int(rounds) <= MAX_PBKDF2_ITERATIONS or not expected:
        return None

    def check(password: bytes) -> bool:
        derived = hashlib.pbkdf2_hmac(digest, password, salt, int(rounds), len(expected))
        return hmac.compare_digest(derived, expected)

    return check


def _scrypt(salt: bytes, n: int, r: str, p: str, expected: bytes) -> Check | None:
    cost, parallel = int(r), int(p)
    # What hashlib.scrypt allocates: 128 * r * (n + p) bytes.
    memory = 128 * cost * (n + parallel)
    if n < 2 or n & (n - 1) or not 1 <= cost <= 64 or not 1 <= parallel <= 16:
        return None
    if memory > MAX_SCRYPT_MEMORY or not expected:
        return None

    def check(password: bytes) -> bool:
        derived = hashlib.scrypt(
            password, salt=salt, n=n, r=cost, p=parallel, dklen=len(expected),
            maxmem=memory + 1024 * 1024,
        )
        return hmac.compare_digest(derived, expected)

    return check


def _bcrypt(password_hash: str) -> Check:
    encoded = password_hash.encode()
    return lambda password: bcrypt.checkpw(password[:_BCRYPT_INPUT_BYTES], encoded)


# Each encoding: the pattern of the whole hash, and the check it reads from its groups.
_SCHEMES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Check | None]], ...] = (
    # bcrypt, as every library writes it.
    (re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}"), lambda m: _bcrypt(m[0])),
    # Werkzeug (Flask): pbkdf2:sha256:600000$salt$hex, scrypt:32768:8:1$salt$hex.
    (
        re.compile(r"pbkdf2:(\w+):(\d{1,8})\$([^$]+)\$([0-9a-f]+)"),
        lambda m: _pbkdf2(m[1], m[3].encode(), m[2], bytes.fromhex(m[4])),
    ),
    (
        re.compile(r"scrypt:(\d{1,8}):(\d{1,3}):(\d{1,3})\$([^$]+)\$([0-9a-f]+)"),
        lambda m: _scrypt(m[4].encode(), int(m[1]), m[2], m[3], bytes.fromhex(m[5])),
    ),
    # Django: pbkdf2_sha256$870000$salt$base64, scrypt$16384$salt$8$1$base64.
    (
        re.compile(r"pbkdf2_(\w+)\$(\d{1,8})\$([^$]+)\$([A-Za-z0-9+/=]+)"),
        lambda m: _pbkdf2(m[1], m[3].encode(), m[2], _b64(m[4])),
    ),
    (
        re.compile(r"scrypt\$(\d{1,8})\$([^$]+)\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]+)"),
        lambda m: _scrypt(m[2].encode(), int(m[1]), m[3], m[4], _b64(m[5])),
    ),
    # passlib (modular crypt format): $pbkdf2-sha256$29000$salt$hash, $scrypt$ln=16,r=8,p=1$..,
    # salt and hash in adapted base64.
    (
        re.compile(r"\$pbkdf2-(\w+)\$(\d{1,8})\$([./A-Za-z0-9]+)\$([./A-Za-z0-9]+)"),
        lambda m: _pbkdf2(m[1], _ab64(m[3]), m[2], _ab64(m[4])),
    ),
    (
        re.compile(r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([./A-Za-z0-9]*)\$([./A-Za-z0-9]+)"),
        lambda m: _scrypt(_ab64(m[4]), 2 ** int(m[1]), m[2], m[3], _ab64(m[5])),
    ),
)


def _checker(password_hash: str) -> Check | None:
    """The check of a hash in a known encoding with affordable parameters; None otherwise."""
    for pattern, read in _SCHEMES:
        match = pattern.fullmatch(password_hash)
        if match is not None:
            try:
                return read(match)
            except (ValueError, binascii.Error):
                return None
    return None


def is_known(password_hash: str) -> bool:
    """The hash is in one of the encodings above, with parameters a login can afford (read
    only: nothing is computed, so an import of many accounts costs no hashing)."""
    return _checker(password_hash) is not None


def verify(password_hash: str, password: str) -> bool:
    check = _checker(password_hash)
    return check is not None and check(password.encode())
