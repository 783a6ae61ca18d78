"""Billing periods and month arithmetic (PRODUCT.md §5 "Periods", §3 true-up months)."""

from __future__ import annotations

import ast
import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain import periods as periods_module
from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import (
    Period,
    add_months,
    interval_months,
    month_containing,
    months_left_in_period,
    nth_period,
    period_containing,
    periods_between,
    validate_contract_dates,
)

D = date


def spans(periods: list[Period]) -> list[tuple[date, date]]:
    return [(p.start, p.end) for p in periods]


# --- add_months -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2026, 1, 31), 2, D(2026, 3, 31)),
        (D(2026, 1, 31), 3, D(2026, 4, 30)),
        (D(2026, 1, 30), 1, D(2026, 2, 28)),
        (D(2026, 1, 29), 1, D(2026, 2, 28)),
        (D(2026, 1, 28), 1, D(2026, 2, 28)),
        (D(2026, 1, 15), 0, D(2026, 1, 15)),
        (D(2026, 12, 31), 2, D(2027, 2, 28)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 1, 15), -13, D(2024, 12, 15)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
        (D(2100, 1, 31), 1, D(2100, 2, 28)),  # 2100 is not a leap year
        (D(2000, 1, 31), 1, D(2000, 2, 29)),  # 2000 is
    ],
)
def test_adding_months_keeps_the_anchor_day_clamped_to_the_months_end(
    anchor: date, months: int, expected: date
) -> None:
    assert add_months(anchor, months) == expected


def test_months_are_always_counted_from_the_original_anchor_never_chained() -> None:
    start = D(2026, 1, 31)
    chained = add_months(add_months(start, 1), 1)
    assert chained == D(2026, 3, 28)  # what chaining would do: drift to the 28th
    assert add_months(start, 2) == D(2026, 3, 31)
    assert nth_period(start, "month", 2).start == D(2026, 3, 31)
    assert nth_period(start, "month", 1).end == D(2026, 3, 31)


