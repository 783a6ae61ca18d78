"""Opaque ids: a type prefix and 20 random base32 characters (``usr_…``)."""

from __future__ import annotations

import base64
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(15)).decode().lower()}"


def new_token(prefix: str) -> str:
    """A secret shown once (operator keys, setup and invitation tokens)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"
