"""The parties on a document and its due date (PRODUCT.md §5 Documents): the rules
of form of a seller or buyer (domain.parties), the reference data they are checked
against (adapters.parties: ISO 3166-1 countries, VAT ids by python-stdnum), and
due date = issue date + payment terms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from seatledger.adapters.parties import COUNTRIES, check_party, check_vat_id
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoicing import due_date
from seatledger.domain.parties import Party, party_as_typed

BUYER = {
    "legal_name": "  Müller & Söhne GmbH ",
    "address_lines": ["Hauptstraße 5", "Hinterhaus"],
    "postal_code": "80331",
    "city": "München",
    "country": "DE",
    "vat_id": "DE 136.695.976",
    "email": "ap@mueller.example",
}


def refused_field(raw: dict[str, object], **kwargs: object) -> str | None:
    with pytest.raises(InvalidInput) as refused:
        check_party(raw, **kwargs)  # type: ignore[arg-type]
    return refused.value.field


def test_a_party_is_kept_trimmed_with_its_vat_id_compact_and_prefixed() -> None:
    assert check_party(BUYER) == Party(
        legal_name="Müller & Söhne GmbH",
        address_lines=("Hauptstraße 5", "Hinterhaus"),
        postal_code="80331",
        city="München",
        country="DE",
        vat_id="DE136695976",
        email="ap@mueller.example",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"legal_name": None}, "legal_name"),
        ({"legal_name": " "}, "legal_name"),
        ({"legal_name": "Müller\u200b GmbH"}, "legal_name"),  # a format character
        ({"legal_name": "M" * 201}, "legal_name"),
        ({"address_lines": "Hauptstraße 5"}, "address_lines"),  # a string, not lines
        ({"address_lines": ["1", "2", "3", "4"]}, "address_lines"),
        ({"address_lines": ["Hauptstraße 5", ""]}, "address_lines[1]"),
        ({"address_lines": ["H" * 101]}, "address_lines[0]"),
        ({"postal_code": "8" * 21}, "postal_code"),
        ({"city": "\tMünchen"}, "city"),
        ({"country": 49}, "country"),
        ({"vat_id": "\u0000"}, "vat_id"),
        ({"email": "ap at mueller"}, "email"),
    ],
)
def test_a_party_breaking_a_rule_of_form_is_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        party_as_typed({**BUYER, **change}, field_prefix="billing.")
    assert refused.value.field == f"billing.{field}"


def test_the_checks_follow_the_order_of_the_fields() -> None:
    # no legal name and no address: the legal name is named first
    assert refused_field({"country": "XX"}) == "legal_name"


def test_countries_are_the_249_codes_of_iso_3166_1_alpha_2() -> None:
    assert len(COUNTRIES) == 249
    assert {"DE", "FR", "GB", "GR", "US", "SS", "CW", "AQ"} <= COUNTRIES
    # CLDR regions that are not ISO 3166-1 countries, and codes ISO does not assign
    assert not {"EU", "EZ", "UN", "ZZ", "XK", "XI", "EL", "XX", "001"} & COUNTRIES
    assert refused_field({**BUYER, "country": "XX"}) == "country"
    assert refused_field({**BUYER, "country": "de"}) == "country"


@pytest.mark.parametrize(
    ("country", "typed", "kept"),
    [
        ("DE", "DE136695976", "DE136695976"),
        ("DE", "de-136-695-976", "DE136695976"),
        ("FR", "FR 40 303 265 045", "FR40303265045"),
        ("GR", "EL094259216", "EL094259216"),  # Greece: EL
        ("GB", "XI980780684", "XI980780684"),  # Northern Ireland under EU VAT rules
        ("GB", "980 7806 84", "GB980780684"),  # outside the EU: the prefix added
        ("NO", "NO 974 760 673 MVA", "NO974760673MVA"),
        ("CH", "CHE-116.281.710 MWST", "CHE116281710MWST"),
        ("AU", "51 824 753 556", "AU51824753556"),  # an ABN, stdnum's check for AU
        ("US", "12-3456789", "US123456789"),  # no check known: kept, prefixed
    ],
)
def test_a_vat_id_passing_its_countrys_check_is_kept_compact_with_its_prefix(
    country: str, typed: str, kept: str
) -> None:
    assert check_vat_id(typed, country, field="vat_id") == kept


@pytest.mark.parametrize(
    ("country", "typed"),
    [
        ("DE", "DE123456789"),  # check digit 8, not 9 (ISO 7064 mod 11,10)
        ("DE", "DE13669597"),  # one digit short
        ("DE", "136695976"),  # an EU VAT id carries its prefix
        ("DE", "FR40303265045"),  # a valid French VAT id, for a German party
        ("FR", "FR00303265045"),  # the French key does not match the SIREN
        ("GR", "GR094259216"),  # Greece's prefix is EL
        ("US", "DE136695976"),  # a German VAT id, for a US party
        ("CH", "CHE-116.281.711 MWST"),  # check digit
        ("AU", "51 824 753 557"),
        ("US", "12+3456789"),
        ("US", "1234567890123456789"),  # 21 characters with its prefix: more than 20
    ],
)
def test_a_vat_id_that_fails_its_countrys_check_or_names_another_country_is_refused(
    country: str, typed: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_vat_id(typed, country, field="billing.vat_id")
    assert refused.value.field == "billing.vat_id"


def test_a_seller_needs_a_vat_id_and_a_buyer_does_not() -> None:
    private = {k: v for k, v in BUYER.items() if k != "vat_id"}
    assert check_party(private).vat_id is None
    assert refused_field(private, vat_id_required=True) == "vat_id"


def test_the_due_date_is_the_utc_issue_date_plus_the_payment_terms() -> None:
    assert due_date(datetime(2026, 1, 1, tzinfo=UTC), 14) == date(2026, 1, 15)
    assert due_date(datetime(2026, 2, 1, tzinfo=UTC), 30) == date(2026, 3, 3)
    assert due_date(datetime(2028, 2, 15, 12, tzinfo=UTC), 14) == date(2028, 2, 29)
    assert due_date(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 0) == date(2026, 12, 31)
    # 1 February 01:00 in UTC+02:00 is 31 January 23:00 UTC
    east = timezone(timedelta(hours=2))
    assert due_date(datetime(2026, 2, 1, 1, tzinfo=east), 14) == date(2026, 2, 14)
