"""THE billing calendar: month arithmetic, periods and contract months (domain/periods.py,
PRODUCT.md §5 "Periods", §3 true-up months). Pure and fast."""

from __future__ import annotations

import ast
import calendar as std_calendar
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain import periods as periods_module
from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import (
    BillingPeriod,
    Calendar,
    Period,
    Segment,
    add_months,
    instant,
    interval_months,
    months_from,
)

D = date
ONE_DAY = timedelta(days=1)
INTERVALS = ("month", "quarter", "half_year", "year")
# the days a full period of each interval may last
FULL_DAYS = {
    "month": range(28, 32),
    "quarter": range(89, 93),  # 31 Jan → 30 Apr: 89; 30 Nov → 28 Feb: 90; 31 Dec → 31 Mar: 90
    "half_year": range(181, 185),
    "year": range(365, 367),
}


def contract_calendar(
    anchor: date,
    interval: str = "month",
    *,
    start: date | None = None,
    end_date: date | None = None,
) -> Calendar:
    """The calendar of one contract version: periods of ``interval`` on ``anchor``, billed
    from ``start`` (default: the anchor) through ``end_date`` (inclusive; None: evergreen)."""
    first = start or anchor
    span_end = end_date + ONE_DAY if end_date else None
    return Calendar(anchor, (Segment(first, 0, interval_months(interval)),), ((first, span_end),))


def spans(periods: list[BillingPeriod]) -> list[tuple[date, date]]:
    return [(p.start, p.end) for p in periods]


def billing_period(cal: Calendar, day: date) -> BillingPeriod:
    period = cal.period_containing(day)
    assert period is not None, f"no billing period holds {day}"
    return period


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
    periods = contract_calendar(start).periods(start, D(2026, 4, 30))
    assert periods[2].start == D(2026, 3, 31)
    assert periods[1].end == D(2026, 3, 31)
    assert periods[3].start == D(2026, 4, 30)


def test_adding_a_non_integer_number_of_months_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        add_months(D(2026, 1, 1), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_months(D(2026, 1, 1), True)


def test_adding_months_beyond_the_calendar_is_refused() -> None:
    with pytest.raises(ValueError):
        add_months(D(9999, 12, 1), 1)


# --- months_from and instant ------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "day", "expected"),
    [
        (D(2026, 1, 31), D(2026, 1, 31), 0),
        (D(2026, 1, 31), D(2026, 2, 27), 0),
        (D(2026, 1, 31), D(2026, 2, 28), 1),  # 31 Jan + 1 month is 28 Feb
        (D(2026, 1, 31), D(2026, 3, 30), 1),
        (D(2026, 1, 31), D(2026, 3, 31), 2),
        (D(2028, 1, 31), D(2028, 2, 29), 1),  # leap year
        (D(2026, 1, 15), D(2027, 1, 14), 11),
        (D(2026, 1, 15), D(2027, 1, 15), 12),
        (D(2026, 2, 1), D(2026, 1, 12), -1),  # a day before the anchor
        (D(2026, 2, 1), D(2026, 1, 1), -1),
        (D(2026, 2, 1), D(2025, 12, 31), -2),
    ],
)
def test_months_from_counts_the_whole_months_since_the_anchor(
    anchor: date, day: date, expected: int
) -> None:
    assert months_from(anchor, day) == expected


def test_an_instant_is_midnight_utc_of_its_day() -> None:
    assert instant(D(2026, 3, 1)) == datetime(2026, 3, 1, tzinfo=UTC)
    assert instant(D(2026, 3, 1)).utcoffset() == timedelta(0)


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


# --- intervals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "months"), [("month", 1), ("quarter", 3), ("half_year", 6), ("year", 12)]
)
def test_a_billing_interval_is_one_three_six_or_twelve_months(interval: str, months: int) -> None:
    assert interval_months(interval) == months


