"""When things fall due (domain/billing_calendar.py, PRODUCT.md §4 terms, §5): contract
coverage, billing periods, month closes, renewals, final invoices. Pure and fast."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain.billing_calendar import (
    FINAL,
    MONTH_CLOSE,
    PERIOD,
    RENEWAL,
    arrears_carried_at,
    coverage_on,
    coverages,
    due_events,
    instant,
)
from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.periods import add_months

ONE_DAY = timedelta(days=1)


def contract(
    start: date,
    *,
    interval: str = "month",
    end: date | None = None,
    version: int = 1,
    policy: str = "block",
) -> Contract:
    return Contract(
        id=f"ctr{version}",
        account_id="acc",
        version=version,
        start_date=start,
        end_date=end,
        billing_interval=interval,
        increase_approval="automatic",
        pools=[PoolTerms("console", 5 if policy != "metered" else 0, 0, Decimal("30.00"), policy)],
    )


def keys(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.key for e in events]


# ------------------------------------------------------------------------- examples


def test_a_monthly_contract_from_the_31st_bills_on_the_last_day_of_shorter_months():
    events = due_events([contract(date(2028, 1, 31))], instant(date(2028, 5, 1)))
    assert keys(events) == [
        "period:2028-01-31",
        "period:2028-02-29",
        "period:2028-03-31",
        "period:2028-04-30",
    ]


def test_what_falls_due_at_one_instant_comes_in_order_close_renewal_period_final():
    v1 = contract(date(2026, 1, 1), interval="year", policy="true_up")
    v2 = contract(
        date(2027, 1, 1), interval="year", end=date(2027, 12, 31), version=2, policy="true_up"
    )
    events = due_events([v1, v2], instant(date(2028, 1, 1)))
    at_2027 = [(e.order, e.key) for e in events if e.at == instant(date(2027, 1, 1))]
    assert at_2027 == [
        (MONTH_CLOSE, "month_close:2027-01-01"),
        (RENEWAL, "version:ctr2"),
        (PERIOD, "period:2027-01-01"),
    ]
    at_2028 = [(e.order, e.key) for e in events if e.at == instant(date(2028, 1, 1))]
    assert at_2028 == [(MONTH_CLOSE, "month_close:2028-01-01"), (FINAL, "final:2028-01-01")]


def test_an_evergreen_contract_renews_at_each_anniversary():
    events = due_events([contract(date(2025, 3, 15))], instant(date(2027, 6, 1)))
    assert [e.key for e in events if e.order == RENEWAL] == [
        "renewal:2026-03-15",
        "renewal:2027-03-15",
    ]


def test_a_fixed_term_contract_ends_with_a_final_event_and_nothing_after():
    c = contract(date(2026, 1, 1), end=date(2026, 3, 31))
    events = due_events([c], instant(date(2027, 1, 1)))
    assert keys(events) == [
        "period:2026-01-01",
        "period:2026-02-01",
        "period:2026-03-01",
        "final:2026-04-01",
    ]


def test_a_gap_between_versions_ends_the_first_with_a_final_event():
    v1 = contract(date(2026, 1, 1), end=date(2026, 1, 31))
    v2 = contract(date(2026, 3, 1), version=2)
    events = due_events([v1, v2], instant(date(2026, 3, 1)))
    assert keys(events) == [
        "period:2026-01-01",
        "final:2026-02-01",
        "version:ctr2",
        "period:2026-03-01",
    ]


def test_month_closes_are_listed_only_for_contracts_with_a_true_up_pool():
    plain = due_events([contract(date(2026, 1, 1), interval="year")], instant(date(2026, 4, 1)))
    assert [e for e in plain if e.order == MONTH_CLOSE] == []
    trued = due_events(
        [contract(date(2026, 1, 1), interval="year", policy="true_up")], instant(date(2026, 4, 1))
    )
    assert [e.key for e in trued if e.order == MONTH_CLOSE] == [
        "month_close:2026-02-01",
        "month_close:2026-03-01",
        "month_close:2026-04-01",
    ]


def test_until_with_another_offset_is_read_on_the_utc_calendar():
    c = [contract(date(2026, 1, 1))]
    minus_two = timezone(timedelta(hours=-2))
    # 31 Jan 23:30-02:00 is 1 Feb 01:30Z: February's invoice is due
    assert (
        keys(due_events(c, datetime(2026, 1, 31, 23, 30, tzinfo=minus_two)))[-1]
        == "period:2026-02-01"
    )
    # 1 Feb 01:30+02:00 is 31 Jan 23:30Z: it is not
    plus_two = timezone(timedelta(hours=2))
    assert keys(due_events(c, datetime(2026, 2, 1, 1, 30, tzinfo=plus_two))) == [
        "period:2026-01-01"
    ]
    with pytest.raises(ValueError):
        due_events(c, datetime(2026, 2, 1))


def test_arrears_are_carried_by_a_period_start_or_a_final_end_only():
    yearly = coverages([contract(date(2026, 1, 1), interval="year", end=date(2026, 6, 30))])
    assert arrears_carried_at(yearly, date(2026, 1, 1))
    assert not arrears_carried_at(yearly, date(2026, 4, 1))  # a month close inside the year
    assert arrears_carried_at(yearly, date(2026, 7, 1))  # the final invoice
    assert not arrears_carried_at(yearly, date(2026, 9, 1))


# ------------------------------------------------------------------------- properties


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))


@st.composite
def contract_histories(draw: st.DrawFn) -> list[Contract]:
    """One to three versions with increasing starts, some with an end date."""
    count = draw(st.integers(1, 3))
    starts = sorted(draw(st.lists(days, min_size=count, max_size=count, unique=True)))
    out = []
    for n, start in enumerate(starts, start=1):
        end = draw(
            st.one_of(st.none(), st.integers(0, 900).map(lambda k, s=start: s + timedelta(days=k)))
        )
        out.append(
            contract(
                start,
                interval=draw(st.sampled_from(["month", "year"])),
                end=end,
                version=n,
                policy=draw(st.sampled_from(["block", "true_up"])),
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(history=contract_histories(), horizon=st.integers(0, 1500))
def test_the_calendar_lists_each_period_exactly_once_and_never_skips_a_day(history, horizon):
    covs = coverages(history)
    first = min(c.start_date for c in history)
    until = first + timedelta(days=horizon)
    for cov in covs:
        periods = cov.periods(until)
        # contiguous from the coverage start: no day skipped, none billed twice
        expected_start = cov.start
        for period, full_days in periods:
            assert period.start == expected_start
            assert period.start <= until
            assert full_days >= period.days >= 1
            if cov.end is not None:
                assert period.end <= cov.end
            expected_start = period.end
        # ... up to the last period that started by ``until`` (or the coverage end)
        if periods and (cov.end is None or periods[-1][0].end < cov.end):
            assert periods[-1][0].end > until
        assert len({p.start for p, _ in periods}) == len(periods)
        # anchored on the coverage start: add_months from the ORIGINAL anchor
        step = 1 if cov.contract.billing_interval == "month" else 12
        for n, (period, full_days) in enumerate(periods):
            assert period.start == add_months(cov.start, n * step)
            assert full_days == (add_months(cov.start, (n + 1) * step) - period.start).days
    # coverages never overlap: each day is governed by at most one version
    for a, b in zip(covs, covs[1:], strict=False):
        assert a.end is not None and a.end <= b.start
    # the period invoices due are exactly those periods, each once
    events = due_events(history, instant(until))
    period_keys = [e.key for e in events if e.order == PERIOD]
    assert len(period_keys) == len(set(period_keys))
    assert sorted(period_keys) == sorted(
        f"period:{p.start}" for cov in covs for p, _ in cov.periods(until)
    )


@settings(max_examples=150, deadline=None)
@given(history=contract_histories(), horizon=st.integers(0, 1500), seconds=st.integers(0, 86_399))
def test_due_events_are_a_pure_function_of_their_inputs(history, horizon, seconds):
    until = instant(min(c.start_date for c in history) + timedelta(days=horizon)) + timedelta(
        seconds=seconds
    )
    first = due_events(history, until)
    assert due_events(history, until) == first
    assert due_events(list(reversed(history)), until) == first  # version order, not list order
    assert first == sorted(first)
    assert all(e.at <= until for e in first)
    assert len({e.key for e in first}) == len(first)  # every key once: exactly once


@settings(max_examples=150, deadline=None)
@given(history=contract_histories(), a=st.integers(0, 1500), b=st.integers(0, 1500))
def test_a_later_moment_only_adds_events(history, a, b):
    """A run as of t1 and then one as of t2 > t1 do exactly what one run as of t2 does."""
    first = min(c.start_date for c in history)
    early, late = sorted((instant(first + timedelta(days=a)), instant(first + timedelta(days=b))))
    before, after = due_events(history, early), due_events(history, late)
    assert after[: len(before)] == before
    assert all(e.at > early for e in after[len(before) :])


@settings(max_examples=100, deadline=None)
@given(history=contract_histories(), horizon=st.integers(0, 1500))
def test_month_closes_close_each_contract_month_once_in_order(history, horizon):
    covs = coverages(history)
    until = min(c.start_date for c in history) + timedelta(days=horizon)
    for cov in covs:
        closes = cov.month_closes(until)
        expected_start = cov.start
        for day, month in closes:
            assert month.start == expected_start and month.end == day <= until
            expected_start = day
        assert len({d for d, _ in closes}) == len(closes)


@settings(max_examples=100, deadline=None)
@given(history=contract_histories(), offset=st.integers(-30, 1500))
def test_the_coverage_of_a_day_contains_it(history, offset):
    covs = coverages(history)
    day = min(c.start_date for c in history) + timedelta(days=offset)
    cov = coverage_on(covs, day)
    holders = [c for c in covs if c.contains(day)]
    assert (cov is None) == (holders == [])
    if cov is not None:
        assert holders == [cov]
        period, _full = cov.period_containing(day)
        assert period.contains(day)
