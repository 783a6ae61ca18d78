"""The proration formulas (PRODUCT.md §5 and the true-up of §3).

Every function returns the EXACT, UNROUNDED amount of one line as a ``Decimal``; the
caller rounds it once with ``money.round_line``. The arithmetic runs in a local decimal
context of 34 significant digits, multiplies first and divides last, so the only inexact
step is the final division (e.g. 1000 × 1/3), carried to 34 digits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, localcontext

from seatledger.domain.money import MONEY_CONTEXT
from seatledger.domain.periods import Period

METHODS = ("day", "second")

_SECONDS_PER_DAY = 86_400


def prorate_by_days(
    *, quantity: int, unit_price: Decimal, period: Period, effective: date
) -> Decimal:
    """Charge for the days from ``effective`` (inclusive) to the period's end.

        amount = quantity × unit_price × (D − d + 1) / D

    where D = ``period.days`` and d = the 1-based day of ``effective`` in the period
    (d = 1 on ``period.start``, so a change on the first day is charged the full price).
    Example (PRODUCT.md §6.2): day 16 of a 30-day period, 30.00 → 30.00 × 15/30 = 15.00.

    A datetime ``effective`` counts by its UTC day. ``effective`` outside the period →
    ``ValueError``.
    """
    _check_line(quantity, unit_price)
    day = _utc_day(effective)
    if not period.contains(day):
        raise ValueError(f"effective day {day} is outside {period}")
    total_days = period.days
    d = (day - period.start).days + 1
    with localcontext(MONEY_CONTEXT):
        return Decimal(quantity) * unit_price * (total_days - d + 1) / total_days


def prorate_by_seconds(
    *, quantity: int, unit_price: Decimal, period: Period, effective: datetime
) -> Decimal:
    """Charge for the time from ``effective`` to the period's end, to the microsecond.

        amount = quantity × unit_price × seconds_left / seconds_in_period

    with seconds_left = period.end_instant − effective and seconds_in_period =
    86 400 × period.days (UTC days have no leap seconds here). ``effective`` must be a
    timezone-aware instant in ``[period.start_instant, period.end_instant)``, else
    ``ValueError``.
    """
    _check_line(quantity, unit_price)
    if not period.contains_instant(effective):
        raise ValueError(f"effective instant {effective.isoformat()} is outside {period}")
    left = period.end_instant - effective
    with localcontext(MONEY_CONTEXT):
        whole_seconds = Decimal(left.days * _SECONDS_PER_DAY + left.seconds)
        seconds_left = whole_seconds + Decimal(left.microseconds).scaleb(-6)
        seconds_in_period = Decimal(period.days * _SECONDS_PER_DAY)
        return Decimal(quantity) * unit_price * seconds_left / seconds_in_period


def prorate(
    *, method: str, quantity: int, unit_price: Decimal, period: Period, effective: datetime
) -> Decimal:
    """The pool's proration (``"day"``, the default of a pool, or ``"second"``).

    ``"day"`` counts ``effective`` by its UTC day; ``"second"`` uses the instant itself.
    """
    if method == "day":
        if not isinstance(effective, datetime) or effective.utcoffset() is None:
            raise ValueError(f"effective must be a timezone-aware datetime, got {effective!r}")
        return prorate_by_days(
            quantity=quantity, unit_price=unit_price, period=period, effective=effective
        )
    if method == "second":
        return prorate_by_seconds(
            quantity=quantity, unit_price=unit_price, period=period, effective=effective
        )
    raise ValueError(f"unknown proration method {method!r}; expected one of {METHODS}")


def fraction_of_months(*, quantity: int, unit_price: Decimal, m: int, M: int) -> Decimal:
    """The true-up line (PRODUCT.md §3): quantity × unit_price × m / M.

    ``M`` is the number of months in the billing period, ``m`` the months left counting
    the month of change (see ``periods.months_left_in_period``); 0 <= m <= M, M >= 1.
    Example (§6.1): 2 × 120.00 × 10/12 = 200.00.
    """
    _check_line(quantity, unit_price)
    for name, value in (("m", m), ("M", M)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if M < 1 or not 0 <= m <= M:
        raise ValueError(f"months must satisfy 0 <= m <= M and M >= 1, got m={m}, M={M}")
    with localcontext(MONEY_CONTEXT):
        return Decimal(quantity) * unit_price * m / M


# --- helpers ---------------------------------------------------------------------------


def _check_line(quantity: int, unit_price: Decimal) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise TypeError(f"quantity must be an int, got {type(quantity).__name__}")
    if quantity < 0:
        raise ValueError(f"quantity must not be negative, got {quantity}")
    if not isinstance(unit_price, Decimal):
        raise TypeError(f"unit_price must be a Decimal, got {type(unit_price).__name__}")
    if not unit_price.is_finite() or unit_price < 0:
        raise ValueError(f"unit_price must be a finite Decimal >= 0, got {unit_price}")


def _utc_day(effective: date) -> date:
    if isinstance(effective, datetime):
        if effective.utcoffset() is None:
            raise ValueError(f"effective must be timezone-aware, got {effective!r}")
        return effective.astimezone(UTC).date()
    if not isinstance(effective, date):
        raise TypeError(f"effective must be a date, got {type(effective).__name__}")
    return effective