@pytest.mark.parametrize("interval", ["week", "Month", "yearly", "quarterly", "", None])
def test_an_unknown_billing_interval_is_refused_naming_the_field(interval: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        interval_months(interval)  # type: ignore[arg-type]
    assert caught.value.field == "billing_interval"


# --- periods of one contract ----------------------------------------------------------------


def test_a_start_on_the_31st_bills_on_the_last_day_of_shorter_months() -> None:
    periods = contract_calendar(D(2026, 1, 31)).periods(D(2026, 1, 31), D(2026, 8, 31))
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
    assert all(p.full == p.period and p.months == 1 for p in periods)  # none is cut


def test_a_start_on_the_31st_of_january_in_a_leap_year_bills_on_the_29th_of_february() -> None:
    periods = contract_calendar(D(2028, 1, 31)).periods(D(2028, 1, 31), D(2028, 3, 31))
    assert spans(periods) == [
        (D(2028, 1, 31), D(2028, 2, 29)),
        (D(2028, 2, 29), D(2028, 3, 31)),
        (D(2028, 3, 31), D(2028, 4, 30)),
    ]
    assert [p.days for p in periods] == [29, 31, 30]


def test_a_yearly_contract_from_the_29th_of_february_renews_on_the_28th_until_a_leap_year() -> None:
    cal = contract_calendar(D(2028, 2, 29), "year")
    periods = cal.periods(D(2028, 2, 29), D(2032, 3, 1))
    assert spans(periods) == [
        (D(2028, 2, 29), D(2029, 2, 28)),
        (D(2029, 2, 28), D(2030, 2, 28)),
        (D(2030, 2, 28), D(2031, 2, 28)),
        (D(2031, 2, 28), D(2032, 2, 29)),
        (D(2032, 2, 29), D(2033, 2, 28)),
    ]
    assert [p.days for p in periods] == [365, 365, 365, 366, 365]
    assert {p.months for p in periods} == {12}


def test_a_contract_starting_on_the_first_bills_calendar_months() -> None:
    periods = contract_calendar(D(2026, 1, 1)).periods(D(2026, 1, 1), D(2026, 12, 31))
    assert [p.start for p in periods] == [D(2026, m, 1) for m in range(1, 13)]
    assert periods[-1].end == D(2027, 1, 1)


def test_a_quarterly_contract_on_the_first_bills_calendar_quarters() -> None:
    periods = contract_calendar(D(2026, 1, 1), "quarter").periods(D(2026, 1, 1), D(2026, 12, 31))
    assert spans(periods) == [
        (D(2026, 1, 1), D(2026, 4, 1)),
        (D(2026, 4, 1), D(2026, 7, 1)),
        (D(2026, 7, 1), D(2026, 10, 1)),
        (D(2026, 10, 1), D(2027, 1, 1)),
    ]
    assert [p.days for p in periods] == [90, 91, 92, 92]  # 31+28+31, 30+31+30, 31+31+30, ...
    assert {p.months for p in periods} == {3}


def test_a_quarterly_calendar_anchored_on_the_31st_of_january_keeps_the_month_ends() -> None:
    periods = contract_calendar(D(2026, 1, 31), "quarter").periods(D(2026, 1, 31), D(2026, 12, 31))
    # 31 Jan → 30 Apr → 31 Jul → 31 Oct → 31 Jan: never drifting to the 30th
    assert [p.start for p in periods] == [
        D(2026, 1, 31),
        D(2026, 4, 30),
        D(2026, 7, 31),
        D(2026, 10, 31),
    ]
    assert periods[-1].end == D(2027, 1, 31)
    assert [p.days for p in periods] == [89, 92, 92, 92]


def test_a_half_yearly_contract_bills_two_periods_a_year() -> None:
    cal = contract_calendar(D(2026, 8, 31), "half_year")
    periods = cal.periods(D(2026, 8, 31), D(2028, 2, 29))
    # 31 Aug → 28 Feb → 31 Aug → 29 Feb (2028 is a leap year)
    assert spans(periods) == [
        (D(2026, 8, 31), D(2027, 2, 28)),
        (D(2027, 2, 28), D(2027, 8, 31)),
        (D(2027, 8, 31), D(2028, 2, 29)),
        (D(2028, 2, 29), D(2028, 8, 31)),
    ]
    assert [p.days for p in periods] == [181, 184, 182, 184]
    assert {p.months for p in periods} == {6}


def test_a_last_period_cut_short_by_the_end_date_ends_the_day_after_it() -> None:
    cal = contract_calendar(D(2026, 1, 1), end_date=D(2026, 3, 15))
    periods = cal.periods(D(2026, 1, 1), D(2026, 12, 31))
    assert spans(periods) == [
        (D(2026, 1, 1), D(2026, 2, 1)),
        (D(2026, 2, 1), D(2026, 3, 1)),
        (D(2026, 3, 1), D(2026, 3, 16)),
    ]
    # the cut period is prorated against the full month it is cut from: 15 of 31 days
    assert (periods[-1].days, periods[-1].full_days) == (15, 31)
    assert periods[-1].full == Period(D(2026, 3, 1), D(2026, 4, 1))


def test_a_yearly_contract_ending_on_the_eve_of_its_anniversary_is_not_cut() -> None:
    cal = contract_calendar(D(2026, 1, 1), "year", end_date=D(2026, 12, 31))
    [year] = cal.periods(D(2026, 1, 1), D(2030, 1, 1))
    assert (year.start, year.end) == (D(2026, 1, 1), D(2027, 1, 1))
    assert year.days == year.full_days == 365


def test_a_contract_ending_on_a_period_start_has_a_one_day_last_period() -> None:
    cal = contract_calendar(D(2026, 1, 31), end_date=D(2026, 3, 31))
    periods = cal.periods(D(2026, 1, 1), D(2027, 1, 1))
    assert spans(periods)[-2:] == [
        (D(2026, 2, 28), D(2026, 3, 31)),
        (D(2026, 3, 31), D(2026, 4, 1)),
    ]
    assert (periods[-1].days, periods[-1].full_days) == (1, 30)  # 1 of 31 Mar – 30 Apr


def test_a_start_before_the_anchor_gives_a_first_period_cut_short_to_the_anchor() -> None:
    cal = contract_calendar(D(2026, 2, 1), start=D(2026, 1, 12))
    periods = cal.periods(D(2026, 1, 1), D(2026, 3, 1))
    assert spans(periods) == [
        (D(2026, 1, 12), D(2026, 2, 1)),
        (D(2026, 2, 1), D(2026, 3, 1)),
        (D(2026, 3, 1), D(2026, 4, 1)),
    ]
    first = periods[0]
    # the full period of the leading short one is January: 20 of its 31 days are billed
    assert first.full == Period(D(2026, 1, 1), D(2026, 2, 1))
    assert (first.days, first.full_days, first.months) == (20, 31, 1)
    assert billing_period(cal, D(2026, 1, 31)) == first
    assert cal.period_containing(D(2026, 1, 11)) is None


def test_a_yearly_start_before_the_anchor_is_cut_from_the_year_ending_on_the_anchor() -> None:
    cal = contract_calendar(D(2026, 3, 1), "year", start=D(2026, 2, 15))
    first = billing_period(cal, D(2026, 2, 15))
    assert (first.start, first.end) == (D(2026, 2, 15), D(2026, 3, 1))
    assert first.full == Period(D(2025, 3, 1), D(2026, 3, 1))
    assert (first.days, first.full_days) == (14, 365)
    assert billing_period(cal, D(2026, 3, 1)).period == Period(D(2026, 3, 1), D(2027, 3, 1))


def test_periods_lists_every_period_starting_in_the_range_of_days() -> None:
    cal = contract_calendar(D(2026, 1, 15))
    # ``first`` in the middle of a period: that period started before it and is not listed
    assert spans(cal.periods(D(2026, 3, 1), D(2026, 4, 15))) == [
        (D(2026, 3, 15), D(2026, 4, 15)),
        (D(2026, 4, 15), D(2026, 5, 15)),
    ]
    # ``until`` on the last day before a period start: that period is not listed
    assert cal.periods(D(2026, 3, 1), D(2026, 4, 14))[-1].start == D(2026, 3, 15)
    # both bounds are inclusive: a single day that is a period start lists that period
    assert spans(cal.periods(D(2026, 3, 15), D(2026, 3, 15))) == [(D(2026, 3, 15), D(2026, 4, 15))]
    # a single day inside a period lists nothing; the period holding it is period_containing
    assert cal.periods(D(2026, 3, 20), D(2026, 3, 20)) == []
    assert billing_period(cal, D(2026, 3, 20)).period == Period(D(2026, 3, 15), D(2026, 4, 15))


def test_periods_ignores_days_outside_the_contract() -> None:
    cal = contract_calendar(D(2026, 1, 15), end_date=D(2026, 2, 20))
    assert spans(cal.periods(D(2025, 1, 1), D(2030, 1, 1))) == [
        (D(2026, 1, 15), D(2026, 2, 15)),
        (D(2026, 2, 15), D(2026, 2, 21)),
    ]
    assert cal.periods(D(2025, 1, 1), D(2026, 1, 14)) == []
    assert cal.periods(D(2026, 2, 21), D(2027, 1, 1)) == []


def test_periods_of_an_empty_range_is_empty() -> None:
    assert contract_calendar(D(2026, 1, 1)).periods(D(2026, 5, 2), D(2026, 5, 1)) == []


def test_the_period_containing_a_day_before_the_anchor_day_is_the_previous_one() -> None:
    cal = contract_calendar(D(2026, 1, 31))
    assert billing_period(cal, D(2026, 2, 27)).period == Period(D(2026, 1, 31), D(2026, 2, 28))
    assert billing_period(cal, D(2026, 2, 28)).period == Period(D(2026, 2, 28), D(2026, 3, 31))
    assert billing_period(cal, D(2026, 3, 30)).period == Period(D(2026, 2, 28), D(2026, 3, 31))
    yearly = contract_calendar(D(2026, 1, 15), "year")
    assert billing_period(yearly, D(2027, 1, 14)).period == Period(D(2026, 1, 15), D(2027, 1, 15))
    assert billing_period(yearly, D(2027, 1, 15)).period == Period(D(2027, 1, 15), D(2028, 1, 15))


def test_the_period_containing_a_day_in_a_cut_last_period_is_cut() -> None:
    cal = contract_calendar(D(2026, 1, 1), "year", end_date=D(2026, 6, 30))
    period = billing_period(cal, D(2026, 5, 5))
    assert period.period == Period(D(2026, 1, 1), D(2026, 7, 1))
    assert period.full == Period(D(2026, 1, 1), D(2027, 1, 1))
    assert (period.days, period.full_days, period.months) == (181, 365, 12)


@pytest.mark.parametrize("day", [D(2025, 12, 31), D(2026, 7, 1), D(2030, 1, 1)])
def test_no_period_contains_a_day_outside_the_contract(day: date) -> None:
    cal = contract_calendar(D(2026, 1, 1), end_date=D(2026, 6, 30))
    assert cal.period_containing(day) is None


def test_the_nth_period_starts_n_intervals_after_the_anchor() -> None:
    start = D(2026, 1, 31)
    monthly = contract_calendar(start).periods(start, D(2027, 3, 31))
    assert monthly[0].period == Period(D(2026, 1, 31), D(2026, 2, 28))
    assert monthly[13].period == Period(D(2027, 2, 28), D(2027, 3, 31))
    yearly = contract_calendar(start, "year").periods(start, D(2028, 1, 31))
    assert yearly[2].period == Period(D(2028, 1, 31), D(2029, 1, 31))


def test_there_is_no_period_before_the_first_or_after_the_contract_end() -> None:
    cal = contract_calendar(D(2026, 1, 1), end_date=D(2026, 6, 30))
    periods = cal.periods(D(2020, 1, 1), D(2030, 1, 1))
    assert len(periods) == 6
    assert (periods[0].start, periods[-1].end) == (D(2026, 1, 1), D(2026, 7, 1))


def test_a_billing_period_knows_its_instants_and_days() -> None:
    period = billing_period(
        contract_calendar(D(2026, 1, 1), end_date=D(2026, 3, 15)), D(2026, 3, 3)
    )
    assert period.start_instant == datetime(2026, 3, 1, tzinfo=UTC)
    assert period.end_instant == datetime(2026, 3, 16, tzinfo=UTC)
    assert period.contains(D(2026, 3, 15))
    assert not period.contains(D(2026, 3, 16))
    assert not period.contains(D(2026, 2, 28))


# --- a calendar of several spans and segments --------------------------------------------------


def test_a_gap_between_spans_is_in_no_period_and_billing_resumes_on_the_anchors_grid() -> None:
    anchor = D(2026, 1, 1)
    cal = Calendar(
        anchor,
        (Segment(anchor, 0, 1),),
        ((anchor, D(2026, 2, 1)), (D(2026, 3, 15), None)),
    )
    assert spans(cal.periods(anchor, D(2026, 4, 30))) == [
        (D(2026, 1, 1), D(2026, 2, 1)),
        (D(2026, 3, 15), D(2026, 4, 1)),  # cut from March: 17 of 31 days
        (D(2026, 4, 1), D(2026, 5, 1)),
    ]
    assert cal.period_containing(D(2026, 2, 14)) is None
    resumed = billing_period(cal, D(2026, 3, 15))
    assert (resumed.days, resumed.full_days) == (17, 31)


def test_a_segment_change_of_interval_at_a_period_boundary_starts_the_new_grid_there() -> None:
    anchor = D(2026, 1, 1)
    # monthly, then quarterly from 1 April (3 months after the anchor)
    cal = Calendar(anchor, (Segment(anchor, 0, 1), Segment(D(2026, 4, 1), 3, 3)), ((anchor, None),))
    periods = cal.periods(anchor, D(2026, 12, 31))
    assert [(p.start, p.end, p.months) for p in periods] == [
        (D(2026, 1, 1), D(2026, 2, 1), 1),
        (D(2026, 2, 1), D(2026, 3, 1), 1),
        (D(2026, 3, 1), D(2026, 4, 1), 1),
        (D(2026, 4, 1), D(2026, 7, 1), 3),
        (D(2026, 7, 1), D(2026, 10, 1), 3),
        (D(2026, 10, 1), D(2027, 1, 1), 3),
    ]
    assert cal.grid_period(D(2026, 3, 31)) == (Period(D(2026, 3, 1), D(2026, 4, 1)), 1)
    assert cal.grid_period(D(2026, 4, 1)) == (Period(D(2026, 4, 1), D(2026, 7, 1)), 3)


def test_a_segment_change_off_the_old_grid_keeps_the_anchors_day() -> None:
    anchor = D(2026, 1, 31)
    # monthly on the 31st, then quarterly from 30 April (anchor + 3 months) on
    cal = Calendar(
        anchor, (Segment(anchor, 0, 1), Segment(D(2026, 4, 30), 3, 3)), ((anchor, None),)
    )
    assert [p.start for p in cal.periods(anchor, D(2027, 1, 31))] == [
        D(2026, 1, 31),
        D(2026, 2, 28),
        D(2026, 3, 31),
        D(2026, 4, 30),
        D(2026, 7, 31),
        D(2026, 10, 31),
        D(2027, 1, 31),
    ]


def test_a_yearly_calendar_changing_to_monthly_bills_months_after_the_year() -> None:
    anchor = D(2026, 1, 1)
    cal = Calendar(
        anchor, (Segment(anchor, 0, 12), Segment(D(2027, 1, 1), 12, 1)), ((anchor, None),)
    )
    assert [(p.start, p.end, p.months) for p in cal.periods(anchor, D(2027, 3, 1))] == [
        (D(2026, 1, 1), D(2027, 1, 1), 12),
        (D(2027, 1, 1), D(2027, 2, 1), 1),
        (D(2027, 2, 1), D(2027, 3, 1), 1),
        (D(2027, 3, 1), D(2027, 4, 1), 1),
    ]


# --- contract months (true-up) ----------------------------------------------------------------


def test_contract_months_are_calendar_months_for_an_anchor_on_the_first() -> None:
    cal = contract_calendar(D(2026, 1, 1), "year")
    assert cal.month_containing(D(2026, 3, 17)) == Period(D(2026, 3, 1), D(2026, 4, 1))


def test_contract_months_are_anchored_like_the_billing_periods() -> None:
    cal = contract_calendar(D(2026, 1, 31), "year")
    assert cal.month_containing(D(2026, 3, 1)) == Period(D(2026, 2, 28), D(2026, 3, 31))
    cal = contract_calendar(D(2026, 1, 15), "year")
    assert cal.month_containing(D(2026, 3, 14)) == Period(D(2026, 2, 15), D(2026, 3, 15))


def test_contract_months_before_the_anchor_are_on_the_anchors_grid() -> None:
    cal = contract_calendar(D(2026, 2, 1), start=D(2026, 1, 12))
    assert cal.month_containing(D(2026, 1, 12)) == Period(D(2026, 1, 1), D(2026, 2, 1))


@pytest.mark.parametrize(
    ("month", "expected"),
    [(1, (12, 12)), (3, (10, 12)), (4, (9, 12)), (5, (8, 12)), (12, (1, 12))],
)
def test_a_yearly_true_up_counts_the_months_left_including_the_month_of_change(
    month: int, expected: tuple[int, int]
) -> None:
    cal = contract_calendar(D(2026, 1, 1), "year")
    year = billing_period(cal, D(2026, 1, 1))
    assert cal.months_left(year, D(2026, month, 1)) == expected


def test_any_day_of_the_month_of_change_counts_that_month() -> None:
    cal = contract_calendar(D(2026, 1, 1), "year")
    year = billing_period(cal, D(2026, 1, 1))
    assert cal.months_left(year, D(2026, 3, 31)) == (10, 12)
    assert cal.months_left(year, D(2026, 3, 1)) == (10, 12)


def test_a_monthly_true_up_is_one_month_of_one() -> None:
    cal = contract_calendar(D(2026, 1, 31))
    period = billing_period(cal, D(2026, 3, 5))
    assert cal.months_left(period, D(2026, 3, 5)) == (1, 1)


def test_a_quarterly_and_a_half_yearly_true_up_count_months_of_their_period() -> None:
    quarterly = contract_calendar(D(2026, 1, 1), "quarter")
    q1 = billing_period(quarterly, D(2026, 2, 10))
    assert quarterly.months_left(q1, D(2026, 2, 10)) == (2, 3)  # February and March
    assert quarterly.months_left(q1, D(2026, 3, 31)) == (1, 3)
    half = contract_calendar(D(2026, 1, 1), "half_year")
    h2 = billing_period(half, D(2026, 8, 20))
    assert half.months_left(h2, D(2026, 8, 20)) == (5, 6)  # August to December


def test_months_left_follow_an_anchored_contract() -> None:
    cal = contract_calendar(D(2026, 3, 15), "year")
    year = billing_period(cal, D(2027, 3, 15))  # 15 Mar 2027 – 15 Mar 2028
    # 20 Apr 2027 is in the second contract month of that year (15 Apr – 15 May)
    assert cal.months_left(year, D(2027, 4, 20)) == (11, 12)
    assert cal.months_left(year, D(2027, 4, 14)) == (12, 12)


def test_a_period_cut_by_the_end_counts_only_its_months_left_of_the_intervals_months() -> None:
    cal = contract_calendar(D(2026, 1, 1), "year", end_date=D(2026, 6, 10))
    cut = billing_period(cal, D(2026, 3, 1))
    assert cut.period == Period(D(2026, 1, 1), D(2026, 6, 11))
    # March, April, May and the start of June are left, of the year's 12 months
    assert cal.months_left(cut, D(2026, 3, 1)) == (4, 12)
    assert cal.months_left(cut, D(2026, 6, 5)) == (1, 12)


def test_months_left_in_a_quarter_after_a_change_from_monthly_billing() -> None:
    anchor = D(2026, 1, 1)
    cal = Calendar(anchor, (Segment(anchor, 0, 1), Segment(D(2026, 4, 1), 3, 3)), ((anchor, None),))
    assert cal.months_left(billing_period(cal, D(2026, 3, 9)), D(2026, 3, 9)) == (1, 1)
    assert cal.months_left(billing_period(cal, D(2026, 5, 9)), D(2026, 5, 9)) == (2, 3)


# --- properties -------------------------------------------------------------------------------

anchors = st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31))
intervals = st.sampled_from(INTERVALS)


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, months=st.integers(min_value=-1200, max_value=1200))
def test_add_months_lands_on_the_anchor_day_or_the_last_day_of_the_month(
    anchor: date, months: int
) -> None:
    result = add_months(anchor, months)
    assert (result.year * 12 + result.month) - (anchor.year * 12 + anchor.month) == months
    last = std_calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(anchor.day, last)


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, offset=st.integers(min_value=-400, max_value=4000))
def test_months_from_is_the_last_whole_month_on_or_before_the_day(
    anchor: date, offset: int
) -> None:
    day = anchor + timedelta(days=offset)
    n = months_from(anchor, day)
    assert add_months(anchor, n) <= day < add_months(anchor, n + 1)


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, interval=intervals)
def test_consecutive_periods_never_skip_or_overlap_a_day(anchor: date, interval: str) -> None:
    step = interval_months(interval)
    horizon = add_months(anchor, 10 * step)
    periods = contract_calendar(anchor, interval).periods(anchor, horizon)
    assert periods[0].start == anchor
    assert periods[-1].contains(horizon)
    for before, after in zip(periods, periods[1:], strict=False):
        assert before.end == after.start
    for n, period in enumerate(periods):
        assert period.days in FULL_DAYS[interval]
        assert period.full == period.period and period.months == step
        # no drift: every start is the anchor's day, clamped to its month
        last = std_calendar.monthrange(period.start.year, period.start.month)[1]
        assert period.start.day == min(anchor.day, last)
        assert period.start == add_months(anchor, n * step)


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, interval=intervals, offset=st.integers(min_value=0, max_value=4000))
def test_the_period_containing_a_day_contains_it_and_is_one_of_the_contracts_periods(
    anchor: date, interval: str, offset: int
) -> None:
    cal = contract_calendar(anchor, interval)
    day = anchor + timedelta(days=offset)
    period = billing_period(cal, day)
    assert period.contains(day)
    assert cal.periods(period.start, day) == [period]
    assert period in cal.periods(anchor, day)


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, interval=intervals, length=st.integers(min_value=0, max_value=1500))
def test_the_periods_of_a_fixed_term_contract_cover_exactly_its_days(
    anchor: date, interval: str, length: int
) -> None:
    end = anchor + timedelta(days=length)
    periods = contract_calendar(anchor, interval, end_date=end).periods(anchor, end)
    assert periods[0].start == anchor
    assert periods[-1].end == end + ONE_DAY
    assert sum(p.days for p in periods) == length + 1
    for before, after in zip(periods, periods[1:], strict=False):
        assert before.end == after.start
        assert before.days in FULL_DAYS[interval]  # only the last one may be cut
    assert 1 <= periods[-1].days <= periods[-1].full_days
    assert periods[-1].full_days in FULL_DAYS[interval]


