"""A document party's reference data: which countries exist (ISO 3166-1, from
Babel's CLDR) and which VAT ids pass their country's check (python-stdnum)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from babel import Locale
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from seatledger.domain.errors import InvalidInput
from seatledger.domain.parties import Party, party_as_typed

# NOTE: CLDR names regions ISO 3166-1 assigns to no country: exceptionally reserved
# codes (AC, CP, CQ, DG, EA, EU, EZ, IC, TA, UN), user-assigned ones (QO, XA, XB, XK,
# ZZ). The rest of its two-letter codes are the 249 of ISO 3166-1 alpha-2.
_NOT_ISO_3166_1 = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "TA", "UN", "QO", "XA", "XB", "XK", "ZZ"}
)
COUNTRIES = (
    frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha())
    - _NOT_ISO_3166_1
)
# NOTE: an EU VAT id starts with its member state's prefix: the ISO code, but EL for
# Greece, and XI for Northern Ireland (GB), which keeps EU VAT rules for goods.
_EU_VAT_PREFIXES: dict[str, str] = {
    ("EL" if cc == "gr" else cc.upper()): ("GB" if cc == "xi" else cc.upper())
    for cc in eu_vat.MEMBER_STATES
}
VAT_ID_MAX_LENGTH = 20  # compact, prefix included (seller_settings.vat_id)
_SEPARATORS = re.compile(r"[\s.\-/]")


def check_party(
    raw: Mapping[str, object], *, field_prefix: str = "", vat_id_required: bool = False
) -> Party:
    """A party as typed (``domain.parties.party_as_typed``) whose country is an ISO
    3166-1 code and whose VAT id, if any, passes its country's check; the VAT id is
    kept in its compact form with its prefix."""
    party = party_as_typed(raw, field_prefix=field_prefix, vat_id_required=vat_id_required)
    country = check_country(party.country, field=f"{field_prefix}country")
    if party.vat_id is None:
        return party
    return replace(party, vat_id=check_vat_id(party.vat_id, country, field=f"{field_prefix}vat_id"))


def check_country(value: str, *, field: str) -> str:
    if value not in COUNTRIES:
        raise InvalidInput(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code such as DE or FR", field=field
        )
    return value


def check_vat_id(value: str, country: str, *, field: str) -> str:
    """``value`` as a VAT id of ``country``: its prefix names that country (EU ids
    always carry one) and it passes the check python-stdnum has for it; a country
    with no such check keeps any id of letters and digits."""
    number = _SEPARATORS.sub("", value).upper()
    prefix = number[:2]
    if prefix in _EU_VAT_PREFIXES:
        if _EU_VAT_PREFIXES[prefix] != country:
            raise InvalidInput(
                f"vat_id {value!r} is a VAT id of {_EU_VAT_PREFIXES[prefix]}, not of {country}",
                field=field,
            )
        return _compact(_validated(eu_vat, number, value, country, field=field), field=field)
    if country in _EU_VAT_PREFIXES.values() and country != "GB":
        expected = next(p for p, c in _EU_VAT_PREFIXES.items() if c == country)
        raise InvalidInput(
            f"vat_id {value!r}: a VAT id of {country} starts with {expected}", field=field
        )
    module = get_cc_module(country.lower(), "vat")
    if module is None:
        if not number.isalnum():
            raise InvalidInput(f"vat_id {value!r} must be letters and digits", field=field)
        compact = number
    elif number.startswith(country) and not module.is_valid(number):
        compact = _validated(module, number[2:], value, country, field=field)
    else:
        compact = _validated(module, number, value, country, field=field)
    return _compact(compact if compact.startswith(country) else country + compact, field=field)


def _validated(module: object, number: str, value: str, country: str, *, field: str) -> str:
    try:
        return str(module.validate(number))  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise InvalidInput(
            f"vat_id {value!r} is not a valid VAT id of {country}: {exc}", field=field
        ) from None


def _compact(number: str, *, field: str) -> str:
    if len(number) > VAT_ID_MAX_LENGTH:
        raise InvalidInput(
            f"vat_id is longer than {VAT_ID_MAX_LENGTH} characters in its compact form",
            field=field,
        )
    return number
