"""An account's contract history as time (domain/timeline.py) and when things fall due
(planner.due_events): which version governs each day, the one calendar, trials, terms
and renewals, gaps, month closes and the order of events at one instant
(PRODUCT.md §1 contract, §4 Terms, §5 Periods). Pure and fast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain.contracts import Contract, PoolTerms, check_contract
from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import Period, add_months, instant, interval_months, months_from
from seatledger.domain.planner import BillingState, Phase, PlanInputs, due_events, plan
from seatledger.domain.timeline import Timeline, timeline

D = date
ONE_DAY = timedelta(days=1)
INTERVALS = ("month", "quarter", "half_year", "year")


def contract(
    start: date,
    *,
    interval: str = "month",
    end: date | None = None,
    version: int = 1,
    policy: str = "block",
    price: str = "30.00",
    anchor: date | None = None,
    trial_end: date | None = None,
    recorded_at: datetime | None = None,
) -> Contract:
    capacity = 0 if policy == "metered" else 5
    return Contract(
        id=f"ctr{version}",
        account_id="acc",
        version=version,
        start_date=start,
        end_date=end,
        billing_interval=interval,
        increase_approval="automatic",
        pools=[PoolTerms("console", capacity, 0, Decimal(price), policy)],
        billing_anchor=anchor,
        trial_end=trial_end,
        recorded_at=recorded_at,
    )


def account_timeline(*contracts: Contract) -> Timeline:
    tl = timeline(list(contracts))
    assert tl is not None
    return tl


def inputs(contracts: list[Contract]) -> PlanInputs:
    return PlanInputs(
        currency="EUR",
        tax_rate=None,
        contracts=contracts,
        state=BillingState(),
        ledger=[],
        done=frozenset(),
        issued=[],
        scheduled=[],
        applied=frozenset(),
    )


def events(contracts: list[Contract], until: datetime) -> list[tuple[date, Phase, str]]:
    """Every event from the first version's start to ``until``: (day, phase, key)."""
    tl = account_timeline(*contracts)
    return [(e.at.date(), e.phase, e.key) for e in due_events(tl, tl.governed[0].start, until)]


def keys(contracts: list[Contract], until: datetime) -> list[str]:
    return [key for _, _, key in events(contracts, until)]


def governed(tl: Timeline) -> list[tuple[str, date, date | None]]:
    return [(g.contract.id, g.start, g.end) for g in tl.governed]


def price_on(tl: Timeline, day: date) -> Decimal:
    pool = tl.terms("console", day)
    assert pool is not None
    return pool.unit_price


def spans(tl: Timeline, first: date, until: date) -> list[tuple[date, date]]:
    return [(p.start, p.end) for p in tl.calendar.periods(first, until)]


# --- which version governs each day ---------------------------------------------------------


def test_an_account_without_a_contract_has_no_timeline() -> None:
    assert timeline([]) is None


def test_the_first_version_governs_from_its_start_and_no_day_before() -> None:
    v1 = contract(D(2026, 1, 1))
    tl = account_timeline(v1)
    assert governed(tl) == [("ctr1", D(2026, 1, 1), None)]
    assert tl.version_on(D(2025, 12, 31)) is None
    assert tl.version_on(D(2026, 1, 1)) is v1
    assert tl.version_on(D(2031, 7, 9)) is v1  # evergreen
    assert tl.terms("console", D(2026, 1, 1)) == v1.pools[0]
    assert tl.terms("documents", D(2026, 1, 1)) is None  # a module no pool names
    assert tl.terms("console", D(2025, 12, 31)) is None


def test_a_version_with_the_same_interval_governs_from_its_own_start_day() -> None:
    v1 = contract(D(2026, 1, 1), price="30.00")
    v2 = contract(D(2026, 2, 15), version=2, price="40.00")
    tl = account_timeline(v1, v2)
    assert governed(tl) == [("ctr1", D(2026, 1, 1), D(2026, 2, 15)), ("ctr2", D(2026, 2, 15), None)]
    assert price_on(tl, D(2026, 2, 14)) == Decimal("30.00")
    assert price_on(tl, D(2026, 2, 15)) == Decimal("40.00")
    # the version does not cut the period it starts in: February stays one period
    period = tl.calendar.period_containing(D(2026, 2, 15))
    assert period is not None and period.period == Period(D(2026, 2, 1), D(2026, 3, 1))
    assert [g.contract.id for g in tl.version_starts(D(2026, 1, 1), D(2026, 12, 31))] == ["ctr2"]


def test_versions_are_read_in_version_order_not_list_order() -> None:
    v1 = contract(D(2026, 1, 1))
    v2 = contract(D(2026, 3, 1), version=2)
    assert timeline([v2, v1]) == timeline([v1, v2])