def test_adding_a_non_integer_number_of_months_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        add_months(D(2026, 1, 1), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_months(D(2026, 1, 1), True)


def test_adding_months_beyond_the_calendar_is_refused() -> None:
    with pytest.raises(ValueError):
        add_months(D(9999, 12, 1), 1)


# --- Period -------------------------------------------------------------------------------


def test_a_period_is_half_open_and_counts_its_days() -> None:
    period = Period(D(2026, 1, 31), D(2026, 2, 28))
    assert period.days == 28
    assert period.contains(D(2026, 1, 31))
    assert period.contains(D(2026, 2, 27))
    assert not period.contains(D(2026, 2, 28))
    assert not period.contains(D(2026, 1, 30))


def test_a_period_starts_and_ends_at_midnight_utc() -> None:
    period = Period(D(2026, 3, 1), D(2026, 4, 1))
    assert period.start_instant == datetime(2026, 3, 1, tzinfo=UTC)
    assert period.end_instant == datetime(2026, 4, 1, tzinfo=UTC)
    assert period.start_instant.tzinfo is UTC
    assert period.end_instant.utcoffset() == timedelta(0)
    assert period.contains_instant(datetime(2026, 3, 31, 23, 59, 59, 999999, UTC))
    assert not period.contains_instant(datetime(2026, 4, 1, tzinfo=UTC))
    # 00:30 on 1 March in UTC+1 is still 28 February in UTC
    plus_one = timezone(timedelta(hours=1))
    assert not period.contains_instant(datetime(2026, 3, 1, 0, 30, tzinfo=plus_one))


def test_a_naive_datetime_is_not_an_instant() -> None:
    period = Period(D(2026, 3, 1), D(2026, 4, 1))
    with pytest.raises(ValueError):
        period.contains_instant(datetime(2026, 3, 2))


@pytest.mark.parametrize(
    ("start", "end"), [(D(2026, 3, 1), D(2026, 3, 1)), (D(2026, 3, 2), D(2026, 3, 1))]
)
def test_a_period_must_end_after_it_starts(start: date, end: date) -> None:
    with pytest.raises(ValueError):
        Period(start, end)


def test_a_period_is_made_of_dates_not_datetimes() -> None:
    with pytest.raises(TypeError):
        Period(datetime(2026, 3, 1, tzinfo=UTC), D(2026, 4, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Period(D(2026, 3, 1), D(2026, 4, 1)).contains(datetime(2026, 3, 5))


def test_a_period_is_immutable_and_compares_by_value() -> None:
    period = Period(D(2026, 3, 1), D(2026, 4, 1))
    assert period == Period(D(2026, 3, 1), D(2026, 4, 1))
    with pytest.raises(AttributeError):
        period.start = D(2026, 3, 2)  # type: ignore[misc]


# --- intervals and contract dates -----------------------------------------------------------


def test_a_billing_interval_is_a_month_or_a_year() -> None:
    assert interval_months("month") == 1
    assert interval_months("year") == 12


@pytest.mark.parametrize("interval", ["week", "Month", "yearly", "", None])
def test_an_unknown_billing_interval_is_refused_naming_the_field(interval: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        interval_months(interval)  # type: ignore[arg-type]
    assert caught.value.field == "billing_interval"
    with pytest.raises(InvalidInput):
        nth_period(D(2026, 1, 1), interval, 0)  # type: ignore[arg-type]


def test_a_contract_may_not_end_before_it_starts() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_contract_dates(D(2026, 1, 1), D(2025, 12, 31))
    assert caught.value.field == "end_date"
    with pytest.raises(InvalidInput) as caught:
        period_containing(D(2026, 1, 1), "month", D(2026, 1, 1), D(2025, 12, 31))
    assert caught.value.field == "end_date"


def test_a_one_day_contract_and_an_evergreen_contract_are_valid() -> None:
    validate_contract_dates(D(2026, 1, 1), D(2026, 1, 1))
    validate_contract_dates(D(2026, 1, 1), None)
    assert nth_period(D(2026, 1, 1), "year", 0, D(2026, 1, 1)) == Period(
        D(2026, 1, 1), D(2026, 1, 2)
    )


# --- periods of a contract -------------------------------------------------------------------


def test_a_start_on_the_31st_bills_on_the_last_day_of_shorter_months() -> None:
    periods = periods_between(D(2026, 1, 31), "month", D(2026, 1, 31), D(2026, 8, 31))
    assert spans(periods) == [
        (D(2026, 1, 31), D(2026, 2, 28)),
        (D(2026, 2, 28), D(2026, 3, 31)),
        (D(2026, 3, 31), D(2026, 4, 30)),
        (D(2026, 4, 30), D(2026, 5, 31)),
        (D(2026, 5, 31), D(2026, 6, 30)),
        (D(2026, 6, 30), D(2026, 7, 31)),
        (D(2026, 7, 31), D(2026, 8, 31)),
        (D(2026, 8, 31), D(2026, 9, 30)),
    ]
    assert [p.days for p in periods] == [28, 31, 30, 31, 30, 31, 31, 30]


def test_a_start_on_the_31st_of_january_in_a_leap_year_bills_on_the_29th_of_february() -> None:
    periods = periods_between(D(2028, 1, 31), "month", D(2028, 1, 31), D(2028, 3, 31))
    assert spans(periods) == [
        (D(2028, 1, 31), D(2028, 2, 29)),
        (D(2028, 2, 29), D(2028, 3, 31)),
        (D(2028, 3, 31), D(2028, 4, 30)),
    ]


def test_a_yearly_contract_from_the_29th_of_february_renews_on_the_28th_until_a_leap_year() -> None:
    periods = periods_between(D(2028, 2, 29), "year", D(2028, 2, 29), D(2032, 3, 1))
    assert spans(periods) == [
        (D(2028, 2, 29), D(2029, 2, 28)),
        (D(2029, 2, 28), D(2030, 2, 28)),
        (D(2030, 2, 28), D(2031, 2, 28)),
        (D(2031, 2, 28), D(2032, 2, 29)),
        (D(2032, 2, 29), D(2033, 2, 28)),
    ]
    assert [p.days for p in periods] == [365, 365, 365, 366, 365]


def test_a_contract_starting_on_the_first_bills_calendar_months() -> None:
    periods = periods_between(D(2026, 1, 1), "month", D(2026, 1, 1), D(2026, 12, 31))
    assert [p.start for p in periods] == [D(2026, m, 1) for m in range(1, 13)]
    assert periods[-1].end == D(2027, 1, 1)


def test_a_last_period_cut_short_by_the_end_date_ends_the_day_after_it() -> None:
    periods = periods_between(
        D(2026, 1, 1), "month", D(2026, 1, 1), D(2026, 12, 31), contract_end=D(2026, 3, 15)
    )
    assert spans(periods) == [
        (D(2026, 1, 1), D(2026, 2, 1)),
        (D(2026, 2, 1), D(2026, 3, 1)),
        (D(2026, 3, 1), D(2026, 3, 16)),
    ]
    assert periods[-1].days == 15


def test_a_yearly_contract_ending_on_the_eve_of_its_anniversary_is_not_cut() -> None:
    start, end = D(2026, 1, 1), D(2026, 12, 31)
    assert periods_between(start, "year", start, D(2030, 1, 1), contract_end=end) == [
        Period(D(2026, 1, 1), D(2027, 1, 1))
    ]


def test_a_contract_ending_on_a_period_start_has_a_one_day_last_period() -> None:
    periods = periods_between(
        D(2026, 1, 31), "month", D(2026, 1, 1), D(2027, 1, 1), contract_end=D(2026, 3, 31)
    )
    assert spans(periods)[-2:] == [
        (D(2026, 2, 28), D(2026, 3, 31)),
        (D(2026, 3, 31), D(2026, 4, 1)),
    ]


def test_periods_between_lists_every_period_touching_the_range_of_days() -> None:
    start = D(2026, 1, 15)
    # first_day in the middle of a period: that period is included from its own start
    periods = periods_between(start, "month", D(2026, 3, 1), D(2026, 4, 15))
    assert spans(periods) == [
        (D(2026, 2, 15), D(2026, 3, 15)),
        (D(2026, 3, 15), D(2026, 4, 15)),
        (D(2026, 4, 15), D(2026, 5, 15)),
    ]
    # until on the last day before a period start: that period is not included
    assert periods_between(start, "month", D(2026, 3, 1), D(2026, 4, 14))[-1].start == D(
        2026, 3, 15
    )
    # a single day gives the one period containing it
    assert periods_between(start, "month", D(2026, 3, 20), D(2026, 3, 20)) == [
        Period(D(2026, 3, 15), D(2026, 4, 15))
    ]


def test_periods_between_ignores_days_outside_the_contract() -> None:
    start, end = D(2026, 1, 15), D(2026, 2, 20)
    assert spans(periods_between(start, "month", D(2025, 1, 1), D(2030, 1, 1), end)) == [
        (D(2026, 1, 15), D(2026, 2, 15)),
        (D(2026, 2, 15), D(2026, 2, 21)),
    ]
    assert periods_between(start, "month", D(2025, 1, 1), D(2026, 1, 14)) == []
    assert periods_between(start, "month", D(2026, 2, 21), D(2027, 1, 1), end) == []


def test_periods_between_an_empty_range_is_empty() -> None:
    assert periods_between(D(2026, 1, 1), "month", D(2026, 5, 2), D(2026, 5, 1)) == []


def test_the_period_containing_a_day_before_the_anchor_day_is_the_previous_one() -> None:
    start = D(2026, 1, 31)
    assert period_containing(start, "month", D(2026, 2, 27)) == Period(
        D(2026, 1, 31), D(2026, 2, 28)
    )
    assert period_containing(start, "month", D(2026, 2, 28)) == Period(
        D(2026, 2, 28), D(2026, 3, 31)
    )
    assert period_containing(start, "month", D(2026, 3, 30)) == Period(
        D(2026, 2, 28), D(2026, 3, 31)
    )
    assert period_containing(D(2026, 1, 15), "year", D(2027, 1, 14)) == Period(
        D(2026, 1, 15), D(2027, 1, 15)
    )
    assert period_containing(D(2026, 1, 15), "year", D(2027, 1, 15)) == Period(
        D(2027, 1, 15), D(2028, 1, 15)
    )


def test_the_period_containing_a_day_in_a_cut_last_period_is_cut() -> None:
    assert period_containing(
        D(2026, 1, 1), "year", D(2026, 5, 5), contract_end=D(2026, 6, 30)
    ) == Period(D(2026, 1, 1), D(2026, 7, 1))


@pytest.mark.parametrize("d", [D(2025, 12, 31), D(2026, 7, 1)])
def test_no_period_contains_a_day_outside_the_contract(d: date) -> None:
    with pytest.raises(ValueError):
        period_containing(D(2026, 1, 1), "month", d, contract_end=D(2026, 6, 30))


def test_the_nth_period_counts_from_zero() -> None:
    start = D(2026, 1, 31)
    assert nth_period(start, "month", 0) == Period(D(2026, 1, 31), D(2026, 2, 28))
    assert nth_period(start, "month", 13) == Period(D(2027, 2, 28), D(2027, 3, 31))
    assert nth_period(start, "year", 2) == Period(D(2028, 1, 31), D(2029, 1, 31))


@pytest.mark.parametrize("n", [-1, 6])
def test_there_is_no_period_before_the_first_or_after_the_contract_end(n: int) -> None:
    with pytest.raises(ValueError):
        nth_period(D(2026, 1, 1), "month", n, contract_end=D(2026, 6, 30))


# --- contract months (true-up) ----------------------------------------------------------------


def test_contract_months_are_calendar_months_for_a_start_on_the_first() -> None:
    assert month_containing(D(2026, 1, 1), D(2026, 3, 17)) == Period(D(2026, 3, 1), D(2026, 4, 1))


def test_contract_months_are_anchored_like_the_billing_periods() -> None:
    assert month_containing(D(2026, 1, 31), D(2026, 3, 1)) == Period(D(2026, 2, 28), D(2026, 3, 31))
    assert month_containing(D(2026, 1, 15), D(2026, 3, 14)) == Period(
        D(2026, 2, 15), D(2026, 3, 15)
    )


@pytest.mark.parametrize(
    ("month", "expected"),
    [(1, (12, 12)), (3, (10, 12)), (4, (9, 12)), (5, (8, 12)), (12, (1, 12))],
)
def test_a_yearly_true_up_counts_the_months_left_including_the_month_of_change(
    month: int, expected: tuple[int, int]
) -> None:
    start = D(2026, 1, 1)
    year = nth_period(start, "year", 0)
    assert months_left_in_period(year, start, D(2026, month, 1)) == expected


def test_any_day_of_the_month_of_change_counts_that_month() -> None:
    start = D(2026, 1, 1)
    year = nth_period(start, "year", 0)
    assert months_left_in_period(year, start, D(2026, 3, 31)) == (10, 12)


def test_a_monthly_true_up_is_one_month_of_one() -> None:
    start = D(2026, 1, 31)
    period = period_containing(start, "month", D(2026, 3, 5))
    assert months_left_in_period(period, start, D(2026, 3, 5)) == (1, 1)


def test_months_left_follow_an_anchored_contract() -> None:
    start = D(2026, 3, 15)
    year = nth_period(start, "year", 1)  # 15 Mar 2027 – 15 Mar 2028
    # 20 Apr 2027 is in the second contract month of that year (15 Apr – 15 May)
    assert months_left_in_period(year, start, D(2027, 4, 20)) == (11, 12)
    assert months_left_in_period(year, start, D(2027, 4, 14)) == (12, 12)


def test_a_cut_period_counts_its_own_months_unless_told_the_interval() -> None:
    start = D(2026, 1, 1)
    cut = nth_period(start, "year", 0, contract_end=D(2026, 6, 10))
    assert cut == Period(D(2026, 1, 1), D(2026, 6, 11))
    assert months_left_in_period(cut, start, D(2026, 3, 1)) == (4, 6)
    assert months_left_in_period(cut, start, D(2026, 3, 1), interval="year") == (4, 12)


def test_months_left_refuses_a_day_outside_the_period_or_a_period_off_the_months() -> None:
    start = D(2026, 1, 1)
    year = nth_period(start, "year", 0)
    with pytest.raises(ValueError):
        months_left_in_period(year, start, D(2027, 1, 1))
    with pytest.raises(ValueError):
        months_left_in_period(Period(D(2026, 1, 2), D(2027, 1, 1)), start, D(2026, 3, 1))
    with pytest.raises(ValueError):
        months_left_in_period(Period(D(2025, 12, 1), D(2026, 1, 1)), start, D(2025, 12, 5))


# --- properties -------------------------------------------------------------------------------

anchors = st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31))


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, months=st.integers(min_value=-1200, max_value=1200))
def test_add_months_lands_on_the_anchor_day_or_the_last_day_of_the_month(
    anchor: date, months: int
) -> None:
    result = add_months(anchor, months)
    assert (result.year * 12 + result.month) - (anchor.year * 12 + anchor.month) == months
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(anchor.day, last)


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, interval=st.sampled_from(["month", "year"]))
def test_consecutive_periods_never_skip_or_overlap_a_day(anchor: date, interval: str) -> None:
    horizon = add_months(anchor, 36 if interval == "month" else 120)
    periods = periods_between(anchor, interval, anchor, horizon)
    assert periods[0].start == anchor
    assert periods[-1].contains(horizon)
    for before, after in zip(periods, periods[1:], strict=False):
        assert before.end == after.start
    allowed = range(28, 32) if interval == "month" else range(365, 367)
    for n, period in enumerate(periods):
        assert period.days in allowed
        # no drift: every start is the anchor's day, clamped to its month
        last = calendar.monthrange(period.start.year, period.start.month)[1]
        assert period.start.day == min(anchor.day, last)
        assert nth_period(anchor, interval, n) == period


