"""Locales for documents, as Babel (CLDR) knows them."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from seatledger.domain.errors import InvalidInput


def check_locale(value: object) -> str:
    """A CLDR locale identifier (``en``, ``de_DE``, ``fr-CH``), kept as given in its
    canonical form (``de_DE``); an unknown one is a 422 naming ``locale``."""
    if not isinstance(value, str) or not 0 < len(value) <= 35:
        raise InvalidInput("locale must be a locale identifier such as en or de_DE", field="locale")
    try:
        return str(Locale.parse(value, sep="-" if "-" in value else "_"))
    except (ValueError, UnknownLocaleError):
        raise InvalidInput(f"unknown locale {value!r}", field="locale") from None
