"""Hashes for what we never store in clear: passwords and bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets

# NOTE: scrypt parameters (n=2**14, r=8, p=1): ~16 MiB and a few ms per hash.
_N, _R, _P = 2**14, 8, 1


def hash_token(token: str) -> str:
    """Tokens are high-entropy random strings: one SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = _secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_b64, digest_b64 = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=_N, r=_R, p=_P)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))