def test_later_versions_keep_the_accounts_anchor() -> None:
    v1 = contract(D(2026, 1, 1), interval="year", end=D(2026, 12, 31))
    v2 = contract(D(2026, 6, 10), version=2, interval="year", anchor=D(2026, 6, 10))
    tl = account_timeline(v1, v2)
    assert tl.calendar.anchor == D(2026, 1, 1)
    assert spans(tl, D(2026, 1, 1), D(2027, 1, 1)) == [
        (D(2026, 1, 1), D(2027, 1, 1)),
        (D(2027, 1, 1), D(2028, 1, 1)),
    ]


def test_the_anchor_is_the_billing_anchor_else_the_trial_end_else_the_start() -> None:
    assert account_timeline(contract(D(2026, 1, 5))).calendar.anchor == D(2026, 1, 5)
    trial = contract(D(2026, 1, 5), trial_end=D(2026, 1, 19))
    assert account_timeline(trial).calendar.anchor == D(2026, 1, 19)
    anchored = contract(D(2026, 1, 5), trial_end=D(2026, 1, 19), anchor=D(2026, 2, 1))
    assert account_timeline(anchored).calendar.anchor == D(2026, 2, 1)


def test_an_unknown_billing_interval_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        timeline([contract(D(2026, 1, 1), interval="week")])
    assert caught.value.field == "billing_interval"


def test_a_contract_may_not_end_before_it_starts() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_contract(
            start_date=D(2026, 1, 1),
            end_date=D(2025, 12, 31),
            billing_interval="month",
            increase_approval="automatic",
            pools=[],
            today=D(2026, 1, 1),
        )
    assert caught.value.field == "end_date"


def test_a_one_day_contract_and_an_evergreen_contract_are_valid() -> None:
    for end in (D(2026, 1, 1), None):
        check_contract(
            start_date=D(2026, 1, 1),
            end_date=end,
            billing_interval="year",
            increase_approval="automatic",
            pools=[],
            today=D(2026, 1, 1),
        )
    tl = account_timeline(contract(D(2026, 1, 1), interval="year", end=D(2026, 1, 1)))
    [day] = tl.calendar.periods(D(2026, 1, 1), D(2027, 1, 1))
    # one day billed, prorated against its year: 1 of 365 days
    assert (day.start, day.end, day.days, day.full_days) == (D(2026, 1, 1), D(2026, 1, 2), 1, 365)
    assert tl.coverage_ends(D(2025, 12, 31), D(2030, 1, 1)) == [D(2026, 1, 2)]


# --- a version changing the interval ------------------------------------------------------------


def test_a_version_changing_the_interval_takes_effect_at_the_end_of_the_current_period() -> None:
    v1 = contract(D(2026, 1, 1), price="30.00")
    v2 = contract(D(2026, 2, 10), interval="quarter", version=2, price="80.00")
    tl = account_timeline(v1, v2)
    # all of v2's terms wait for the end of February: v1 still governs 10–28 February
    assert governed(tl) == [("ctr1", D(2026, 1, 1), D(2026, 3, 1)), ("ctr2", D(2026, 3, 1), None)]
    assert price_on(tl, D(2026, 2, 20)) == Decimal("30.00")
    assert price_on(tl, D(2026, 3, 1)) == Decimal("80.00")
    assert [
        (p.start, p.end, p.months) for p in tl.calendar.periods(D(2026, 1, 1), D(2026, 12, 31))
    ] == [
        (D(2026, 1, 1), D(2026, 2, 1), 1),
        (D(2026, 2, 1), D(2026, 3, 1), 1),
        (D(2026, 3, 1), D(2026, 6, 1), 3),
        (D(2026, 6, 1), D(2026, 9, 1), 3),
        (D(2026, 9, 1), D(2026, 12, 1), 3),
        (D(2026, 12, 1), D(2027, 3, 1), 3),
    ]
    assert [g.start for g in tl.version_starts(D(2026, 1, 1), D(2026, 12, 31))] == [D(2026, 3, 1)]


def test_a_version_changing_the_interval_on_a_period_start_takes_effect_that_day() -> None:
    tl = account_timeline(
        contract(D(2026, 1, 1)), contract(D(2026, 4, 1), interval="half_year", version=2)
    )
    assert governed(tl)[1] == ("ctr2", D(2026, 4, 1), None)
    assert spans(tl, D(2026, 3, 1), D(2026, 12, 31)) == [
        (D(2026, 3, 1), D(2026, 4, 1)),
        (D(2026, 4, 1), D(2026, 10, 1)),
        (D(2026, 10, 1), D(2027, 4, 1)),
    ]


