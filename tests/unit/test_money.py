"""Money: currencies, the one rounding rule, parsing and formatting (PRODUCT.md §5)."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatledger.domain import money
from seatledger.domain.errors import InvalidInput
from seatledger.domain.money import (
    MINOR_UNITS,
    check_currency,
    format_amount,
    format_percentage,
    minor_units,
    parse_amount,
    parse_percentage,
    quantum,
    round_line,
)

# --- currencies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        *[
            (c, 2)
            for c in [
                "EUR",
                "USD",
                "GBP",
                "CHF",
                "SEK",
                "NOK",
                "DKK",
                "PLN",
                "CZK",
                "CAD",
                "AUD",
                "NZD",
                "INR",
            ]
        ],
        ("JPY", 0),
        ("KRW", 0),
        *[(c, 3) for c in ["BHD", "KWD", "OMR", "JOD", "TND"]],
    ],
)
def test_each_currency_has_its_iso_minor_unit(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits
    assert MINOR_UNITS[currency] == digits
    assert check_currency(currency) == currency


def test_the_quantum_is_the_currencys_smallest_unit() -> None:
    assert quantum("EUR") == Decimal("0.01")
    assert quantum("EUR").as_tuple().exponent == -2
    assert quantum("JPY") == Decimal("1")
    assert quantum("JPY").as_tuple().exponent == 0
    assert quantum("BHD") == Decimal("0.001")
    assert quantum("BHD").as_tuple().exponent == -3


@pytest.mark.parametrize("code", ["XYZ", "eur", "EURO", "EU", "", " EUR", None, 978])
def test_an_unknown_or_malformed_currency_is_refused_naming_the_currency_field(
    code: object,
) -> None:
    for check in (minor_units, check_currency, quantum):
        with pytest.raises(InvalidInput) as caught:
            check(code)  # type: ignore[arg-type]
        assert caught.value.field == "currency"
        assert caught.value.message == f"unknown currency {code!r}"


def test_rounding_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        round_line(Decimal("1.00"), "ABC")
    assert caught.value.field == "currency"


# --- the one rounding rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "EUR", "0.13"),  # a tie goes up
        ("0.124", "EUR", "0.12"),
        ("0.135", "EUR", "0.14"),
        ("0.145", "EUR", "0.15"),  # banker's rounding would give 0.14
        ("2.5", "EUR", "2.50"),
        ("15", "EUR", "15.00"),
        ("333.3333333333333333333333333333", "JPY", "333"),
        ("0.5", "JPY", "1"),
        ("2.5", "JPY", "3"),  # banker's rounding would give 2
        ("0.49", "JPY", "0"),
        ("1.2345", "BHD", "1.235"),
        ("1.2344", "BHD", "1.234"),
        ("-0.125", "EUR", "-0.13"),  # ties go away from zero
    ],
)
def test_a_line_is_rounded_half_up_to_the_currencys_minor_unit(
    amount: str, currency: str, expected: str
) -> None:
    rounded = round_line(Decimal(amount), currency)
    assert rounded == Decimal(expected)
    assert str(rounded) == expected


def test_a_third_of_1000_yen_rounds_to_333_yen() -> None:
    rounded = round_line(Decimal(1000) / Decimal(3), "JPY")
    assert rounded == Decimal("333")
    assert rounded.as_tuple().exponent == 0


def test_a_tiny_negative_amount_rounds_to_plain_zero_not_minus_zero() -> None:
    rounded = round_line(Decimal("-0.001"), "EUR")
    assert str(rounded) == "0.00"
    assert not rounded.is_signed()


def test_rounding_refuses_a_float() -> None:
    with pytest.raises(TypeError):
        round_line(0.125, "EUR")  # type: ignore[arg-type]


def test_totals_are_sums_of_rounded_lines_not_rounded_sums() -> None:
    # Three lines of 0.005 EUR each: each rounds to 0.01, the total is 0.03 (not 0.02).
    lines = [Decimal("0.005")] * 3
    assert sum(round_line(line, "EUR") for line in lines) == Decimal("0.03")
    assert round_line(sum(lines, Decimal(0)), "EUR") == Decimal("0.02")


@given(
    amount=st.decimals(
        min_value=Decimal("-1000000"),
        max_value=Decimal("1000000"),
        allow_nan=False,
        allow_infinity=False,
        places=6,
    ),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_rounding_moves_an_amount_by_at_most_half_a_minor_unit(
    amount: Decimal, currency: str
) -> None:
    rounded = round_line(amount, currency)
    q = quantum(currency)
    assert rounded.as_tuple().exponent == q.as_tuple().exponent
    assert abs(rounded - amount) <= q / 2
    # half-up: a distance of exactly half a unit is only ever away from zero
    if abs(rounded - amount) == q / 2:
        assert abs(rounded) > abs(amount)
    assert round_line(rounded, currency) == rounded


# --- parsing amounts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("15.00", "EUR", "15.00"),
        ("15", "EUR", "15.00"),
        ("0.5", "EUR", "0.50"),
        ("0", "EUR", "0.00"),
        (15, "EUR", "15.00"),
        (Decimal("15.5"), "EUR", "15.50"),
        ("1500", "JPY", "1500"),
        ("1.234", "BHD", "1.234"),
        ("1.2", "BHD", "1.200"),
    ],
)
def test_an_amount_string_parses_to_a_decimal_at_the_minor_unit(
    value: object, currency: str, expected: str
) -> None:
    parsed = parse_amount(value, currency, field="unit_price")  # type: ignore[arg-type]
    assert parsed == Decimal(expected)
    assert str(parsed) == expected


def test_more_decimals_than_the_minor_unit_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount("15.001", "EUR", field="pools[0].unit_price")
    assert caught.value.field == "pools[0].unit_price"
    assert "more decimal places than EUR allows" in caught.value.message
    assert "at most 2" in caught.value.message


@pytest.mark.parametrize(
    ("value", "currency"),
    [("15.5", "JPY"), ("15.0", "JPY"), ("1.2345", "BHD"), ("15.000", "EUR")],
)
def test_decimals_beyond_the_minor_unit_are_refused_even_when_they_are_zeros(
    value: str, currency: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount(value, currency, field="unit_price")
    assert caught.value.field == "unit_price"
    assert "more decimal places" in caught.value.message


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (" 15.00", "whitespace"),
        ("15.00\n", "whitespace"),
        ("NaN", "finite"),
        ("nan", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("inf", "finite"),
        ("1e3", "exponent"),
        ("1.5E2", "exponent"),
        ("15e-2", "exponent"),
        ("-15.00", "negative"),
        ("-1", "negative"),
        ("+15", "decimal string"),
        ("15,00", "decimal string"),
        (".5", "decimal string"),
        ("5.", "decimal string"),
        ("0x10", "decimal string"),
        ("١٥", "decimal string"),  # Arabic-Indic digits
        ("1_000", "decimal string"),
        ("15.00 EUR", "decimal string"),
        (15.0, "not a float"),
        (True, "not a bool"),
        (False, "not a bool"),
        (None, "not a NoneType"),
        (-3, "negative"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("-1.00"), "negative"),
    ],
)
def test_a_malformed_amount_is_refused_with_a_clear_message_naming_the_field(
    value: object, phrase: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount(value, "EUR", field="unit_price")  # type: ignore[arg-type]
    assert caught.value.field == "unit_price"
    assert caught.value.message.startswith("unit_price ")
    assert phrase in caught.value.message


def test_an_absurdly_large_amount_is_refused() -> None:
    assert parse_amount("9" * 15, "EUR", field="unit_price") == Decimal("9" * 15)
    with pytest.raises(InvalidInput) as caught:
        parse_amount("1" + "0" * 15, "EUR", field="unit_price")
    assert caught.value.field == "unit_price"
    assert "too large" in caught.value.message


def test_parsing_an_amount_in_an_unknown_currency_blames_the_currency() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount("15.00", "XXX", field="unit_price")
    assert caught.value.field == "currency"


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_formatting_then_parsing_an_amount_gives_it_back(cents: int, currency: str) -> None:
    amount = Decimal(cents).scaleb(-minor_units(currency))
    text = format_amount(amount, currency)
    assert parse_amount(text, currency, field="amount") == amount
    assert format_amount(parse_amount(text, currency, field="amount"), currency) == text


# --- formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("15", "EUR", "15.00"),
        ("15.5", "EUR", "15.50"),
        ("0", "EUR", "0.00"),
        ("15", "JPY", "15"),
        ("15.00", "JPY", "15"),
        ("1.2", "BHD", "1.200"),
        ("1E+3", "EUR", "1000.00"),  # never in exponent notation
        ("200.0000000000000000000000000000", "EUR", "200.00"),
        ("-10", "EUR", "-10.00"),
        ("0.125", "EUR", "0.13"),
    ],
)
def test_an_amount_is_formatted_with_exactly_the_currencys_minor_digits(
    amount: str, currency: str, expected: str
) -> None:
    assert format_amount(Decimal(amount), currency) == expected


# --- percentages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("20", "20"), ("7.5", "7.5"), ("0", "0"), ("100", "100"), ("19.6125", "19.6125"), (20, "20")],
)
def test_a_tax_rate_is_a_percentage_string(value: object, expected: str) -> None:
    assert parse_percentage(value) == Decimal(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("100.01", "between 0 and 100"),
        ("101", "between 0 and 100"),
        ("-1", "negative"),
        ("7.12345", "more than 4 decimal places"),
        ("20%", "decimal string"),
        ("", "must not be empty"),
        ("NaN", "finite"),
        ("2e1", "exponent"),
        (0.2, "not a float"),
        (True, "not a bool"),
    ],
)
def test_a_bad_tax_rate_is_refused_naming_the_tax_rate_field(value: object, phrase: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_percentage(value)  # type: ignore[arg-type]
    assert caught.value.field == "tax_rate"
    assert phrase in caught.value.message


def test_a_percentage_error_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_percentage("120", field="discount")
    assert caught.value.field == "discount"


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("20", "20"),
        ("20.000000", "20"),  # PostgreSQL's NUMERIC(24, 6) reads back at scale 6
        ("19.50", "19.5"),
        ("7.250000", "7.25"),
        ("100.000000", "100"),  # not "1E+2"
        ("0.000100", "0.0001"),
        ("0.000000", "0"),
    ],
)
def test_a_percentage_reads_the_same_whatever_scale_it_was_stored_at(
    stored: str, expected: str
) -> None:
    assert format_percentage(Decimal(stored)) == expected


# --- purity ---------------------------------------------------------------------------------


def test_the_money_module_imports_only_the_standard_library_and_never_reads_the_clock() -> None:
    source = Path(money.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "re", "decimal", "seatledger.domain.errors"}
    for forbidden in ("now(", "today(", "utcnow(", "time.time", "float("):
        assert forbidden not in source
