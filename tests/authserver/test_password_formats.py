"""Imported password hashes: each encoding verifies the right password only, and a hash whose
parameters would make a login expensive is not one this server reads."""

from __future__ import annotations

import pytest

from authserver import password_formats
from authserver.security import PASSWORDS, is_password_hash
from tests.legacy_hashes import legacy_hashes

HASHES = legacy_hashes("correct-horse-battery")


@pytest.mark.parametrize("name", sorted(HASHES))
def test_each_format_verifies_only_its_password(name: str) -> None:
    password_hash = HASHES[name]
    assert is_password_hash(password_hash)
    assert PASSWORDS.verify(password_hash, "correct-horse-battery")
    assert not PASSWORDS.verify(password_hash, "correct-horse-batterz")
    assert not PASSWORDS.verify(password_hash, "")
    assert PASSWORDS.needs_rehash(password_hash)


def test_our_own_hash_needs_no_rehash() -> None:
    assert not PASSWORDS.needs_rehash(PASSWORDS.hash("correct-horse-battery"))


def test_bcrypt_reads_the_first_72_bytes_as_it_always_did() -> None:
    long = "x" * 72
    password_hash = legacy_hashes(long)["bcrypt-2b"]
    assert PASSWORDS.verify(password_hash, long + "anything after the 72nd byte")


@pytest.mark.parametrize(
    "password_hash",
    [
        "",
        "plain-text-password",
        "5f4dcc3b5aa765d61d8327deb882cf99",  # an unsalted MD5 is not a password hash
        "$argon2id$v=19$m=8,t=1,p=1$not-base64",
        "$2b$03$" + "a" * 53,  # bcrypt below its minimum cost
        "pbkdf2:md5:1000$salt$" + "ab" * 16,  # a digest nobody should use
        "pbkdf2:sha256:10000000$salt$" + "ab" * 32,  # too many iterations to afford per login
        "scrypt:1048576:64:16$salt$" + "ab" * 32,  # gigabytes of memory per login
        "scrypt:1000:8:1$salt$" + "ab" * 32,  # n is not a power of two
        "pbkdf2_sha256$1000$salt$***",
        "pbkdf2:sha256:1000$salt$",
    ],
)
def test_hashes_it_cannot_afford_or_read_are_refused(password_hash: str) -> None:
    assert not is_password_hash(password_hash)
    assert not password_formats.verify(password_hash, "")
    assert not PASSWORDS.verify(password_hash, "correct-horse-battery")