def test_a_yearly_contract_changed_to_monthly_mid_year_bills_months_from_the_next_year() -> None:
    v1 = contract(D(2026, 1, 1), interval="year")
    v2 = contract(D(2026, 6, 1), version=2)
    tl = account_timeline(v1, v2)
    assert governed(tl) == [("ctr1", D(2026, 1, 1), D(2027, 1, 1)), ("ctr2", D(2027, 1, 1), None)]
    assert spans(tl, D(2026, 1, 1), D(2027, 3, 1)) == [
        (D(2026, 1, 1), D(2027, 1, 1)),
        (D(2027, 1, 1), D(2027, 2, 1)),
        (D(2027, 2, 1), D(2027, 3, 1)),
        (D(2027, 3, 1), D(2027, 4, 1)),
    ]


def test_a_monthly_calendar_on_the_31st_changed_to_quarterly_keeps_the_month_ends() -> None:
    tl = account_timeline(
        contract(D(2026, 1, 31)), contract(D(2026, 4, 10), interval="quarter", version=2)
    )
    # v2 starts in [31 Mar, 30 Apr): quarters from 30 April, on the anchor's 31st
    assert [p.start for p in tl.calendar.periods(D(2026, 1, 31), D(2027, 1, 31))] == [
        D(2026, 1, 31),
        D(2026, 2, 28),
        D(2026, 3, 31),
        D(2026, 4, 30),
        D(2026, 7, 31),
        D(2026, 10, 31),
        D(2027, 1, 31),
    ]


def test_a_version_replaced_before_it_took_effect_governs_no_day() -> None:
    v1 = contract(D(2026, 1, 1))
    v2 = contract(D(2026, 2, 10), interval="quarter", version=2)  # would start on 1 March
    v3 = contract(D(2026, 2, 20), version=3)  # monthly again, from 1 March as well
    tl = account_timeline(v1, v2, v3)
    assert governed(tl) == [("ctr1", D(2026, 1, 1), D(2026, 3, 1)), ("ctr3", D(2026, 3, 1), None)]
    assert {p.months for p in tl.calendar.periods(D(2026, 1, 1), D(2026, 12, 31))} == {1}


# --- gaps and ends ---------------------------------------------------------------------------


def test_a_gap_between_versions_is_governed_by_none_and_ends_the_first_version() -> None:
    v1 = contract(D(2026, 1, 1), end=D(2026, 1, 31))
    v2 = contract(D(2026, 3, 15), version=2)
    tl = account_timeline(v1, v2)
    assert governed(tl) == [("ctr1", D(2026, 1, 1), D(2026, 2, 1)), ("ctr2", D(2026, 3, 15), None)]
    assert tl.version_on(D(2026, 2, 14)) is None
    assert tl.calendar.period_containing(D(2026, 2, 14)) is None
    assert tl.covered_spans() == [(D(2026, 1, 1), D(2026, 2, 1)), (D(2026, 3, 15), None)]
    assert tl.coverage_ends(D(2025, 12, 31), D(2027, 1, 1)) == [D(2026, 2, 1)]
    assert tl.renewals(D(2025, 12, 31), D(2026, 12, 31)) == []  # a gap is no renewal
    # billing resumes on the account's grid: 15–31 March cut from March (17 of 31 days)
    resumed = tl.calendar.period_containing(D(2026, 3, 15))
    assert resumed is not None
    assert (resumed.start, resumed.end, resumed.days, resumed.full_days) == (
        D(2026, 3, 15),
        D(2026, 4, 1),
        17,
        31,
    )


def test_a_version_starting_before_the_previous_end_date_ends_it_without_a_gap() -> None:
    v1 = contract(D(2026, 1, 1), end=D(2026, 12, 31))
    v2 = contract(D(2026, 6, 1), version=2)
    tl = account_timeline(v1, v2)
    assert governed(tl) == [("ctr1", D(2026, 1, 1), D(2026, 6, 1)), ("ctr2", D(2026, 6, 1), None)]
    assert tl.coverage_ends(D(2025, 12, 31), D(2030, 1, 1)) == []


def test_a_fixed_term_contract_ends_the_day_after_its_end_date() -> None:
    tl = account_timeline(contract(D(2026, 1, 1), end=D(2026, 3, 31)))
    assert tl.coverage_ends(D(2025, 12, 31), D(2030, 1, 1)) == [D(2026, 4, 1)]
    assert tl.coverage_ends(D(2026, 4, 1), D(2030, 1, 1)) == []  # ``after`` is exclusive
    assert tl.version_on(D(2026, 3, 31)) is not None
    assert tl.version_on(D(2026, 4, 1)) is None
    assert (
        account_timeline(contract(D(2026, 1, 1))).coverage_ends(D(2025, 1, 1), D(2040, 1, 1)) == []
    )


