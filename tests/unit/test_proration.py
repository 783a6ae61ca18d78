"""Proration by days and by seconds, and the true-up fraction (PRODUCT.md §5, §3, §6)."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain import proration as proration_module
from seatledger.domain.money import quantum, round_line
from seatledger.domain.periods import Calendar, Period, Segment
from seatledger.domain.proration import (
    fraction_of_months,
    prorate,
    prorate_by_days,
    prorate_by_seconds,
)

UTC = UTC
APRIL_2026 = Period(date(2026, 4, 1), date(2026, 5, 1))  # 30 days
MARCH_2026 = Period(date(2026, 3, 1), date(2026, 4, 1))  # 31 days


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- the worked examples of PRODUCT.md §6 ---------------------------------------------------


def test_example_2_a_seat_added_on_day_16_of_30_is_charged_15_of_30_days() -> None:
    # 30.00 × (30 − 16 + 1) / 30 = 30.00 × 15/30 = 15.00
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("30.00"), period=APRIL_2026, effective=date(2026, 4, 16)
    )
    assert amount == Decimal("15.00")
    assert round_line(amount, "EUR") == Decimal("15.00")


def test_example_5_an_auto_purchase_on_day_21_of_30_is_charged_10_of_30_days() -> None:
    # 30.00 × (30 − 21 + 1) / 30 = 30.00 × 10/30 = 10.00
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("30.00"), period=APRIL_2026, effective=date(2026, 4, 21)
    )
    assert amount == Decimal("10.00")
    assert round_line(amount, "EUR") == Decimal("10.00")


# a yearly contract for 2026: one period, 1 January to 31 December
YEAR_2026 = Calendar(
    date(2026, 1, 1), (Segment(date(2026, 1, 1), 0, 12),), ((date(2026, 1, 1), date(2027, 1, 1)),)
)


def test_example_1_a_march_true_up_of_two_seats_charges_ten_twelfths_of_a_year() -> None:
    year = YEAR_2026.period_containing(date(2026, 3, 1))
    assert year is not None
    m, months = YEAR_2026.months_left(year, date(2026, 3, 1))
    # 2 × 120.00 × 10/12 = 200.00
    amount = fraction_of_months(quantity=2, unit_price=Decimal("120.00"), m=m, M=months)
    assert (m, months) == (10, 12)
    assert round_line(amount, "EUR") == Decimal("200.00")


def test_example_1_a_may_true_up_of_two_seats_charges_eight_twelfths_of_a_year() -> None:
    year = YEAR_2026.period_containing(date(2026, 5, 1))
    assert year is not None
    m, months = YEAR_2026.months_left(year, date(2026, 5, 1))
    # 2 × 120.00 × 8/12 = 160.00
    amount = fraction_of_months(quantity=2, unit_price=Decimal("120.00"), m=m, M=months)
    assert (m, months) == (8, 12)
    assert round_line(amount, "EUR") == Decimal("160.00")


def test_a_monthly_true_up_charges_the_whole_month() -> None:
    amount = fraction_of_months(quantity=3, unit_price=Decimal("30.00"), m=1, M=1)
    assert amount == Decimal("90.00")


# --- by days ------------------------------------------------------------------------------


def test_a_change_on_the_first_day_is_charged_the_full_period() -> None:
    amount = prorate_by_days(
        quantity=4, unit_price=Decimal("30.00"), period=APRIL_2026, effective=date(2026, 4, 1)
    )
    assert amount == Decimal("120.00")


def test_a_change_on_the_last_day_is_charged_one_day() -> None:
    # 31.00 × (31 − 31 + 1) / 31 = 1.00
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("31.00"), period=MARCH_2026, effective=date(2026, 3, 31)
    )
    assert amount == Decimal("1.00")


def test_an_uneven_proration_is_kept_exact_until_the_line_is_rounded() -> None:
    # 30.00 × (31 − 5 + 1) / 31 = 810 / 31 = 26.1290322580645161290322580645...
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("30.00"), period=MARCH_2026, effective=date(2026, 3, 5)
    )
    assert amount == Decimal("26.12903225806451612903225806451613")
    assert round_line(amount, "EUR") == Decimal("26.13")


def test_a_third_of_1000_yen_is_a_line_of_333_yen() -> None:
    # 3-day period, change on day 3: 1000 × 1/3 = 333.33… → 333
    period = Period(date(2026, 4, 1), date(2026, 4, 4))
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("1000"), period=period, effective=date(2026, 4, 3)
    )
    assert round_line(amount, "JPY") == Decimal("333")


def test_a_half_yen_line_rounds_up_to_one_yen() -> None:
    # 2-day period, change on day 2: 1 × 1/2 = 0.5 → 1
    period = Period(date(2026, 4, 1), date(2026, 4, 3))
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("1"), period=period, effective=date(2026, 4, 2)
    )
    assert amount == Decimal("0.5")
    assert round_line(amount, "JPY") == Decimal("1")


def test_a_three_decimal_currency_keeps_three_decimals() -> None:
    # 10.000 BHD × (31 − 17 + 1) / 31 = 150 / 31 = 4.8387… → 4.839
    amount = prorate_by_days(
        quantity=1, unit_price=Decimal("10.000"), period=MARCH_2026, effective=date(2026, 3, 17)
    )
    assert round_line(amount, "BHD") == Decimal("4.839")


def test_a_datetime_is_prorated_by_its_utc_day() -> None:
    # 23:30 on 16 April at UTC−1 is 00:30 on 17 April UTC: day 17, 14 days left
    minus_one = timezone(timedelta(hours=-1))
    amount = prorate_by_days(
        quantity=1,
        unit_price=Decimal("30.00"),
        period=APRIL_2026,
        effective=datetime(2026, 4, 16, 23, 30, tzinfo=minus_one),
    )
    assert amount == Decimal("14.00")


@pytest.mark.parametrize("effective", [date(2026, 3, 31), date(2026, 5, 1)])
def test_a_day_outside_the_period_cannot_be_prorated(effective: date) -> None:
    with pytest.raises(ValueError):
        prorate_by_days(
            quantity=1, unit_price=Decimal("30.00"), period=APRIL_2026, effective=effective
        )


def test_a_naive_datetime_cannot_be_prorated() -> None:
    with pytest.raises(ValueError):
        prorate_by_days(
            quantity=1,
            unit_price=Decimal("30.00"),
            period=APRIL_2026,
            effective=datetime(2026, 4, 16),
        )


# --- by seconds ----------------------------------------------------------------------------


def test_a_change_at_the_period_start_is_charged_the_full_period_by_seconds() -> None:
    amount = prorate_by_seconds(
        quantity=2,
        unit_price=Decimal("30.00"),
        period=APRIL_2026,
        effective=APRIL_2026.start_instant,
    )
    assert amount == Decimal("60.00")


def test_a_change_at_noon_is_charged_the_seconds_left() -> None:
    # noon on day 16: 14.5 days of 30 left; 30.00 × 1 252 800 / 2 592 000 = 14.50
    amount = prorate_by_seconds(
        quantity=1, unit_price=Decimal("30.00"), period=APRIL_2026, effective=at(2026, 4, 16, 12)
    )
    assert amount == Decimal("14.50")


def test_seconds_count_microseconds_and_other_offsets() -> None:
    plus_two = timezone(timedelta(hours=2))
    # 02:00 on 1 May at UTC+2 is midnight UTC on 1 May: the period has ended
    with pytest.raises(ValueError):
        prorate_by_seconds(
            quantity=1,
            unit_price=Decimal("30.00"),
            period=APRIL_2026,
            effective=datetime(2026, 5, 1, 2, tzinfo=plus_two),
        )
    # one microsecond before the end: 2 592 000 000 000 µs in the period
    amount = prorate_by_seconds(
        quantity=1,
        unit_price=Decimal("2592000"),
        period=APRIL_2026,
        effective=at(2026, 4, 30, 23, 59, 59, 999999),
    )
    assert amount == Decimal("0.000001")


@pytest.mark.parametrize(
    "effective", [at(2026, 3, 31, 23, 59, 59), at(2026, 5, 1), datetime(2026, 4, 2)]
)
def test_an_instant_outside_the_period_or_naive_cannot_be_prorated(effective: datetime) -> None:
    with pytest.raises(ValueError):
        prorate_by_seconds(
            quantity=1, unit_price=Decimal("30.00"), period=APRIL_2026, effective=effective
        )


# --- dispatch ------------------------------------------------------------------------------


def test_the_pools_proration_method_chooses_days_or_seconds() -> None:
    noon = at(2026, 4, 16, 12)
    common = {"quantity": 1, "unit_price": Decimal("30.00"), "period": APRIL_2026}
    assert prorate(method="day", effective=noon, **common) == Decimal("15.00")
    assert prorate(method="second", effective=noon, **common) == Decimal("14.50")


@pytest.mark.parametrize("method", ["hour", "days", "", "DAY"])
def test_an_unknown_proration_method_is_refused(method: str) -> None:
    with pytest.raises(ValueError):
        prorate(
            method=method,
            quantity=1,
            unit_price=Decimal("30.00"),
            period=APRIL_2026,
            effective=at(2026, 4, 16),
        )


def test_day_proration_through_dispatch_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError):
        prorate(
            method="day",
            quantity=1,
            unit_price=Decimal("30.00"),
            period=APRIL_2026,
            effective=datetime(2026, 4, 16),
        )


# --- bad arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_price", "error"),
    [
        (1, 30.0, TypeError),
        (1, "30.00", TypeError),
        (True, Decimal("30.00"), TypeError),
        (1.0, Decimal("30.00"), TypeError),
        (-1, Decimal("30.00"), ValueError),
        (1, Decimal("-30.00"), ValueError),
        (1, Decimal("NaN"), ValueError),
        (1, Decimal("Infinity"), ValueError),
    ],
)
def test_a_line_needs_an_integer_quantity_and_a_decimal_price(
    quantity: object, unit_price: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        prorate_by_days(
            quantity=quantity,  # type: ignore[arg-type]
            unit_price=unit_price,  # type: ignore[arg-type]
            period=APRIL_2026,
            effective=date(2026, 4, 1),
        )
    with pytest.raises(error):
        fraction_of_months(
            quantity=quantity,  # type: ignore[arg-type]
            unit_price=unit_price,  # type: ignore[arg-type]
            m=1,
            M=1,
        )


@pytest.mark.parametrize(("m", "months"), [(13, 12), (-1, 12), (0, 0), (1, -1)])
def test_months_left_must_be_within_the_period(m: int, months: int) -> None:
    with pytest.raises(ValueError):
        fraction_of_months(quantity=1, unit_price=Decimal("120.00"), m=m, M=months)


def test_months_must_be_whole_numbers() -> None:
    with pytest.raises(TypeError):
        fraction_of_months(
            quantity=1,
            unit_price=Decimal("120.00"),
            m=1.5,
            M=12,  # type: ignore[arg-type]
        )


def test_no_months_left_charges_nothing() -> None:
    assert fraction_of_months(quantity=5, unit_price=Decimal("120.00"), m=0, M=12) == 0


# --- properties ----------------------------------------------------------------------------

quantities = st.integers(min_value=0, max_value=100_000)
prices = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("1000000"), places=2, allow_nan=False
)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
    days = draw(st.one_of(st.integers(28, 31), st.integers(365, 366), st.integers(1, 366)))
    return Period(start, start + timedelta(days=days))


@settings(max_examples=200, deadline=None)
@given(quantity=quantities, unit_price=prices, period=periods())
def test_a_change_at_the_period_start_is_charged_exactly_the_full_price(
    quantity: int, unit_price: Decimal, period: Period
) -> None:
    full = Decimal(quantity) * unit_price
    by_days = prorate_by_days(
        quantity=quantity, unit_price=unit_price, period=period, effective=period.start
    )
    by_seconds = prorate_by_seconds(
        quantity=quantity, unit_price=unit_price, period=period, effective=period.start_instant
    )
    assert by_days == full
    assert by_seconds == full
    assert round_line(by_days, "EUR") == full


@settings(max_examples=200, deadline=None)
@given(
    quantity=quantities,
    unit_price=prices,
    period=periods(),
    split=st.integers(min_value=0, max_value=365),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_the_two_parts_of_a_split_period_add_up_to_the_full_period_within_one_minor_unit(
    quantity: int, unit_price: Decimal, period: Period, split: int, currency: str
) -> None:
    d = split % period.days + 1  # 1-based day of the split
    effective = period.start + timedelta(days=d - 1)
    # days 1 .. d−1, as a fraction of the period: q × p × (d − 1) / D
    before = fraction_of_months(quantity=quantity, unit_price=unit_price, m=d - 1, M=period.days)
    # days d .. D: q × p × (D − d + 1) / D
    after = prorate_by_days(
        quantity=quantity, unit_price=unit_price, period=period, effective=effective
    )
    full = prorate_by_days(
        quantity=quantity, unit_price=unit_price, period=period, effective=period.start
    )
    assert abs((before + after) - full) < Decimal("1e-20")
    rounded = round_line(before, currency) + round_line(after, currency)
    assert abs(rounded - round_line(full, currency)) <= quantum(currency)


@settings(max_examples=200, deadline=None)
@given(quantity=quantities, unit_price=prices, period=periods(), day=st.integers(0, 365))
def test_by_seconds_at_midnight_agrees_with_by_days(
    quantity: int, unit_price: Decimal, period: Period, day: int
) -> None:
    effective_day = period.start + timedelta(days=day % period.days)
    midnight = datetime(effective_day.year, effective_day.month, effective_day.day, tzinfo=UTC)
    common = {"quantity": quantity, "unit_price": unit_price, "period": period}
    assert prorate_by_seconds(effective=midnight, **common) == prorate_by_days(
        effective=effective_day, **common
    )


@settings(max_examples=100, deadline=None)
@given(quantity=st.integers(1, 1000), unit_price=prices, period=periods())
def test_a_later_change_is_never_charged_more(
    quantity: int, unit_price: Decimal, period: Period
) -> None:
    amounts = [
        prorate_by_days(
            quantity=quantity,
            unit_price=unit_price,
            period=period,
            effective=period.start + timedelta(days=i),
        )
        for i in range(period.days)
    ]
    assert amounts == sorted(amounts, reverse=True)
    assert amounts[0] == Decimal(quantity) * unit_price
    assert all(amount >= 0 for amount in amounts)


@settings(max_examples=100, deadline=None)
@given(quantity=quantities, unit_price=prices, months=st.integers(1, 12), data=st.data())
def test_true_up_months_sum_to_the_full_price(
    quantity: int, unit_price: Decimal, months: int, data: st.DataObject
) -> None:
    m = data.draw(st.integers(0, months))
    left = fraction_of_months(quantity=quantity, unit_price=unit_price, m=m, M=months)
    used = fraction_of_months(quantity=quantity, unit_price=unit_price, m=months - m, M=months)
    assert abs(left + used - Decimal(quantity) * unit_price) < Decimal("1e-20")
    assert (
        fraction_of_months(quantity=quantity, unit_price=unit_price, m=months, M=months)
        == Decimal(quantity) * unit_price
    )


# --- purity --------------------------------------------------------------------------------


def test_the_proration_module_imports_only_the_standard_library_and_never_reads_the_clock() -> None:
    source = Path(proration_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "__future__",
        "datetime",
        "decimal",
        "seatledger.domain.money",
        "seatledger.domain.periods",
    }
    for forbidden in ("now(", "today(", "utcnow(", "time.time", "float("):
        assert forbidden not in source
