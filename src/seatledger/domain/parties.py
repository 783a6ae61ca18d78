"""The parties on a document: the seller (the installation, set by an operator) and
the buyer (the account's billing details), PRODUCT.md §5 Documents. A document keeps
both as they were when it was issued."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from seatledger.domain.errors import InvalidInput
from seatledger.domain.names import check_text, normalize_email


@dataclass(frozen=True)
class Party:
    legal_name: str
    address_lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    vat_id: str | None = None  # compact form, with its country prefix ("DE123456789")
    email: str | None = None


# NOTE: the sizes a document's party is printed and stored in: EN 16931 gives an
# address three lines (BT-35, BT-36, BT-162); the rest are the columns of
# seller_settings, and an account's billing details keep to the same.
MAX_LEGAL_NAME_LENGTH = 200
MAX_ADDRESS_LINES = 3
MAX_ADDRESS_LINE_LENGTH = 100
MAX_POSTAL_CODE_LENGTH = 20
MAX_CITY_LENGTH = 100
MAX_VAT_ID_INPUT_LENGTH = 40  # as typed, separators included; compact, it fits 20


def party_as_typed(
    raw: Mapping[str, object], *, field_prefix: str = "", vat_id_required: bool = False
) -> Party:
    """A party's rules of form (``field_prefix`` names where it sits, ``billing.``):
    names and address lines non-empty, without control characters, within their
    sizes; one to three address lines. The country and the VAT id are kept as typed:
    which codes exist and which VAT ids pass their country's check is reference data
    (``adapters.parties``)."""

    def where(name: str) -> str:
        return f"{field_prefix}{name}"

    legal_name = check_text(
        raw.get("legal_name"), field=where("legal_name"), max_length=MAX_LEGAL_NAME_LENGTH
    )
    lines = raw.get("address_lines")
    if not isinstance(lines, list | tuple) or not lines:
        raise InvalidInput(
            "address_lines must hold at least one line", field=where("address_lines")
        )
    if len(lines) > MAX_ADDRESS_LINES:
        raise InvalidInput(
            f"address_lines holds at most {MAX_ADDRESS_LINES} lines", field=where("address_lines")
        )
    address_lines = tuple(
        check_text(line, field=where(f"address_lines[{i}]"), max_length=MAX_ADDRESS_LINE_LENGTH)
        for i, line in enumerate(lines)
    )
    postal_code = check_text(
        raw.get("postal_code"), field=where("postal_code"), max_length=MAX_POSTAL_CODE_LENGTH
    )
    city = check_text(raw.get("city"), field=where("city"), max_length=MAX_CITY_LENGTH)
    country = raw.get("country")
    if not isinstance(country, str):
        raise InvalidInput("country must be a string", field=where("country"))
    vat_id = raw.get("vat_id")
    if vat_id is None and vat_id_required:
        raise InvalidInput("vat_id is required", field=where("vat_id"))
    email = raw.get("email")
    return Party(
        legal_name=legal_name,
        address_lines=address_lines,
        postal_code=postal_code,
        city=city,
        country=country,
        vat_id=None
        if vat_id is None
        else check_text(vat_id, field=where("vat_id"), max_length=MAX_VAT_ID_INPUT_LENGTH),
        email=None if email is None else normalize_email(email, field=where("email"))[0],
    )