def test_a_fixed_term_contract_ends_with_a_final_event_and_nothing_after() -> None:
    c = contract(D(2026, 1, 1), end=D(2026, 3, 31))
    assert keys([c], instant(D(2027, 1, 1))) == [
        "period:2026-01-01",
        "period:2026-02-01",
        "period:2026-03-01",
        "final:2026-04-01",
    ]


def test_a_gap_between_versions_ends_the_first_with_a_final_event() -> None:
    v1 = contract(D(2026, 1, 1), end=D(2026, 1, 31))
    v2 = contract(D(2026, 3, 1), version=2)
    assert keys([v1, v2], instant(D(2026, 3, 1))) == [
        "period:2026-01-01",
        "final:2026-02-01",
        "version:ctr2",  # VERSION: its terms
        "version:ctr2",  # VERSION_DUE: its difference (none after a gap)
        "period:2026-03-01",
    ]


# --- terms and renewals (§4) ----------------------------------------------------------------


def test_an_evergreen_contract_renews_at_each_anniversary_of_its_anchor() -> None:
    tl = account_timeline(contract(D(2025, 3, 15)))
    assert tl.renewals(D(2025, 3, 15), D(2027, 6, 1)) == [D(2026, 3, 15), D(2027, 3, 15)]
    # ``after`` is exclusive, ``until`` inclusive
    assert tl.renewals(D(2026, 3, 15), D(2027, 3, 15)) == [D(2027, 3, 15)]
    renewals = [
        key
        for _, phase, key in events([contract(D(2025, 3, 15))], instant(D(2027, 6, 1)))
        if phase == Phase.RENEWAL
    ]
    assert renewals == ["renewal:2026-03-15", "renewal:2027-03-15"]


def test_an_evergreen_quarterly_contract_renews_every_twelve_months_on_a_period_start() -> None:
    tl = account_timeline(contract(D(2026, 1, 31), interval="quarter"))
    renewals = tl.renewals(D(2026, 1, 31), D(2029, 2, 1))
    assert renewals == [D(2027, 1, 31), D(2028, 1, 31), D(2029, 1, 31)]
    for day in renewals:
        period = tl.calendar.period_containing(day)
        assert period is not None and period.start == day


def test_an_evergreen_contract_from_the_29th_of_february_renews_on_the_28th_until_a_leap_year():
    tl = account_timeline(contract(D(2028, 2, 29), interval="year"))
    assert tl.renewals(D(2028, 2, 29), D(2032, 3, 1)) == [
        D(2029, 2, 28),
        D(2030, 2, 28),
        D(2031, 2, 28),
        D(2032, 2, 29),
    ]


def test_an_evergreen_term_starts_at_the_anchor_not_at_an_earlier_start() -> None:
    # a leading short period [12 Jan, 1 Feb): the term runs 12 months from 1 February
    tl = account_timeline(contract(D(2026, 1, 12), anchor=D(2026, 2, 1)))
    assert tl.renewals(D(2026, 1, 1), D(2028, 3, 1)) == [D(2027, 2, 1), D(2028, 2, 1)]


def test_an_anniversary_inside_a_period_renews_at_the_next_period_start() -> None:
    # monthly from 1 January, quarterly from 1 March: quarters start in March, June,
    # September and December, so the anniversary of 1 January falls inside a quarter
    tl = account_timeline(
        contract(D(2026, 1, 1)), contract(D(2026, 3, 1), interval="quarter", version=2)
    )
    assert tl.renewals(D(2026, 1, 1), D(2028, 6, 1)) == [D(2027, 3, 1), D(2028, 3, 1)]


def test_a_fixed_term_contract_renewed_by_a_version_the_day_after_its_end_renews_then() -> None:
    v1 = contract(D(2026, 1, 1), interval="year", end=D(2026, 12, 31))
    v2 = contract(D(2027, 1, 1), interval="year", end=D(2027, 12, 31), version=2)
    tl = account_timeline(v1, v2)
    assert tl.renewals(D(2025, 12, 31), D(2029, 1, 1)) == [D(2027, 1, 1)]
    # renewed, not ended: no final invoice on 1 January 2027, one after the second term
    assert tl.coverage_ends(D(2025, 12, 31), D(2029, 1, 1)) == [D(2028, 1, 1)]
    assert events([v1, v2], instant(D(2028, 6, 1))) == [
        (D(2026, 1, 1), Phase.PERIOD, "period:2026-01-01"),
        (D(2027, 1, 1), Phase.RENEWAL, "renewal:2027-01-01"),
        (D(2027, 1, 1), Phase.VERSION, "version:ctr2"),
        (D(2027, 1, 1), Phase.VERSION_DUE, "version:ctr2"),
        (D(2027, 1, 1), Phase.PERIOD, "period:2027-01-01"),
        (D(2028, 1, 1), Phase.FINAL, "final:2028-01-01"),
    ]