@settings(max_examples=150, deadline=None)
@given(
    anchor=anchors,
    interval=st.sampled_from(["month", "year"]),
    offset=st.integers(min_value=0, max_value=4000),
)
def test_the_period_containing_a_day_contains_it_and_is_one_of_the_contracts_periods(
    anchor: date, interval: str, offset: int
) -> None:
    d = anchor + timedelta(days=offset)
    period = period_containing(anchor, interval, d)
    assert period.contains(d)
    assert periods_between(anchor, interval, d, d) == [period]
    assert period in periods_between(anchor, interval, anchor, d)


@settings(max_examples=150, deadline=None)
@given(
    anchor=anchors,
    interval=st.sampled_from(["month", "year"]),
    length=st.integers(min_value=0, max_value=1500),
)
def test_the_periods_of_a_fixed_term_contract_cover_exactly_its_days(
    anchor: date, interval: str, length: int
) -> None:
    end = anchor + timedelta(days=length)
    periods = periods_between(anchor, interval, anchor, end, contract_end=end)
    assert periods[0].start == anchor
    assert periods[-1].end == end + timedelta(days=1)
    assert sum(p.days for p in periods) == length + 1
    allowed = range(28, 32) if interval == "month" else range(365, 367)
    for before, after in zip(periods, periods[1:], strict=False):
        assert before.end == after.start
        assert before.days in allowed  # only the last one may be cut
    assert 1 <= periods[-1].days <= max(allowed)


@settings(max_examples=100, deadline=None)
@given(anchor=anchors, offset=st.integers(min_value=0, max_value=364))
def test_months_left_and_months_in_a_yearly_period_add_up(anchor: date, offset: int) -> None:
    year = nth_period(anchor, "year", 0)
    d = anchor + timedelta(days=offset)  # a year has at least 365 days: d is in it
    m, months = months_left_in_period(year, anchor, d)
    assert months == 12
    month = month_containing(anchor, d)
    elapsed = sum(1 for p in periods_between(anchor, "month", anchor, d) if p.start < month.start)
    assert m == 12 - elapsed
    assert 1 <= m <= 12


# --- purity -----------------------------------------------------------------------------------


def test_the_periods_module_imports_only_the_standard_library_and_never_reads_the_clock() -> None:
    source = Path(periods_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "__future__",
        "calendar",
        "dataclasses",
        "datetime",
        "seatledger.domain.errors",
    }
    for forbidden in ("now(", "today(", "utcnow(", "time.time"):
        assert forbidden not in source
