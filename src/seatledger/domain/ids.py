"""Opaque ids: a type prefix and 24 random base32 characters (``usr_…``).

``is_id`` and ``is_token`` state the form ``new_id`` and ``new_token`` give, so
that a string of any other form is known to name nothing without a lookup.
"""

from __future__ import annotations

import base64
import re
import secrets

# 15 random bytes are 24 base32 characters (5 bytes per 8 characters: no padding).
ID_FORM = re.compile(r"[a-z]+_[a-z2-7]{24}")
# token_urlsafe(32): 32 random bytes, 43 URL-safe base64 characters (no padding).
TOKEN_FORM = re.compile(r"[a-z]+_[A-Za-z0-9_-]{43}")


def new_id(prefix: str) -> str:
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(15)).decode().lower()}"


def new_token(prefix: str) -> str:
    """A secret shown once (operator keys, setup and invitation tokens)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def is_id(value: str) -> bool:
    return ID_FORM.fullmatch(value) is not None


def is_token(value: str) -> bool:
    return TOKEN_FORM.fullmatch(value) is not None