def test_a_version_starting_inside_a_fixed_term_is_no_renewal() -> None:
    # v2 changes the price on 1 June; the term still runs to 31 December (§4, §5: a
    # version keeps the account's term): committed capacity and scheduled decreases wait
    v1 = contract(D(2026, 1, 1), interval="year", end=D(2026, 12, 31))
    v2 = contract(D(2026, 6, 1), interval="year", end=D(2026, 12, 31), version=2, price="40.00")
    tl = account_timeline(v1, v2)
    assert tl.renewals(D(2025, 12, 31), D(2027, 6, 1)) == []
    assert "renewal:2026-06-01" not in keys([v1, v2], instant(D(2026, 7, 1)))


def test_a_fixed_term_contract_is_never_renewed_by_itself() -> None:
    tl = account_timeline(contract(D(2026, 1, 1), interval="year", end=D(2027, 12, 31)))
    assert tl.renewals(D(2025, 12, 31), D(2030, 1, 1)) == []


def test_a_version_starting_two_days_after_the_end_is_a_new_contract_not_a_renewal() -> None:
    v1 = contract(D(2026, 1, 1), interval="year", end=D(2026, 12, 31))
    v2 = contract(D(2027, 1, 2), interval="year", end=D(2027, 12, 31), version=2)
    tl = account_timeline(v1, v2)
    assert tl.renewals(D(2025, 12, 31), D(2029, 1, 1)) == []
    assert tl.coverage_ends(D(2025, 12, 31), D(2029, 1, 1)) == [D(2027, 1, 1), D(2028, 1, 1)]


def test_an_evergreen_version_after_a_fixed_term_renews_on_the_accounts_anniversaries() -> None:
    v1 = contract(D(2026, 1, 1), interval="year", end=D(2026, 12, 31))
    v2 = contract(D(2027, 1, 1), interval="year", version=2)
    tl = account_timeline(v1, v2)
    assert tl.renewals(D(2025, 12, 31), D(2029, 1, 1)) == [
        D(2027, 1, 1),  # the fixed term continued by v2
        D(2028, 1, 1),  # then v2's evergreen anniversaries
        D(2029, 1, 1),
    ]


# --- trials ------------------------------------------------------------------------------------


def test_a_trial_is_covered_but_in_no_billing_period() -> None:
    v1 = contract(D(2026, 1, 1), trial_end=D(2026, 1, 15), policy="true_up")
    tl = account_timeline(v1)
    assert tl.charge_from == D(2026, 1, 15)
    assert tl.in_trial(D(2026, 1, 14)) and not tl.in_trial(D(2026, 1, 15))
    assert tl.version_on(D(2026, 1, 1)) is v1  # seats are enforced and counted in it
    assert tl.calendar.period_containing(D(2026, 1, 1)) is None
    assert tl.calendar.period_containing(D(2026, 1, 14)) is None
    # the first period starts at the trial end, which is the anchor
    assert spans(tl, D(2025, 12, 1), D(2026, 2, 15)) == [
        (D(2026, 1, 15), D(2026, 2, 15)),
        (D(2026, 2, 15), D(2026, 3, 15)),
    ]


def test_month_closes_inside_a_trial_are_still_listed() -> None:
    v1 = contract(D(2026, 1, 1), trial_end=D(2026, 1, 15), policy="true_up")
    tl = account_timeline(v1)
    # the months are on the anchor (15 January): the trial's days close on 15 January
    assert tl.month_closes(D(2025, 12, 31), D(2026, 3, 15)) == [
        (D(2026, 1, 15), Period(D(2026, 1, 1), D(2026, 1, 15))),
        (D(2026, 2, 15), Period(D(2026, 1, 15), D(2026, 2, 15))),
        (D(2026, 3, 15), Period(D(2026, 2, 15), D(2026, 3, 15))),
    ]
    assert events([v1], instant(D(2026, 2, 15))) == [
        (D(2026, 1, 15), Phase.MONTH_CLOSE, "month_close:2026-01-15"),
        (D(2026, 1, 15), Phase.PERIOD, "period:2026-01-15"),  # no period before it
        (D(2026, 2, 15), Phase.MONTH_CLOSE, "month_close:2026-02-15"),
        (D(2026, 2, 15), Phase.PERIOD, "period:2026-02-15"),
    ]


