"""Rules of form for what people type: names and emails (PRODUCT.md §1, Input)."""

from __future__ import annotations

import re
import unicodedata

from seatledger.domain.errors import InvalidInput

MAX_NAME_LENGTH = 100
MAX_EXTERNAL_ID_LENGTH = 255  # users.external_id, workspaces.external_id
# NOTE: a name is 1–100 characters of letters (any script), marks, spaces,
# apostrophes (' and ’), hyphens and periods. "Zoë O'Brien-Smith" is valid.
_NAME_PUNCTUATION = {" ", "'", "\u2019", "-", "."}
# NOTE: workspace, profile and account names also allow digits and a few signs
# ("Team 2", "R&D / Ops"); control characters are refused everywhere.
_LABEL_PUNCTUATION = _NAME_PUNCTUATION | set("0123456789&/()+,_:#")

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def check_text(value: object, *, field: str, max_length: int) -> str:
    """One line of free text as typed (a legal name, an address line): NFC, no
    control characters, trimmed, 1 to ``max_length`` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    text = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidInput(f"{field} must not contain control characters", field=field)
    text = text.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters", field=field)
    return text


def _check_text(value: object, *, field: str, allowed_punctuation: set[str]) -> str:
    text = check_text(value, field=field, max_length=MAX_NAME_LENGTH)
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] in ("L", "M") or ch in allowed_punctuation:
            continue
        raise InvalidInput(f"{field} contains a character that is not allowed: {ch!r}", field=field)
    return text


def check_person_name(value: object, *, field: str) -> str:
    """First and last names: letters, marks, spaces, apostrophes, hyphens, periods."""
    return _check_text(value, field=field, allowed_punctuation=_NAME_PUNCTUATION)


def check_display_name(value: object, *, field: str) -> str:
    """Names of accounts, workspaces, profiles, departments."""
    return _check_text(value, field=field, allowed_punctuation=_LABEL_PUNCTUATION)


def normalize_email(value: object, *, field: str = "email") -> tuple[str, str]:
    """Returns ``(email, key)``: the address as given (trimmed) and its
    case-insensitive uniqueness key."""
    if not isinstance(value, str):
        raise InvalidInput("email must be a string", field=field)
    email = value.strip()
    if not email:
        raise InvalidInput("email must not be empty", field=field)
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email:
        raise InvalidInput(f"email {value!r} is not a valid email address", field=field)
    return email, email.casefold()


def check_external_id(value: object, *, field: str = "external_id") -> str | None:
    """An identity provider's id for a user or a group (SCIM ``externalId``):
    None, or one line of 1 to 255 characters, kept as given (case included)."""
    if value is None:
        return None
    return check_text(value, field=field, max_length=MAX_EXTERNAL_ID_LENGTH)
