"""Hashes for what we never store in clear: passwords and bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# NOTE: argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile:
# t=3, 64 MiB, p=4); each hash records its parameters, so raising them later
# rehashes old passwords at their next sign-in (``password_needs_rehash``).
_ARGON2 = PasswordHasher()
# Rows written before argon2id hold scrypt hashes (n=2**14, r=8, p=1): still
# verified, and rehashed with argon2id at the next sign-in.
_SCRYPT_PREFIX = "scrypt$"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_token(token: str) -> str:
    """Tokens are high-entropy random strings: one SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _ARGON2.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """A password against its stored hash. No hash (a user who never set a
    password) verifies against a dummy hash, so it costs as long as a wrong
    password and the answer's timing tells nothing."""
    if stored and stored.startswith(_SCRYPT_PREFIX):
        return _verify_scrypt(password, stored)
    try:
        return _ARGON2.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored: str) -> bool:
    return stored.startswith(_SCRYPT_PREFIX) or _ARGON2.check_needs_rehash(stored)


@cache
def _dummy_hash() -> str:
    return _ARGON2.hash("no user has this password")


def _verify_scrypt(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 3:
        return False
    _, salt_b64, digest_b64 = parts
    digest = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt_b64), n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))