def test_a_trial_before_a_given_anchor_starts_billing_with_a_period_cut_to_the_anchor() -> None:
    v1 = contract(D(2026, 1, 1), trial_end=D(2026, 1, 15), anchor=D(2026, 2, 1))
    tl = account_timeline(v1)
    first = tl.calendar.period_containing(D(2026, 1, 15))
    assert first is not None
    # [15 Jan, 1 Feb) of January: 17 of 31 days
    assert (first.start, first.end, first.days, first.full_days) == (
        D(2026, 1, 15),
        D(2026, 2, 1),
        17,
        31,
    )
    assert tl.month_closes(D(2025, 12, 31), D(2026, 2, 1)) == [
        (D(2026, 2, 1), Period(D(2026, 1, 1), D(2026, 2, 1)))
    ]
    assert tl.renewals(D(2025, 12, 31), D(2027, 6, 1)) == [D(2027, 2, 1)]


def test_an_evergreen_trial_contracts_term_runs_from_the_trial_end() -> None:
    tl = account_timeline(contract(D(2026, 1, 1), trial_end=D(2026, 1, 15)))
    assert tl.renewals(D(2025, 12, 31), D(2028, 1, 31)) == [D(2027, 1, 15), D(2028, 1, 15)]


# --- what falls due, and in which order ---------------------------------------------------------


def test_the_phases_of_one_instant_are_ordered_close_renewal_version_due_period_final() -> None:
    assert (
        Phase.MONTH_CLOSE
        < Phase.RENEWAL
        < Phase.VERSION
        < Phase.VERSION_DUE
        < Phase.PERIOD
        < Phase.FINAL
    )


def test_what_falls_due_at_one_instant_comes_in_phase_order() -> None:
    v1 = contract(D(2026, 1, 1), interval="year", policy="true_up")
    v2 = contract(D(2027, 1, 1), interval="year", end=D(2027, 12, 31), version=2, policy="true_up")
    all_events = events([v1, v2], instant(D(2028, 1, 1)))
    at_2027 = [(phase, key) for day, phase, key in all_events if day == D(2027, 1, 1)]
    assert at_2027 == [
        (Phase.MONTH_CLOSE, "month_close:2027-01-01"),
        (Phase.RENEWAL, "renewal:2027-01-01"),
        (Phase.VERSION, "version:ctr2"),
        (Phase.VERSION_DUE, "version:ctr2"),
        (Phase.PERIOD, "period:2027-01-01"),
    ]
    at_2028 = [(phase, key) for day, phase, key in all_events if day == D(2028, 1, 1)]
    assert at_2028 == [
        (Phase.MONTH_CLOSE, "month_close:2028-01-01"),
        (Phase.FINAL, "final:2028-01-01"),
    ]


def test_a_version_recorded_after_its_start_falls_due_when_it_is_recorded() -> None:
    v1 = contract(D(2026, 1, 1), interval="year")
    v2 = contract(
        D(2026, 3, 1), interval="year", version=2, recorded_at=datetime(2026, 3, 10, 12, tzinfo=UTC)
    )
    tl = account_timeline(v1, v2)
    found = [
        (e.at, e.phase)
        for e in due_events(tl, D(2026, 1, 1), instant(D(2026, 4, 1)))
        if e.key == "version:ctr2"
    ]
    assert found == [
        (instant(D(2026, 3, 1)), Phase.VERSION),  # its terms, from its start
        (datetime(2026, 3, 10, 12, tzinfo=UTC), Phase.VERSION_DUE),  # its difference
    ]


def test_a_monthly_contract_from_the_31st_is_due_on_the_last_day_of_shorter_months() -> None:
    assert keys([contract(D(2028, 1, 31))], instant(D(2028, 5, 1))) == [
        "period:2028-01-31",
        "period:2028-02-29",
        "period:2028-03-31",
        "period:2028-04-30",
    ]


def test_a_quarterly_contract_is_due_every_three_months_and_renews_before_its_period() -> None:
    assert keys([contract(D(2026, 1, 31), interval="quarter")], instant(D(2027, 1, 31))) == [
        "period:2026-01-31",
        "period:2026-04-30",
        "period:2026-07-31",
        "period:2026-10-31",
        "renewal:2027-01-31",  # the renewal comes before the period invoice of that instant
        "period:2027-01-31",
    ]


