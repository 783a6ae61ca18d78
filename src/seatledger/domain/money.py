"""Money: exact ``Decimal`` amounts, currency minor units and the one rounding rule.

PRODUCT.md §5: "each line is computed exactly from its quantity, unit price and
fraction, and rounded once, half-up, to the currency's minor unit ...; totals are sums
of rounded lines." Everything here is ``Decimal``; a float never comes near an amount.

Input amounts travel as decimal strings (PRODUCT.md §1, "Input"): ``parse_amount`` is the
single gate through which a price enters the domain.
"""

from __future__ import annotations

import re
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from seatledger.domain.errors import InvalidInput

# Intermediate arithmetic runs at 34 significant digits (IEEE decimal128), far above any
# amount a contract can hold, with errors trapped rather than turned into NaN/Infinity.
# ``localcontext(MONEY_CONTEXT)`` is used so the caller's thread context never matters.
MONEY_CONTEXT = Context(
    prec=34,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

# ISO 4217 minor units: the number of digits after the decimal point.
MINOR_UNITS: dict[str, int] = {
    # two decimals
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2,
    "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "CAD": 2, "AUD": 2, "NZD": 2, "INR": 2,
    "SGD": 2, "HKD": 2, "CNY": 2, "MXN": 2, "BRL": 2, "ZAR": 2, "ILS": 2, "AED": 2,
    "SAR": 2, "TRY": 2, "THB": 2, "MYR": 2, "PHP": 2,
    # no decimals
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0,
    # three decimals
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}  # fmt: skip

# The largest amount we accept as input: 15 digits before the decimal point. It keeps
# every product quantity × price × days exact within MONEY_CONTEXT's 34 digits.
MAX_INTEGER_DIGITS = 15

_PERCENT_DECIMALS = 4
_DECIMAL_STRING = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_EXPONENT_FORM = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (``"EUR"`` → 2, ``"JPY"`` → 0)."""
    if not isinstance(currency, str) or currency not in MINOR_UNITS:
        raise InvalidInput(f"unknown currency {currency!r}", field="currency")
    return MINOR_UNITS[currency]


def check_currency(currency: str) -> str:
    """Return ``currency`` if it is a known ISO 4217 code (upper case), else refuse it."""
    minor_units(currency)
    return currency


def quantum(currency: str) -> Decimal:
    """The currency's smallest unit: ``0.01`` (EUR), ``1`` (JPY), ``0.001`` (BHD)."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_line(amount: Decimal, currency: str) -> Decimal:
    """THE rounding function of seatledger: half-up to the currency's minor unit.

    Apply it exactly ONCE per invoice line, to the exact (unrounded) amount of that line.
    Totals, subtotals and tax bases are sums of already rounded lines and are never
    rounded again; never round an intermediate value (a unit price times a fraction)
    before the line is complete.

    Half-up means ties go away from zero: 0.125 EUR → 0.13, -0.125 EUR → -0.13.
    A zero result is always positive zero (never "-0.00").
    """
    _require_decimal(amount, "amount")
    q = quantum(currency)
    with localcontext(MONEY_CONTEXT) as ctx:
        rounded = Decimal(amount).quantize(q, rounding=ROUND_HALF_UP, context=ctx)
    if rounded.is_zero():
        rounded = rounded.copy_abs()
    return rounded


def parse_amount(value: str | int | Decimal, currency: str, *, field: str) -> Decimal:
    """Parse a money amount given as a decimal string (``"15.00"``, ``"15"``, ``"0.5"``).

    Also accepted: an ``int`` or a finite ``Decimal``. Refused with ``InvalidInput`` naming
    ``field``: floats and booleans, empty or blank strings, surrounding whitespace, NaN and
    Infinity, exponent forms (``"1e3"``), signs and negative amounts, and more decimal places
    than the currency's minor unit as written (``"15.001"`` and also ``"15.000"`` in EUR,
    ``"15.0"`` in JPY). Returns the amount quantized to the minor unit (``"15"`` → 15.00).
    """
    places = minor_units(currency)
    parsed = _parse_non_negative(value, field=field, example="15.00")
    digits_after_point = max(0, -_exponent(parsed))
    if digits_after_point > places:
        raise InvalidInput(
            f"{field} has more decimal places than {currency} allows (at most {places}): {value!r}",
            field=field,
        )
    _check_magnitude(parsed, field=field)
    with localcontext(MONEY_CONTEXT) as ctx:
        return parsed.quantize(quantum(currency), context=ctx)


def format_amount(amount: Decimal, currency: str) -> str:
    """Render an amount with exactly the currency's minor digits: ``"15.00"``, JPY ``"15"``.

    The amount is passed through ``round_line`` first, so an already rounded line prints
    as is and never in exponent notation.
    """
    return f"{round_line(amount, currency):f}"


def parse_percentage(value: str | int | Decimal, *, field: str = "tax_rate") -> Decimal:
    """Parse a percentage string (``"20"`` is 20 %, ``"7.5"`` is 7.5 %).

    Between 0 and 100 inclusive, at most 4 decimal places; the same form rules as
    ``parse_amount`` (no floats, booleans, signs, exponents, NaN or blanks).
    """
    parsed = _parse_non_negative(value, field=field, example="20")
    if max(0, -_exponent(parsed)) > _PERCENT_DECIMALS:
        raise InvalidInput(
            f"{field} has more than {_PERCENT_DECIMALS} decimal places: {value!r}",
            field=field,
        )
    if parsed > 100:
        raise InvalidInput(f"{field} must be between 0 and 100, got {value!r}", field=field)
    return parsed


def format_percentage(rate: Decimal) -> str:
    """A percentage as it reads on a document and in the API, the same whatever
    scale the store gave it back with: ``"20"``, ``"19.5"``, ``"7.25"`` (never
    ``"20.000000"``, never an exponent)."""
    _require_decimal(rate, "rate")
    with localcontext(MONEY_CONTEXT) as ctx:
        return f"{Decimal(rate).normalize(ctx):f}"


# --- helpers ---------------------------------------------------------------------------


def _require_decimal(amount: object, name: str) -> None:
    # bool is an int; a float would have lost exactness before it got here.
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, got {type(amount).__name__}")


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    return exponent


def _parse_non_negative(value: object, *, field: str, example: str) -> Decimal:
    """The form rules shared by amounts and percentages; returns a finite Decimal ≥ 0."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(
            f"{field} must be a decimal string such as {example!r}, not a {type(value).__name__}",
            field=field,
        )
    if isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput(f"{field} must be a finite number, got {value!r}", field=field)
        parsed = value
    elif isinstance(value, str):
        parsed = _parse_decimal_string(value, field=field, example=example)
    else:
        raise InvalidInput(
            f"{field} must be a decimal string such as {example!r}, not a {type(value).__name__}",
            field=field,
        )
    if parsed.is_signed() and not parsed.is_zero():
        raise InvalidInput(f"{field} must not be negative, got {value!r}", field=field)
    return parsed.copy_abs()  # "-0" is plain zero


def _parse_decimal_string(text: str, *, field: str, example: str) -> Decimal:
    if text.strip() == "":
        raise InvalidInput(f"{field} must not be empty", field=field)
    if text != text.strip():
        raise InvalidInput(
            f"{field} must not contain surrounding whitespace: {text!r}", field=field
        )
    lowered = text.lower().lstrip("+-")
    if lowered in {"nan", "snan", "inf", "infinity"}:
        raise InvalidInput(f"{field} must be a finite number, got {text!r}", field=field)
    if text.startswith("-") and _DECIMAL_STRING.fullmatch(text[1:]):
        raise InvalidInput(f"{field} must not be negative, got {text!r}", field=field)
    if _EXPONENT_FORM.fullmatch(text):
        raise InvalidInput(
            f"{field} must be written without an exponent, got {text!r}", field=field
        )
    if len(text) > 64 or not _DECIMAL_STRING.fullmatch(text):
        raise InvalidInput(
            f"{field} must be a decimal string such as {example!r}, got {text!r}",
            field=field,
        )
    return Decimal(text)


def _check_magnitude(value: Decimal, *, field: str) -> None:
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidInput(
            f"{field} is too large (at most {MAX_INTEGER_DIGITS} digits before the point)",
            field=field,
        )
