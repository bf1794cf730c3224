"""Password hashes in the encodings other web applications store, made with the libraries
those applications use (bcrypt, argon2-cffi, hashlib), at their cheapest honest cost."""

from __future__ import annotations

import base64
import hashlib
import secrets

import bcrypt
from argon2 import PasswordHasher
from argon2.low_level import Type


def _ab64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=").replace("+", ".")


def legacy_hashes(password: str) -> dict[str, str]:
    """One hash of ``password`` per encoding password_formats reads, by a readable name."""
    secret = password.encode()
    salt = secrets.token_hex(8)
    raw_salt = secrets.token_bytes(16)
    b2b = bcrypt.hashpw(secret, bcrypt.gensalt(rounds=4)).decode()
    pbkdf2 = hashlib.pbkdf2_hmac("sha256", secret, salt.encode(), 1000)
    scrypt = hashlib.scrypt(secret, salt=salt.encode(), n=1024, r=8, p=1, dklen=64)
    pbkdf2_512 = hashlib.pbkdf2_hmac("sha512", secret, raw_salt, 1000)
    scrypt_32 = hashlib.scrypt(secret, salt=raw_salt, n=1024, r=8, p=1, dklen=32)
    return {
        "bcrypt-2b": b2b,
        "bcrypt-2a": bcrypt.hashpw(secret, bcrypt.gensalt(rounds=4, prefix=b"2a")).decode(),
        # PHP's password_hash writes $2y$; the same algorithm as $2b$.
        "bcrypt-2y": "$2y$" + b2b.removeprefix("$2b$"),
        "argon2id": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password),
        "argon2i": PasswordHasher(
            time_cost=1, memory_cost=8, parallelism=1, type=Type.I
        ).hash(password),
        "werkzeug-pbkdf2": f"pbkdf2:sha256:1000${salt}${pbkdf2.hex()}",
        "werkzeug-scrypt": f"scrypt:1024:8:1${salt}${scrypt.hex()}",
        "django-pbkdf2": f"pbkdf2_sha256$1000${salt}${base64.b64encode(pbkdf2).decode()}",
        "django-scrypt": f"scrypt$1024${salt}$8$1${base64.b64encode(scrypt).decode()}",
        "passlib-pbkdf2": f"$pbkdf2-sha512$1000${_ab64(raw_salt)}${_ab64(pbkdf2_512)}",
        "passlib-scrypt": f"$scrypt$ln=10,r=8,p=1${_ab64(raw_salt)}${_ab64(scrypt_32)}",
    }