def test_month_closes_are_listed_only_for_contracts_with_a_true_up_pool() -> None:
    plain = events([contract(D(2026, 1, 1), interval="year")], instant(D(2026, 4, 1)))
    assert [e for e in plain if e[1] == Phase.MONTH_CLOSE] == []
    trued = events(
        [contract(D(2026, 1, 1), interval="year", policy="true_up")], instant(D(2026, 4, 1))
    )
    assert [key for _, phase, key in trued if phase == Phase.MONTH_CLOSE] == [
        "month_close:2026-02-01",
        "month_close:2026-03-01",
        "month_close:2026-04-01",
    ]


def test_the_last_month_of_a_fixed_term_closes_at_its_end() -> None:
    tl = account_timeline(
        contract(D(2026, 1, 1), interval="year", end=D(2026, 3, 20), policy="true_up")
    )
    assert tl.month_closes(D(2025, 12, 31), D(2026, 12, 31))[-1] == (
        D(2026, 3, 21),
        Period(D(2026, 3, 1), D(2026, 3, 21)),
    )


def test_the_moment_planned_up_to_is_read_on_the_utc_calendar() -> None:
    c = [contract(D(2026, 1, 1))]
    minus_two = timezone(timedelta(hours=-2))
    # 31 Jan 23:30-02:00 is 1 Feb 01:30Z: February's invoice is due
    late = plan(inputs(c), datetime(2026, 1, 31, 23, 30, tzinfo=minus_two))
    assert [d.key for d in late.documents] == ["period:2026-01-01", "period:2026-02-01"]
    # 1 Feb 01:30+02:00 is 31 Jan 23:30Z: it is not
    plus_two = timezone(timedelta(hours=2))
    early = plan(inputs(c), datetime(2026, 2, 1, 1, 30, tzinfo=plus_two))
    assert [d.key for d in early.documents] == ["period:2026-01-01"]
    assert early.next_due == instant(D(2026, 2, 1))


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError):
        plan(inputs([contract(D(2026, 1, 1))]), datetime(2026, 2, 1))


# --- properties ----------------------------------------------------------------------------------


days = st.dates(min_value=D(2024, 1, 1), max_value=D(2031, 12, 31))


@st.composite
def contract_histories(draw: st.DrawFn) -> list[Contract]:
    """One to three versions with increasing starts, some with an end date, the first
    perhaps with a trial or an anchor of its own."""
    count = draw(st.integers(1, 3))
    starts = sorted(draw(st.lists(days, min_size=count, max_size=count, unique=True)))
    out = []
    for n, start in enumerate(starts, start=1):
        interval = draw(st.sampled_from(INTERVALS))
        trial_end = anchor = None
        if n == 1 and draw(st.booleans()):
            trial_end = start + timedelta(days=draw(st.integers(1, 40)))
        first = trial_end or start
        if n == 1 and draw(st.booleans()):
            limit = (add_months(first, interval_months(interval)) - first).days
            anchor = first + timedelta(days=draw(st.integers(0, limit - 1)))
        end = draw(
            st.one_of(
                st.none(),
                st.integers(0, 900).map(lambda k, s=first: s + timedelta(days=k)),
            )
        )
        out.append(
            contract(
                start,
                interval=interval,
                end=end,
                version=n,
                policy=draw(st.sampled_from(["block", "true_up"])),
                anchor=anchor,
                trial_end=trial_end,
            )
        )
    return out


def _on_the_anchors_grid(tl: Timeline, day: date) -> bool:
    anchor = tl.calendar.anchor
    return add_months(anchor, months_from(anchor, day)) == day


@settings(max_examples=150, deadline=None)
@given(history=contract_histories(), horizon=st.integers(0, 1500))
def test_the_calendar_lists_each_period_exactly_once_and_never_skips_a_billed_day(
    history: list[Contract], horizon: int
) -> None:
    tl = account_timeline(*history)
    first = tl.governed[0].start
    until = first + timedelta(days=horizon)
    periods = tl.calendar.periods(first - ONE_DAY, until)
    # governed days never overlap: each day is governed by at most one version
    for a, b in zip(tl.governed, tl.governed[1:], strict=False):
        assert a.end is not None and a.end <= b.start
    # the billed spans are the governed days from the trial's end on
    assert list(tl.calendar.spans) == [
        (max(s, tl.charge_from), e)
        for s, e in tl.covered_spans()
        if e is None or e > max(s, tl.charge_from)
    ]
    for span_start, span_end in tl.calendar.spans:
        inside = [
            p for p in periods if span_start <= p.start and (span_end is None or p.start < span_end)
        ]
        if span_start > until:
            assert inside == []
            continue
        # contiguous from the span's start: no day skipped, none billed twice ...
        expected = span_start
        for period in inside:
            assert period.start == expected <= until
            assert 1 <= period.days <= period.full_days
            assert period.full.start <= period.start and period.end <= period.full.end
            assert span_end is None or period.end <= span_end
            # ... on the account's grid: add_months from the ORIGINAL anchor
            assert _on_the_anchors_grid(tl, period.full.start)
            assert _on_the_anchors_grid(tl, period.full.end)
            months = months_from(tl.calendar.anchor, period.full.start)
            assert period.full.end == add_months(tl.calendar.anchor, months + period.months)
            expected = period.end
        # ... up to the last period that started by ``until`` (or the span's end)
        assert expected > until or expected == span_end
    assert len({p.start for p in periods}) == len(periods)
    # the period invoices due are exactly those periods, each once
    period_keys = [
        key for _, phase, key in events(history, instant(until)) if phase == Phase.PERIOD
    ]
    assert period_keys == [f"period:{p.start}" for p in periods]


