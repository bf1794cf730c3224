"""Password hashing (argon2id), opaque secret generation, keyed secret hashing, and CSRF."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authserver import password_formats

# 32 random bytes: 256 bits of entropy in every token, code and secret.
_SECRET_BYTES = 32


# Every argon2id computation of the process runs on one of these threads, one per core: more
# at once would only share the cores, and each holds its memory cost (19 MiB) while it runs,
# which the allocator then kept for the thread that asked. From any of the forty worker
# threads, 32 concurrent logins had left the server at 582 MiB (issue 14).
_CORES = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="argon2")


class Passwords:
    """Passwords hashed with argon2id at one cost: hashing, verifying (imported formats too),
    and which hashes are re-hashed at the next successful login. The server runs at
    ``PASSWORDS``; tests give create_app a cheaper cost, so their accounts are not re-hashed."""

    def __init__(self, *, time_cost: int, memory_cost: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=1, type=Type.ID
        )
        # Verified against when the email is unknown, so both failures cost the same time.
        self._dummy = self._hasher.hash("hospiai-timing-equaliser")
        self._cores = _CORES

    def hash(self, password: str) -> str:
        return self._cores.submit(self._hasher.hash, password).result()

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant-effort check: an unknown account still pays one argon2id verification.
        An imported account's hash may be bcrypt, scrypt or PBKDF2 (password_formats)."""
        if password_hash and not password_hash.startswith("$argon2"):
            return password_formats.verify(password_hash, password)
        try:
            verified = self._cores.submit(
                self._hasher.verify, password_hash or self._dummy, password
            ).result()
        except (VerificationError, InvalidHashError):
            return False
        return verified and bool(password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """Not argon2id with this cost: re-hashed at the next successful login."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


# OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
PASSWORDS = Passwords(time_cost=2, memory_cost=19456)


def is_password_hash(password_hash: str) -> bool:
    """A hash Passwords.verify can check: any argon2 hash, or an imported format it reads."""
    if password_hash.startswith("$argon2"):
        try:
            extract_parameters(password_hash)
        except InvalidHashError:
            return False
        return True
    return password_formats.is_known(password_hash)


def new_secret(kind: str) -> str:
    """An opaque secret with a recognisable prefix (so logs can redact it), e.g. hospiai_at_..."""
    return f"hospiai_{kind}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def token_sha256(token: str) -> str:
    """What a resource server's introspection cache knows a token by (mcpserver.auth), and so
    what a revocation event names it by: unkeyed, since the resource server has no key of
    ours, and safe because a token has 256 bits of entropy."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_id(kind: str) -> str:
    """A public, unguessable identifier (not a secret)."""
    return f"{kind}_{secrets.token_urlsafe(16)}"


class Keys:
    """Keys derived from the one configured secret, one per purpose."""

    def __init__(self, secret_key: str) -> None:
        root = secret_key.encode()
        # Keyed once: each hash copies this state instead of keying HMAC again, a third less
        # work for the two hashes of every introspection (the token, the caller's secret).
        self._hashing = hmac.new(_derive(root, b"secret-hash"), digestmod="sha256")
        self._replay_key = _derive(root, b"refresh-replay")
        self._browser_key = _derive(root, b"browser-binding")
        self._login_key = _derive(root, b"login-throttling")
        self._factor_key = _derive(root, b"second-factor-secrets")
        self.cookie_secret = _derive(root, b"cookie-signing").hex()

    def hash_secret(self, value: str) -> str:
        """HMAC-SHA256 of a high-entropy secret: what the database stores instead of it."""
        keyed = self._hashing.copy()
        keyed.update(value.encode())
        return keyed.hexdigest()

    def login_key(self, email: str) -> str:
        """What login throttling counts an email's failures under: a fixed-size key that is
        not the address (anything may be typed into the email box, of any length)."""
        return hmac.new(self._login_key, email.encode(), "sha256").hexdigest()

    def csrf_token(self, browser_id: str) -> str:
        return hmac.new(self._browser_key, b"csrf:" + browser_id.encode(), "sha256").hexdigest()

    def check_csrf(self, browser_id: str | None, token: str | None) -> bool:
        if not browser_id or not token:
            return False
        return hmac.compare_digest(self.csrf_token(browser_id).encode(), token.encode())

    def browser_binding(self, browser_id: str) -> str:
        return hmac.new(self._browser_key, b"bind:" + browser_id.encode(), "sha256").hexdigest()

    def seal_replay(self, refresh_token: str, response: dict[str, object]) -> bytes:
        """Encrypt a token response under a key only the spent refresh token can rebuild."""
        nonce = os.urandom(12)
        return nonce + AESGCM(self._replay_cipher_key(refresh_token)).encrypt(
            nonce, json.dumps(response).encode(), None
        )

    def open_replay(self, refresh_token: str, sealed: bytes) -> dict[str, object] | None:
        try:
            plain = AESGCM(self._replay_cipher_key(refresh_token)).decrypt(
                sealed[:12], sealed[12:], None
            )
        except InvalidTag:
            return None
        loaded: dict[str, object] = json.loads(plain)
        return loaded

    def seal_factor(self, account_id: str, secret: str) -> bytes:
        """Encrypt a TOTP shared secret for its account: the server must read it back to check a
        code, so it is sealed, not hashed; bound to the account, a row copied to another
        account does not open."""
        nonce = os.urandom(12)
        return nonce + AESGCM(self._factor_key).encrypt(
            nonce, secret.encode(), account_id.encode()
        )

    def open_factor(self, account_id: str, sealed: bytes) -> str | None:
        try:
            plain = AESGCM(self._factor_key).decrypt(sealed[:12], sealed[12:], account_id.encode())
        except InvalidTag:
            return None
        return plain.decode()

    def _replay_cipher_key(self, refresh_token: str) -> bytes:
        return hmac.new(self._replay_key, refresh_token.encode(), hashlib.sha256).digest()


def _derive(root: bytes, label: bytes) -> bytes:
    return hmac.new(root, label, hashlib.sha256).digest()