@settings(max_examples=150, deadline=None)
@given(
    anchor=anchors,
    interval=intervals,
    lead=st.integers(min_value=1, max_value=364),
)
def test_a_start_before_the_anchor_is_billed_in_the_part_of_the_grid_period_it_falls_in(
    anchor: date, interval: str, lead: int
) -> None:
    step = interval_months(interval)
    start = max(anchor - timedelta(days=lead), add_months(anchor, -step) + ONE_DAY)
    cal = contract_calendar(anchor, interval, start=start)
    first = billing_period(cal, start)
    assert (first.start, first.end) == (start, anchor)
    assert first.full == Period(add_months(anchor, -step), anchor)
    assert 1 <= first.days < first.full_days
    assert cal.periods(start, anchor)[1].start == anchor


@settings(max_examples=100, deadline=None)
@given(anchor=anchors, offset=st.integers(min_value=0, max_value=364))
def test_months_left_and_months_elapsed_in_a_yearly_period_add_up(
    anchor: date, offset: int
) -> None:
    cal = contract_calendar(anchor, "year")
    year = billing_period(cal, anchor)
    day = anchor + timedelta(days=offset)  # a year has at least 365 days: day is in it
    m, months = cal.months_left(year, day)
    assert months == 12
    assert m == 12 - months_from(anchor, day)
    assert 1 <= m <= 12
    assert cal.month_containing(day).contains(day)


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