@settings(max_examples=150, deadline=None)
@given(history=contract_histories(), horizon=st.integers(0, 1500), seconds=st.integers(0, 86_399))
def test_due_events_are_a_pure_function_of_their_inputs(
    history: list[Contract], horizon: int, seconds: int
) -> None:
    first_day = min(c.start_date for c in history)
    until = instant(first_day + timedelta(days=horizon)) + timedelta(seconds=seconds)
    tl = account_timeline(*history)
    first = due_events(tl, first_day, until)
    assert due_events(tl, first_day, until) == first
    # version order, not list order
    shuffled = account_timeline(*reversed(history))
    assert due_events(shuffled, first_day, until) == first
    assert first == sorted(first)
    assert all(e.at <= until for e in first)
    # every (phase, key) once: exactly once
    assert len({(e.phase, e.key) for e in first}) == len(first)


@settings(max_examples=150, deadline=None)
@given(history=contract_histories(), a=st.integers(0, 1500), b=st.integers(0, 1500))
def test_a_later_moment_only_adds_events(history: list[Contract], a: int, b: int) -> None:
    """A run as of t1 and then one as of t2 > t1 do exactly what one run as of t2 does."""
    first = min(c.start_date for c in history)
    early, late = sorted((instant(first + timedelta(days=a)), instant(first + timedelta(days=b))))
    before, after = events(history, early), events(history, late)
    assert after[: len(before)] == before
    assert all(instant(day) > early for day, _, _ in after[len(before) :])


@settings(max_examples=100, deadline=None)
@given(history=contract_histories(), horizon=st.integers(0, 1500))
def test_month_closes_close_each_contract_month_once_in_order(
    history: list[Contract], horizon: int
) -> None:
    tl = account_timeline(*history)
    first = tl.governed[0].start
    until = first + timedelta(days=horizon)
    closes = tl.month_closes(first - ONE_DAY, until)
    assert [day for day, _ in closes] == sorted({day for day, _ in closes})
    for span_start, span_end in tl.covered_spans():
        months = [
            m
            for _, m in closes
            if span_start <= m.start and (span_end is None or m.start < span_end)
        ]
        expected = span_start
        for month in months:
            assert month.start == expected
            assert month.end <= until
            # within one month of the account's grid
            grid = tl.calendar.month_containing(month.start)
            assert grid.start <= month.start and month.end <= grid.end
            assert month.end == grid.end or month.end == span_end
            expected = month.end


@settings(max_examples=100, deadline=None)
@given(history=contract_histories(), offset=st.integers(-30, 1500))
def test_the_version_governing_a_day_is_the_only_one_and_its_period_holds_the_day(
    history: list[Contract], offset: int
) -> None:
    tl = account_timeline(*history)
    day = tl.governed[0].start + timedelta(days=offset)
    holders = [g for g in tl.governed if g.contains(day)]
    assert len(holders) <= 1
    assert tl.governing(day) == (holders[0] if holders else None)
    period = tl.calendar.period_containing(day)
    if holders and not tl.in_trial(day):
        assert period is not None and period.contains(day)
    else:
        assert period is None


@settings(max_examples=100, deadline=None)
@given(history=contract_histories())
def test_an_evergreen_renewal_is_on_a_period_start_at_least_a_term_after_the_anchor(
    history: list[Contract],
) -> None:
    tl = account_timeline(*history)
    first = tl.governed[0].start
    for day in tl.renewals(first, first + timedelta(days=2000)):
        ending = tl.version_on(day - ONE_DAY)
        assert ending is not None and tl.version_on(day) is not None
        if ending.end_date is None:  # an anniversary, not a fixed term continued
            assert day >= add_months(tl.term_start, 12)
            period = tl.calendar.period_containing(day)
            assert period is not None and period.start == day
        else:  # a fixed term continued the day after its end date
            assert ending.end_date + ONE_DAY == day
