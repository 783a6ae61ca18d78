"""Invoice lines and documents as pure functions of the contract timeline and the seat
ledger (domain/invoicing.py), and the planner that says when each falls due
(domain/planner.py), PRODUCT.md §3 true-up, §5 billing, §6 worked examples. Pure and fast."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.invoicing import (
    DraftInvoice,
    IssuedInvoice,
    LedgerView,
    Line,
    PoolBase,
    charge_invoice,
    commitment_line,
    metered_lines,
    proration_line,
    recurring_line,
    tax_line,
    time_left,
    true_up_line,
    version_difference,
    with_tax,
)
from seatledger.domain.ledger import CAPACITY_CHANGED, SEAT_RELEASED, SEAT_TAKEN, LedgerEntry
from seatledger.domain.money import MINOR_UNITS, quantum, round_line
from seatledger.domain.periods import BillingPeriod, Period, instant
from seatledger.domain.planner import (
    BillingState,
    CapacityChange,
    IssueDocument,
    MarkDone,
    Plan,
    PlanInputs,
    plan,
)
from seatledger.domain.proration import prorate
from seatledger.domain.timeline import Timeline, timeline

D = date
ONE_DAY = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def terms(
    module: str = "console",
    *,
    capacity: int = 5,
    minimum: int = 0,
    price: str = "30.00",
    policy: str = "block",
    timing: str = "immediate",
    proration: str = "day",
) -> PoolTerms:
    return PoolTerms(module, capacity, minimum, Decimal(price), policy, timing, proration)


def contract(
    *pools: PoolTerms,
    start: date = D(2026, 1, 1),
    interval: str = "month",
    end: date | None = None,
    version: int = 1,
    anchor: date | None = None,
    trial_end: date | None = None,
    minimum_spend: str | None = None,
) -> Contract:
    return Contract(
        id=f"ctr{version}",
        account_id="acc",
        version=version,
        start_date=start,
        end_date=end,
        billing_interval=interval,
        increase_approval="automatic",
        pools=list(pools or (terms(),)),
        billing_anchor=anchor,
        trial_end=trial_end,
        minimum_spend=Decimal(minimum_spend) if minimum_spend else None,
    )


def account_timeline(*contracts: Contract) -> Timeline:
    tl = timeline(list(contracts))
    assert tl is not None
    return tl


def billing_period(tl: Timeline, day: date) -> BillingPeriod:
    period = tl.calendar.period_containing(day)
    assert period is not None
    return period


_ids = iter(range(1, 10**9))


def entry(
    kind: str,
    at: datetime,
    *,
    module: str = "console",
    delta: int = 1,
    user: str | None = None,
    cause: str = "create",
    purchased: bool = False,
) -> LedgerEntry:
    return LedgerEntry(
        account_id="acc",
        module=module,
        kind=kind,
        delta=delta,
        in_use_after=0,
        capacity_after=0,
        at=at,
        actor="test",
        cause=cause,
        user_id=user,
        purchased=purchased,
        id=next(_ids),
    )


def take(user: str, at: datetime, module: str = "console") -> LedgerEntry:
    return entry(SEAT_TAKEN, at, module=module, user=user)


def release(user: str, at: datetime, module: str = "console") -> LedgerEntry:
    return entry(SEAT_RELEASED, at, module=module, delta=-1, user=user, cause="deactivate")


def cap(
    delta: int,
    at: datetime,
    *,
    cause: str = "contract",
    purchased: bool = False,
    module: str = "console",
) -> LedgerEntry:
    return entry(CAPACITY_CHANGED, at, module=module, delta=delta, cause=cause, purchased=purchased)


def buy(
    delta: int, at: datetime, *, cause: str = "seat_request", module: str = "console"
) -> LedgerEntry:
    return cap(delta, at, cause=cause, purchased=True, module=module)


def plan_inputs(
    contracts: list[Contract],
    ledger: list[LedgerEntry],
    *,
    currency: str = "EUR",
    tax: str | None = None,
    state: BillingState | None = None,
    done: frozenset[str] = frozenset(),
    issued: list[IssuedInvoice] | None = None,
) -> PlanInputs:
    return PlanInputs(
        currency=currency,
        tax_rate=Decimal(tax) if tax else None,
        contracts=contracts,
        state=state or BillingState(),
        ledger=ledger,
        done=done,
        issued=issued or [],
        scheduled=[],
        applied=frozenset(c.id for c in contracts),
    )


def amounts(draft: DraftInvoice | None) -> list[tuple[str, Decimal]]:
    assert draft is not None
    return [(ln.kind, ln.amount) for ln in draft.lines]


def document(planned: Plan, key: str) -> DraftInvoice:
    found = [d for d in planned.documents if d.key == key]
    assert len(found) == 1, f"{key} not among {[d.key for d in planned.documents]}"
    return found[0]


def done_keys(planned: Plan) -> frozenset[str]:
    return frozenset(
        [d.key for d in planned.documents]
        + [s.key for s in planned.steps if isinstance(s, MarkDone)]
    )


def written(planned: Plan) -> list[LedgerEntry]:
    """The capacity changes a plan asks the service to append to the ledger."""
    return [
        cap(s.delta, s.at, cause=s.cause, module=s.module)
        for s in planned.steps
        if isinstance(s, CapacityChange)
    ]


def as_issued(draft: DraftInvoice, n: int) -> IssuedInvoice:
    return IssuedInvoice(
        id=f"inv{n}",
        account_id="acc",
        number=f"INV-{draft.issued_at.year}-{n:06d}",
        key=draft.key,
        type=draft.type,
        kind=draft.kind,
        status="issued",
        issued_at=draft.issued_at,
        currency=draft.currency,
        lines=draft.lines,
        subtotal=draft.subtotal,
        tax=draft.tax,
        total=draft.total,
        period_start=draft.period_start,
        period_end=draft.period_end,
    )


# --- worked examples (§6) ---------------------------------------------------------------------


def test_seed_000_add_license_on_day_16_of_30_is_charged_15_00_at_once() -> None:
    tl = account_timeline(contract(terms(policy="inactive_when_full"), start=D(2026, 4, 1)))
    purchase = buy(1, utc(2026, 4, 16, 10), cause="add_license")
    draft = charge_invoice(purchase, tl, "EUR", None)
    # 30.00 × 15/30 = 15.00 (16–30 April, day 16 of 30 counted)
    assert amounts(draft) == [("proration", Decimal("15.00"))]
    assert draft is not None
    assert (draft.key, draft.kind, draft.issued_at) == (
        f"charge:{purchase.id}",
        "ad_hoc",
        utc(2026, 4, 16, 10),
    )
    assert (draft.lines[0].period_start, draft.lines[0].period_end) == (
        D(2026, 4, 16),
        D(2026, 5, 1),
    )


def test_seed_001_a_true_up_in_march_of_a_yearly_contract_is_10_of_12_months() -> None:
    tl = account_timeline(
        contract(
            terms(capacity=3, price="120.00", policy="true_up"),
            interval="year",
            end=D(2026, 12, 31),
        )
    )
    march = true_up_line("console", 2, D(2026, 4, 1), tl, "EUR")
    assert march is not None
    # 2 × 120.00 × 10/12 = 200.00 (March–December)
    assert (march.kind, march.quantity, march.amount) == ("true_up", 2, Decimal("200.00"))
    # the line's period starts on the first day of the month that closed
    assert (march.period_start, march.period_end) == (D(2026, 3, 1), D(2027, 1, 1))
    may = true_up_line("console", 2, D(2026, 6, 1), tl, "EUR")
    # 2 × 120.00 × 8/12 = 160.00 (May–December)
    assert may is not None and may.amount == Decimal("160.00")


def test_seed_003_metered_42_seat_days_of_30_at_10_00_is_14_00() -> None:
    c = contract(
        terms("documents", capacity=0, price="10.00", policy="metered"), start=D(2026, 4, 1)
    )
    tl = account_timeline(c)
    view = LedgerView(
        entries=[
            take("a", utc(2026, 4, 1), "documents"),
            take("b", utc(2026, 4, 1), "documents"),
            release("b", utc(2026, 4, 13), "documents"),  # at the start of day 13
        ]
    )
    [line] = metered_lines("documents", view, billing_period(tl, D(2026, 4, 1)), tl, "EUR")
    # a: 30 seat-days, b: 12 (1–12 April); 10.00 × 42/30 = 14.00
    assert (line.kind, line.quantity, line.amount) == ("metered", 42, Decimal("14.00"))
    assert (line.period_start, line.period_end) == (D(2026, 4, 1), D(2026, 5, 1))


def test_seed_004_the_period_invoice_bills_the_minimum_of_ten() -> None:
    c = contract(terms(capacity=10, minimum=10, policy="auto_purchase"), start=D(2026, 4, 1))
    ledger = [cap(10, utc(2026, 4, 1))] + [take(f"u{n}", utc(2026, 4, 1)) for n in range(8)]
    planned = plan(plan_inputs([c], ledger), utc(2026, 4, 1))
    # max(10 capacity, 10 minimum) × 30.00 = 300.00, with 8 of 10 in use
    assert amounts(document(planned, "period:2026-04-01")) == [("recurring", Decimal("300.00"))]


def test_seed_004_an_eleventh_user_on_day_21_of_30_is_charged_10_00_at_once() -> None:
    tl = account_timeline(
        contract(terms(capacity=10, minimum=10, policy="auto_purchase"), start=D(2026, 4, 1))
    )
    draft = charge_invoice(buy(1, utc(2026, 4, 21, 9), cause="auto_purchase"), tl, "EUR", None)
    # 30.00 × 10/30 = 10.00 (21–30 April)
    assert amounts(draft) == [("proration", Decimal("10.00"))]


# --- recurring lines ---------------------------------------------------------------------------


def test_a_recurring_line_bills_the_larger_of_capacity_and_minimum() -> None:
    tl = account_timeline(contract(terms(minimum=6, price="30.00"), start=D(2026, 4, 1)))
    period = billing_period(tl, D(2026, 4, 1))
    line = recurring_line(terms(minimum=6), 4, period, "EUR")
    # max(4, 6) × 30.00 = 180.00
    assert (line.kind, line.quantity, line.amount) == ("recurring", 6, Decimal("180.00"))
    assert recurring_line(terms(minimum=6), 9, period, "EUR").amount == Decimal("270.00")
    assert (line.period_start, line.period_end) == (D(2026, 4, 1), D(2026, 5, 1))


def test_a_leading_short_period_is_billed_by_its_days_of_the_full_period() -> None:
    c = contract(terms(capacity=2, price="31.00"), start=D(2026, 1, 12), anchor=D(2026, 2, 1))
    tl = account_timeline(c)
    first = billing_period(tl, D(2026, 1, 12))
    line = recurring_line(c.pools[0], 2, first, "EUR")
    # [12 Jan, 1 Feb) of January: 2 × 31.00 × 20/31 = 40.00
    assert line.amount == Decimal("40.00")
    assert (line.period_start, line.period_end) == (D(2026, 1, 12), D(2026, 2, 1))
    assert recurring_line(c.pools[0], 2, billing_period(tl, D(2026, 2, 1)), "EUR").amount == (
        Decimal("62.00")  # 2 × 31.00, a full February
    )


def test_a_last_period_cut_short_is_billed_by_its_days_of_the_full_year() -> None:
    c = contract(terms(price="365.00"), interval="year", end=D(2026, 6, 30))
    tl = account_timeline(c)
    # [1 Jan, 1 Jul) of 2026: 2 × 365.00 × 181/365 = 362.00
    assert recurring_line(c.pools[0], 2, billing_period(tl, D(2026, 1, 1)), "EUR").amount == (
        Decimal("362.00")
    )


def test_a_quarterly_recurring_line_is_the_price_per_quarter() -> None:
    c = contract(terms(price="90.00"), start=D(2026, 1, 31), interval="quarter")
    tl = account_timeline(c)
    # 3 × 90.00 for 31 Jan – 30 Apr, whatever its 89 days
    assert recurring_line(c.pools[0], 3, billing_period(tl, D(2026, 1, 31)), "EUR").amount == (
        Decimal("270.00")
    )


# --- the ledger as billing reads it ------------------------------------------------------------


def test_capacity_for_recurring_leaves_purchases_at_the_period_start_to_proration() -> None:
    start = utc(2026, 5, 1)
    view = LedgerView(
        entries=[
            cap(5, utc(2026, 4, 1)),
            buy(1, utc(2026, 4, 20)),  # before the period: in its capacity
            buy(2, start),  # at the period start: charged as proration only
            cap(3, start, cause="true_up"),  # the true-up closing then: in
            cap(1, utc(2026, 5, 2), cause="seat_request", purchased=True),  # later: out
        ]
    )
    assert view.capacity_before("console", start) == 6
    assert view.capacity_for_recurring("console", start) == 9  # 5 + 1 + 3
    assert [e.delta for e in view.purchases(start, utc(2026, 6, 1))] == [2, 1]
    assert [e.delta for e in view.purchases(utc(2026, 4, 1), start)] == [1]


def test_only_bought_seats_are_purchases() -> None:
    at = utc(2026, 4, 10)
    view = LedgerView(
        entries=[
            buy(1, at, cause="add_license"),
            buy(1, at, cause="auto_purchase"),
            buy(1, at, cause="seat_request"),
            cap(1, at, cause="true_up"),  # billed by the true-up line instead
            cap(1, at, cause="contract"),
            cap(-1, at, cause="seat_request", purchased=True),  # a decrease is no purchase
        ]
    )
    assert [e.cause for e in view.purchases(utc(2026, 4, 1), utc(2026, 5, 1))] == [
        "add_license",
        "auto_purchase",
        "seat_request",
    ]


def test_the_seats_held_at_an_instant_exclude_the_changes_at_that_instant() -> None:
    at = utc(2026, 5, 1)
    ledger = [take("a", utc(2026, 4, 2)), take("b", utc(2026, 4, 3)), take("c", at)]
    view = LedgerView(entries=ledger)
    assert view.held_before("console", at) == 2
    assert view.holders_before("console", at) == {"a", "b"}
    later = LedgerView(entries=[*ledger, release("a", utc(2026, 4, 30, 23, 59))])
    assert later.held_before("console", at) == 1
    assert later.holders_before("console", at) == {"b"}
    assert later.held_before("console", at + timedelta(microseconds=1)) == 2  # c from ``at``


def test_capacity_changes_a_plan_adds_count_like_the_ledgers() -> None:
    at = utc(2026, 5, 1)
    view = LedgerView(entries=[cap(5, utc(2026, 4, 1))])
    view.append(cap(2, at, cause="true_up"))
    assert view.capacity_before("console", at) == 5
    assert view.capacity_for_recurring("console", at) == 7
    assert view.capacity_before("console", at + timedelta(seconds=1)) == 7


def test_a_view_from_a_moment_on_reads_like_the_whole_ledger() -> None:
    whole = LedgerView(
        entries=[
            cap(5, utc(2026, 4, 1), module="console"),
            take("a", utc(2026, 4, 1), "docs"),
            take("b", utc(2026, 4, 3), "docs"),
            take("x", utc(2026, 4, 9)),
            release("b", utc(2026, 5, 4), "docs"),
            take("c", utc(2026, 5, 7), "docs"),
            buy(2, utc(2026, 5, 10)),
        ]
    )
    since = utc(2026, 5, 1)
    part = LedgerView(
        base=whole.base_at(since, {"docs"}),
        since=since,
        entries=[e for e in whole.entries if e.at >= since],
    )
    assert part.base["docs"] == PoolBase(capacity=0, held=2, holders=frozenset({"a", "b"}))
    assert part.base["console"] == PoolBase(capacity=5, held=1, holders=frozenset())
    may = Period(D(2026, 5, 1), D(2026, 6, 1))
    # a: 31 seat-days, b: 1–3 May (3, released at 00:00 on the 4th), c: 7–31 May (25): 59
    assert part.seat_days("docs", may) == whole.seat_days("docs", may) == 59
    for at in (since, utc(2026, 5, 10), utc(2026, 6, 1)):
        assert part.capacity_before("console", at) == whole.capacity_before("console", at)
        assert part.held_before("docs", at) == whole.held_before("docs", at)


# --- seat-days (seed 003) ----------------------------------------------------------------------


APRIL = Period(D(2026, 4, 1), D(2026, 5, 1))


def seat_days(entries: list[LedgerEntry], period: Period = APRIL) -> int:
    return LedgerView(entries=entries).seat_days("console", period)


def test_a_user_holding_a_seat_twice_in_one_day_counts_once_for_it() -> None:
    ledger = [
        take("a", utc(2026, 4, 10, 9)),
        release("a", utc(2026, 4, 10, 11)),
        take("a", utc(2026, 4, 10, 15)),
        release("a", utc(2026, 4, 11, 1)),
    ]
    assert seat_days(ledger) == 2  # 10 and 11 April


def test_a_zero_length_hold_counts_for_its_day_and_a_release_at_midnight_does_not() -> None:
    assert seat_days([take("a", utc(2026, 4, 5, 8)), release("a", utc(2026, 4, 5, 8))]) == 1
    # held 5 and 6 April; released at 00:00 on 7 April, which it did not hold
    assert seat_days([take("a", utc(2026, 4, 5)), release("a", utc(2026, 4, 7))]) == 2


def test_seat_days_count_only_the_days_of_the_period() -> None:
    ledger = [take("a", utc(2026, 3, 20)), release("a", utc(2026, 5, 3, 12))]
    assert seat_days(ledger) == 30  # all of April, none of March or May
    assert seat_days([take("b", utc(2026, 4, 30, 23, 59))]) == 1  # 30 April only


def _brute_seat_days(ledger: list[LedgerEntry], module: str, period: Period) -> int:
    """Day by day: the users who held a seat at any moment of that day."""
    holds: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for e in sorted((e for e in ledger if e.module == module), key=lambda e: (e.at, e.id)):
        spans = holds.setdefault(e.user_id or "", [])
        if e.kind == SEAT_TAKEN and not (spans and spans[-1][1] is None):
            spans.append((e.at, None))
        elif e.kind == SEAT_RELEASED and spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], e.at)
    total = 0
    day = period.start
    while day < period.end:
        lo, hi = instant(day), instant(day + ONE_DAY)
        for spans in holds.values():
            if any(
                (start < hi and (stop is None or stop > lo)) or (stop == start and lo <= start < hi)
                for start, stop in spans
            ):
                total += 1
        day += ONE_DAY
    return total


moments = st.builds(
    lambda d, s: utc(2026, 3, 25) + timedelta(days=d, seconds=s),
    st.integers(0, 45),
    st.sampled_from([0, 1, 3600, 43_200, 86_399]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.lists(moments, min_size=1, max_size=6)),
        min_size=0,
        max_size=4,
    )
)
def test_seat_days_count_users_per_day(histories: list[tuple[str, list[datetime]]]) -> None:
    ledger = []
    for user, instants in histories:
        for n, at in enumerate(sorted(instants)):
            ledger.append(take(user, at) if n % 2 == 0 else release(user, at))
    counted = seat_days(ledger)
    assert counted == _brute_seat_days(ledger, "console", APRIL)
    assert 0 <= counted <= len({u for u, _ in histories}) * APRIL.days


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.lists(moments, min_size=1, max_size=6)),
        min_size=0,
        max_size=4,
        unique_by=lambda history: history[0],  # a user takes a seat it holds no second time
    ),
    st.integers(0, 29),
)
def test_seat_days_read_from_a_view_since_a_day_boundary_equal_the_whole_ledger(
    histories: list[tuple[str, list[datetime]]], offset: int
) -> None:
    ledger = []
    for user, instants in histories:
        for n, at in enumerate(sorted(instants)):
            ledger.append(take(user, at) if n % 2 == 0 else release(user, at))
    whole = LedgerView(entries=ledger)
    since = instant(APRIL.start + timedelta(days=offset))
    part = LedgerView(
        base=whole.base_at(since, {"console"}),
        since=since,
        entries=[e for e in ledger if e.at >= since],
    )
    days = Period(since.date(), APRIL.end)
    assert part.seat_days("console", days) == whole.seat_days("console", days)


def test_a_seat_released_at_the_start_of_a_view_counts_no_day_of_it() -> None:
    ledger = [take("a", utc(2026, 4, 1)), take("b", utc(2026, 4, 1)), release("a", utc(2026, 5, 1))]
    whole = LedgerView(entries=ledger)
    since = utc(2026, 5, 1)
    part = LedgerView(base=whole.base_at(since, {"console"}), since=since, entries=ledger[2:])
    may = Period(D(2026, 5, 1), D(2026, 6, 1))
    assert whole.seat_days("console", may) == 31  # b only
    assert part.seat_days("console", may) == 31


def test_a_metered_seat_released_at_a_period_start_is_billed_alike_by_one_plan_or_two() -> None:
    c = contract(terms(capacity=0, price="31.00", policy="metered"), start=D(2026, 4, 1))
    ledger = [take("a", utc(2026, 4, 1)), take("b", utc(2026, 4, 1)), release("a", utc(2026, 5, 1))]
    one = plan(plan_inputs([c], ledger), utc(2026, 6, 1))
    # May: b alone, 31.00 × 31/31 = 31.00
    assert amounts(document(one, "period:2026-06-01")) == [("metered", Decimal("31.00"))]
    first = plan(plan_inputs([c], ledger), utc(2026, 5, 1))
    since = first.state.since
    assert since == utc(2026, 5, 1)
    second = plan(
        plan_inputs(
            [c],
            [e for e in ledger if e.at >= since],
            state=first.state,
            done=done_keys(first),
            issued=[as_issued(d, n) for n, d in enumerate(first.documents) if d.issued_at >= since],
        ),
        utc(2026, 6, 1),
    )
    # got 32.00: 31.00 × 32/31
    assert amounts(document(second, "period:2026-06-01")) == [("metered", Decimal("31.00"))]


# --- prorations and charges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "price", "expected"),
    [
        ("EUR", "0.25", Decimal("0.13")),  # 0.125 → 0.13, half up
        ("JPY", "1", Decimal("1")),  # 0.5 → 1
        ("BHD", "0.005", Decimal("0.003")),  # 0.0025 → 0.003
    ],
)
def test_a_line_is_rounded_half_up_once(currency: str, price: str, expected: Decimal) -> None:
    tl = account_timeline(contract(terms(price=price), start=D(2026, 4, 1)))
    # day 16 of 30: × 15/30 = one half
    line = proration_line(buy(1, utc(2026, 4, 16)), tl, currency)
    assert line is not None and line.amount == expected


def test_a_proration_by_seconds_charges_the_time_left_to_the_period_end() -> None:
    tl = account_timeline(contract(terms(price="30.00", proration="second"), start=D(2026, 4, 1)))
    line = proration_line(buy(2, utc(2026, 4, 16, 12)), tl, "EUR")
    # 2 × 30.00 × 14.5 days / 30 days = 29.00
    assert line is not None and line.amount == Decimal("29.00")
    assert (line.period_start, line.period_end) == (D(2026, 4, 16), D(2026, 5, 1))


def test_a_seat_bought_in_a_period_cut_by_the_end_is_charged_to_the_end_only() -> None:
    tl = account_timeline(contract(terms(price="31.00"), end=D(2026, 3, 15)))
    period = billing_period(tl, D(2026, 3, 10))
    assert (period.end, period.full_days) == (D(2026, 3, 16), 31)
    line = proration_line(buy(1, utc(2026, 3, 10, 8)), tl, "EUR")
    # 10–15 March of a 31-day March: 31.00 × 6/31 = 6.00
    assert line is not None and line.amount == Decimal("6.00")
    assert (line.period_start, line.period_end) == (D(2026, 3, 10), D(2026, 3, 16))


def test_time_left_of_a_cut_period_is_the_full_periods_time_less_what_lies_past_its_end() -> None:
    period = BillingPeriod(D(2026, 3, 1), D(2026, 3, 16), Period(D(2026, 3, 1), D(2026, 4, 1)), 1)
    exact = time_left(
        method="day",
        quantity=3,
        unit_price=Decimal("31.00"),
        period=period,
        effective=utc(2026, 3, 1),
    )
    assert exact == Decimal("45.00")  # 3 × 31.00 × 15/31


def test_nothing_is_charged_in_a_trial() -> None:
    tl = account_timeline(contract(terms(policy="auto_purchase"), trial_end=D(2026, 1, 15)))
    purchase = buy(1, utc(2026, 1, 10), cause="auto_purchase")
    assert proration_line(purchase, tl, "EUR") is None
    assert charge_invoice(purchase, tl, "EUR", None) is None
    # a month closing in the trial raises capacity without a charge
    assert true_up_line("console", 2, D(2026, 1, 15), tl, "EUR") is None
    # from the trial end on, as usual: 30.00 × 31/31 on its first day
    after = charge_invoice(buy(1, utc(2026, 1, 15), cause="auto_purchase"), tl, "EUR", None)
    assert amounts(after) == [("proration", Decimal("30.00"))]


def test_a_next_invoice_purchase_gets_no_invoice_of_its_own() -> None:
    tl = account_timeline(contract(terms(timing="next_invoice"), start=D(2026, 4, 1)))
    purchase = buy(1, utc(2026, 4, 16))
    assert charge_invoice(purchase, tl, "EUR", None) is None
    line = proration_line(purchase, tl, "EUR")
    assert line is not None and line.amount == Decimal("15.00")  # 30.00 × 15/30


def test_a_charge_invoice_carries_the_accounts_tax() -> None:
    tl = account_timeline(contract(terms(price="30.00"), start=D(2026, 4, 1)))
    draft = charge_invoice(buy(1, utc(2026, 4, 16)), tl, "EUR", Decimal("20"))
    # 30.00 × 15/30 = 15.00; tax 20 % of 15.00 = 3.00
    assert amounts(draft) == [("proration", Decimal("15.00")), ("tax", Decimal("3.00"))]
    assert draft is not None and draft.total == Decimal("18.00")


# --- true-up lines -----------------------------------------------------------------------------


def test_a_true_up_in_a_period_cut_by_the_end_counts_only_the_months_left_in_it() -> None:
    tl = account_timeline(
        contract(
            terms(capacity=2, price="120.00", policy="true_up"), interval="year", end=D(2026, 6, 30)
        )
    )
    june = true_up_line("console", 3, D(2026, 7, 1), tl, "EUR")
    assert june is not None and june.amount == Decimal("30.00")  # 3 × 120.00 × 1/12
    march = true_up_line("console", 1, D(2026, 4, 1), tl, "EUR")
    assert march is not None and march.amount == Decimal("40.00")  # 1 × 120.00 × 4/12


def test_a_monthly_true_up_is_one_month_of_one() -> None:
    tl = account_timeline(contract(terms(price="30.00", policy="true_up"), start=D(2026, 1, 31)))
    line = true_up_line("console", 2, D(2026, 3, 31), tl, "EUR")  # the month from 28 February
    assert line is not None and line.amount == Decimal("60.00")  # 2 × 30.00 × 1/1
    assert (line.period_start, line.period_end) == (D(2026, 2, 28), D(2026, 3, 31))


def test_a_quarterly_true_up_counts_the_months_left_in_its_quarter() -> None:
    tl = account_timeline(
        contract(terms(price="90.00", policy="true_up"), start=D(2026, 1, 1), interval="quarter")
    )
    line = true_up_line("console", 1, D(2026, 3, 1), tl, "EUR")  # February closes
    assert line is not None and line.amount == Decimal("60.00")  # 1 × 90.00 × 2/3


def test_a_true_up_uses_the_price_in_force_in_the_month_that_closed() -> None:
    v1 = contract(terms(price="120.00", policy="true_up"), interval="year")
    v2 = contract(
        terms(price="240.00", policy="true_up"), interval="year", version=2, start=D(2026, 4, 1)
    )
    tl = account_timeline(v1, v2)
    march = true_up_line("console", 1, D(2026, 4, 1), tl, "EUR")
    assert march is not None and march.amount == Decimal("100.00")  # 1 × 120.00 × 10/12
    april = true_up_line("console", 1, D(2026, 5, 1), tl, "EUR")
    assert april is not None and april.amount == Decimal("180.00")  # 1 × 240.00 × 9/12


# --- metered lines -----------------------------------------------------------------------------


def test_a_metered_pool_bills_at_least_its_minimum() -> None:
    c = contract(terms(capacity=0, minimum=3, price="10.00", policy="metered"), start=D(2026, 4, 1))
    tl = account_timeline(c)
    view = LedgerView(entries=[take("a", utc(2026, 4, 1))])
    [line] = metered_lines("console", view, billing_period(tl, D(2026, 4, 1)), tl, "EUR")
    # max(10.00 × 30/30, 3 × 10.00) = 30.00
    assert (line.quantity, line.amount) == (30, Decimal("30.00"))


def test_a_metered_line_is_split_at_a_version_start_each_part_at_its_own_terms() -> None:
    v1 = contract(terms(capacity=0, price="10.00", policy="metered"), start=D(2026, 4, 1))
    v2 = contract(
        terms(capacity=0, price="20.00", policy="metered"), start=D(2026, 4, 16), version=2
    )
    tl = account_timeline(v1, v2)
    view = LedgerView(entries=[take("a", utc(2026, 4, 1)), take("b", utc(2026, 4, 1))])
    lines = metered_lines("console", view, billing_period(tl, D(2026, 4, 1)), tl, "EUR")
    assert [(ln.period_start, ln.period_end, ln.quantity, ln.amount) for ln in lines] == [
        (D(2026, 4, 1), D(2026, 4, 16), 30, Decimal("10.00")),  # 10.00 × 30/30
        (D(2026, 4, 16), D(2026, 5, 1), 30, Decimal("20.00")),  # 20.00 × 30/30
    ]


def test_a_pool_that_is_not_metered_has_no_metered_line() -> None:
    tl = account_timeline(contract(terms(), start=D(2026, 4, 1)))
    view = LedgerView(entries=[take("a", utc(2026, 4, 1))])
    assert metered_lines("console", view, billing_period(tl, D(2026, 4, 1)), tl, "EUR") == []


# --- contract versions inside a period (§5) ------------------------------------------------------


APRIL_PERIOD = BillingPeriod(D(2026, 4, 1), D(2026, 5, 1), Period(D(2026, 4, 1), D(2026, 5, 1)), 1)


def difference(old: PoolTerms | None, new: PoolTerms, capacity_before: int = 5) -> Line | None:
    return version_difference(
        new.module,
        old=old,
        new=new,
        capacity_before=capacity_before,
        start=utc(2026, 4, 16),  # day 16 of 30: 15/30 left
        period=APRIL_PERIOD,
        currency="EUR",
        version=2,
    )


def test_a_higher_price_from_mid_period_is_a_proration_of_the_difference() -> None:
    line = difference(terms(price="30.00"), terms(price="40.00"))
    # (5 × 40.00 − 5 × 30.00) × 15/30 = 25.00
    assert line is not None and (line.kind, line.amount) == ("proration", Decimal("25.00"))
    assert (line.period_start, line.period_end) == (D(2026, 4, 16), D(2026, 5, 1))


def test_a_lower_price_from_mid_period_is_a_credit_of_the_difference() -> None:
    line = difference(terms(price="30.00"), terms(price="20.00"))
    # (5 × 20.00 − 5 × 30.00) × 15/30 = −25.00: a credit of 25.00
    assert line is not None and (line.kind, line.amount) == ("credit", Decimal("25.00"))


def test_a_lower_capacity_or_minimum_is_billed_to_the_period_end() -> None:
    # max(5, 3) × 30.00 − 5 × 30.00 = 0: nothing owed, nothing credited
    assert difference(terms(capacity=5), terms(capacity=3)) is None
    assert difference(terms(capacity=5, minimum=5), terms(capacity=5, minimum=1)) is None


def test_a_higher_capacity_from_mid_period_is_a_proration_of_the_seats_added() -> None:
    line = difference(terms(capacity=5), terms(capacity=8))
    # (8 × 30.00 − 5 × 30.00) × 15/30 = 45.00
    assert line is not None and line.amount == Decimal("45.00")


def test_a_pool_added_by_a_version_is_charged_for_its_seats_prorated() -> None:
    line = difference(None, terms("documents", capacity=2, price="10.00"), capacity_before=0)
    # 2 × 10.00 × 15/30 = 10.00
    assert line is not None and (line.module, line.amount) == ("documents", Decimal("10.00"))


def test_the_difference_counts_the_capacity_billed_not_the_old_contracts_capacity() -> None:
    # the old terms billed 7 seats (5 in the contract, 2 bought): q_old = 7
    line = difference(terms(capacity=5, price="30.00"), terms(capacity=5, price="40.00"), 7)
    # (max(7, 5) × 40.00 − 7 × 30.00) × 15/30 = 35.00
    assert line is not None and line.amount == Decimal("35.00")


def test_a_metered_pool_has_no_version_difference() -> None:
    metered = terms(capacity=0, price="10.00", policy="metered")
    assert difference(metered, replace(metered, unit_price=Decimal("20.00")), 0) is None


# --- commitment and tax ---------------------------------------------------------------------------


def test_a_commitment_line_tops_the_period_up_to_the_minimum_spend() -> None:
    line = commitment_line(Decimal("500.00"), APRIL_PERIOD, Decimal("300.00"), "EUR")
    assert line is not None and (line.kind, line.amount) == ("commitment", Decimal("200.00"))
    assert commitment_line(Decimal("500.00"), APRIL_PERIOD, Decimal("500.00"), "EUR") is None
    assert commitment_line(Decimal("500.00"), APRIL_PERIOD, Decimal("650.00"), "EUR") is None


def test_a_commitment_line_of_a_cut_period_is_prorated_by_its_days() -> None:
    cut = BillingPeriod(D(2026, 1, 12), D(2026, 2, 1), Period(D(2026, 1, 1), D(2026, 2, 1)), 1)
    line = commitment_line(Decimal("310.00"), cut, Decimal("50.00"), "EUR")
    # 310.00 × 20/31 − 50.00 = 150.00
    assert line is not None and line.amount == Decimal("150.00")


def test_the_tax_line_is_on_the_subtotal_not_per_line() -> None:
    line = recurring_line(terms(price="0.05"), 1, APRIL_PERIOD, "EUR")
    tax = tax_line([line, line], Decimal("10"), "EUR")
    # 10 % of (0.05 + 0.05) = 0.01; per line it would be 0.01 + 0.01
    assert tax is not None and (tax.kind, tax.amount) == ("tax", Decimal("0.01"))
    assert tax_line([line], None, "EUR") is None
    assert tax_line([line], Decimal("0"), "EUR") is None


def test_tax_is_rounded_half_up_once_on_the_subtotal() -> None:
    line = recurring_line(terms(price="10.01"), 1, APRIL_PERIOD, "EUR")
    lines = with_tax([line], Decimal("19.6"), "EUR")
    # 10.01 × 19.6 % = 1.96196 → 1.96
    assert [(ln.kind, ln.amount) for ln in lines] == [
        ("recurring", Decimal("10.01")),
        ("tax", Decimal("1.96")),
    ]
    assert lines[-1].description == "Tax 19.6%"
    half = with_tax(
        [recurring_line(terms(price="0.25"), 1, APRIL_PERIOD, "EUR")], Decimal("10"), "EUR"
    )
    assert half[-1].amount == Decimal("0.03")  # 0.025 → 0.03


def test_a_documents_totals_are_sums_of_its_rounded_lines() -> None:
    lines = with_tax(
        [
            recurring_line(terms(price="10.01"), 1, APRIL_PERIOD, "EUR"),
            recurring_line(terms("docs", price="0.33"), 3, APRIL_PERIOD, "EUR"),
        ],
        Decimal("20"),
        "EUR",
    )
    draft = DraftInvoice("k", "period", utc(2026, 4, 1), "EUR", lines)
    assert draft.subtotal == Decimal("11.00")  # 10.01 + 0.99
    assert draft.tax == Decimal("2.20")
    assert draft.total == Decimal("13.20")


# --- the planner ----------------------------------------------------------------------------------


def test_a_period_invoice_is_issued_at_the_period_start_with_its_recurring_lines() -> None:
    c = contract(
        terms("console", capacity=5, price="30.00"),
        terms("documents", capacity=2, minimum=3, price="10.00"),
        start=D(2026, 4, 1),
    )
    ledger = [cap(5, utc(2026, 4, 1)), cap(2, utc(2026, 4, 1), module="documents")]
    planned = plan(plan_inputs([c], ledger, tax="20"), utc(2026, 4, 1))
    draft = document(planned, "period:2026-04-01")
    assert (draft.kind, draft.issued_at) == ("period", utc(2026, 4, 1))
    assert (draft.period_start, draft.period_end) == (D(2026, 4, 1), D(2026, 5, 1))
    assert [(ln.kind, ln.module, ln.quantity, ln.amount) for ln in draft.lines] == [
        ("recurring", "console", 5, Decimal("150.00")),  # 5 × 30.00
        ("recurring", "documents", 3, Decimal("30.00")),  # max(2, 3) × 10.00
        ("tax", None, 1, Decimal("36.00")),  # 20 % of 180.00
    ]
    assert draft.total == Decimal("216.00")
    assert planned.next_due == utc(2026, 5, 1)
    assert planned.state.since == utc(2026, 4, 1)


def test_a_period_invoice_is_issued_also_when_its_total_is_zero() -> None:
    c = contract(terms(capacity=0, price="10.00", policy="metered"), start=D(2026, 4, 1))
    planned = plan(plan_inputs([c], []), utc(2026, 4, 1))
    draft = document(planned, "period:2026-04-01")
    assert draft.lines == () and draft.total == Decimal(0)


def test_nothing_is_due_before_the_first_period_starts() -> None:
    c = contract(terms(), start=D(2026, 4, 1))
    planned = plan(plan_inputs([c], []), utc(2026, 3, 31, 23, 59))
    assert planned.steps == []
    assert planned.next_due == utc(2026, 4, 1)


def test_a_second_plan_with_the_first_plans_keys_done_proposes_nothing() -> None:
    c = contract(
        terms(capacity=3, price="120.00", policy="true_up"), interval="year", end=D(2026, 12, 31)
    )
    ledger = [cap(3, utc(2026, 1, 1))] + [take(f"u{n}", utc(2026, 3, 10)) for n in range(5)]
    first = plan(plan_inputs([c], ledger), utc(2027, 1, 1))
    assert first.documents
    again = plan(
        plan_inputs(
            [c],
            [e for e in ledger + written(first) if e.at >= (first.state.since or e.at)],
            state=first.state,
            done=done_keys(first),
            issued=[as_issued(d, n) for n, d in enumerate(first.documents)],
        ),
        utc(2027, 1, 1),
    )
    assert again.steps == []
    # the same keys given to a plan from the beginning: nothing either
    from_start = plan(
        plan_inputs([c], ledger + written(first), done=done_keys(first)), utc(2027, 1, 1)
    )
    assert from_start.steps == []


def test_seed_001_the_march_close_of_a_yearly_contract_charges_200_00_on_1_april() -> None:
    c = contract(
        terms(capacity=3, price="120.00", policy="true_up"), interval="year", end=D(2026, 12, 31)
    )
    ledger = [cap(3, utc(2026, 1, 1)), take("u0", utc(2026, 1, 1))]
    ledger += [take(f"u{n}", utc(2026, 3, 9 + n)) for n in range(1, 5)]  # 5 held, capacity 3
    planned = plan(plan_inputs([c], ledger), utc(2026, 4, 1))
    assert [s for s in planned.steps if isinstance(s, CapacityChange)] == [
        CapacityChange("console", 2, utc(2026, 4, 1), "true_up", commit_floor=True)
    ]
    # an ad-hoc invoice at March's close: 2 × 120.00 × 10/12 = 200.00
    draft = document(planned, "true_up:2026-04-01")
    assert (draft.kind, draft.issued_at) == ("ad_hoc", utc(2026, 4, 1))
    assert amounts(draft) == [("true_up", Decimal("200.00"))]
    # April: two sign up and two are deleted, 5 of 5 in use at its close: no charge
    ledger += [take("u5", utc(2026, 4, 3)), take("u6", utc(2026, 4, 4))]
    ledger += [release("u5", utc(2026, 4, 20)), release("u6", utc(2026, 4, 21))]
    # May: four sign up and two are deleted: 7 of 5 at its close
    ledger += [take(f"u{n}", utc(2026, 5, n)) for n in range(7, 11)]
    ledger += [release("u7", utc(2026, 5, 20)), release("u8", utc(2026, 5, 21))]
    planned = plan(
        plan_inputs([c], ledger + written(planned), done=done_keys(planned)), utc(2026, 6, 1)
    )
    assert [d.key for d in planned.documents] == ["true_up:2026-06-01"]
    # 2 × 120.00 × 8/12 = 160.00 at May's close
    assert amounts(planned.documents[0]) == [("true_up", Decimal("160.00"))]


def test_seed_003_the_next_period_invoice_carries_the_metered_arrears() -> None:
    c = contract(
        terms("documents", capacity=0, price="10.00", policy="metered"), start=D(2026, 4, 1)
    )
    ledger = [
        take("a", utc(2026, 4, 1), "documents"),
        take("b", utc(2026, 4, 1), "documents"),
        release("b", utc(2026, 4, 13), "documents"),
    ]
    planned = plan(plan_inputs([c], ledger), utc(2026, 5, 1))
    assert amounts(document(planned, "period:2026-04-01")) == []  # metered: no recurring line
    may = document(planned, "period:2026-05-01")
    # 10.00 × 42/30 = 14.00, in arrears for April
    assert [
        (ln.kind, ln.quantity, ln.amount, ln.period_start, ln.period_end) for ln in may.lines
    ] == [("metered", 42, Decimal("14.00"), D(2026, 4, 1), D(2026, 5, 1))]


def test_a_true_up_closing_at_a_period_start_is_carried_by_the_period_invoice() -> None:
    c = contract(terms(capacity=2, price="30.00", policy="true_up"), start=D(2026, 4, 1))
    ledger = [cap(2, utc(2026, 4, 1))] + [take(f"u{n}", utc(2026, 4, 10)) for n in range(3)]
    planned = plan(plan_inputs([c], ledger), utc(2026, 5, 1))
    assert [d.key for d in planned.documents] == ["period:2026-04-01", "period:2026-05-01"]
    may = document(planned, "period:2026-05-01")
    # the capacity in force at 1 May includes the true-up closing then: 3 × 30.00 = 90.00;
    # April's extra seat: 1 × 30.00 × 1/1 = 30.00
    assert [(ln.kind, ln.amount, ln.period_start) for ln in may.lines] == [
        ("recurring", Decimal("90.00"), D(2026, 5, 1)),
        ("true_up", Decimal("30.00"), D(2026, 4, 1)),
    ]


def test_a_true_up_closing_at_the_contract_end_is_carried_by_the_final_invoice() -> None:
    c = contract(
        terms(capacity=2, price="120.00", policy="true_up"), interval="year", end=D(2026, 6, 30)
    )
    ledger = [cap(2, utc(2026, 1, 1))] + [take(f"u{n}", utc(2026, 6, 10)) for n in range(5)]
    planned = plan(plan_inputs([c], ledger), utc(2026, 7, 1))
    assert [d.key for d in planned.documents] == ["period:2026-01-01", "final:2026-07-01"]
    # June's 3 extra seats: 3 × 120.00 × 1/12 = 30.00
    assert amounts(document(planned, "final:2026-07-01")) == [("true_up", Decimal("30.00"))]


def test_a_month_closing_in_a_trial_raises_capacity_without_a_charge() -> None:
    c = contract(
        terms(capacity=2, price="30.00", policy="true_up"),
        start=D(2026, 1, 1),
        trial_end=D(2026, 2, 1),
        anchor=D(2026, 2, 1),
    )
    ledger = [cap(2, utc(2026, 1, 1))] + [take(f"u{n}", utc(2026, 1, 10)) for n in range(3)]
    planned = plan(plan_inputs([c], ledger), utc(2026, 2, 1))
    assert [s for s in planned.steps if isinstance(s, CapacityChange)] == [
        CapacityChange("console", 1, utc(2026, 2, 1), "true_up", commit_floor=True)
    ]
    # no true-up line for the trial's month; the first period bills the 3 seats
    assert [d.key for d in planned.documents] == ["period:2026-02-01"]
    assert amounts(planned.documents[0]) == [("recurring", Decimal("90.00"))]


def test_a_next_invoice_purchase_is_billed_on_the_next_period_invoice() -> None:
    c = contract(terms(price="30.00", timing="next_invoice"), start=D(2026, 4, 1))
    ledger = [cap(5, utc(2026, 4, 1)), buy(1, utc(2026, 4, 16, 9))]
    planned = plan(plan_inputs([c], ledger), utc(2026, 5, 1))
    may = document(planned, "period:2026-05-01")
    # 6 × 30.00 for May; the seat of 16 April: 30.00 × 15/30 = 15.00
    assert [(ln.kind, ln.amount) for ln in may.lines] == [
        ("recurring", Decimal("180.00")),
        ("proration", Decimal("15.00")),
    ]


def test_a_minimum_spend_is_topped_up_at_the_period_end() -> None:
    c = contract(terms(price="30.00"), start=D(2026, 4, 1), minimum_spend="500.00")
    planned = plan(plan_inputs([c], [cap(5, utc(2026, 4, 1))]), utc(2026, 5, 1))
    may = document(planned, "period:2026-05-01")
    # April billed 5 × 30.00 = 150.00: 500.00 − 150.00 = 350.00, in arrears
    assert [(ln.kind, ln.amount, ln.period_start) for ln in may.lines] == [
        ("recurring", Decimal("150.00"), D(2026, 5, 1)),
        ("commitment", Decimal("350.00"), D(2026, 4, 1)),
    ]


def test_a_version_raising_the_price_mid_period_charges_the_difference_at_once() -> None:
    v1 = contract(terms(price="30.00"), start=D(2026, 4, 1))
    v2 = contract(terms(price="40.00"), start=D(2026, 4, 16), version=2)
    planned = plan(plan_inputs([v1, v2], [cap(5, utc(2026, 4, 1))]), utc(2026, 4, 16))
    # (5 × 40.00 − 5 × 30.00) × 15/30 = 25.00
    assert amounts(document(planned, "version_charge:ctr2")) == [("proration", Decimal("25.00"))]


def test_a_version_lowering_the_price_mid_period_credits_the_invoice_that_billed_it() -> None:
    v1 = contract(terms(price="30.00"), start=D(2026, 4, 1))
    v2 = contract(terms(price="20.00"), start=D(2026, 4, 16), version=2)
    planned = plan(plan_inputs([v1, v2], [cap(5, utc(2026, 4, 1))]), utc(2026, 4, 16))
    [note] = [s for s in planned.steps if isinstance(s, IssueDocument) and s.credits_key]
    assert note.credits_key == "period:2026-04-01"
    assert note.draft.type == "credit_note"
    # (5 × 20.00 − 5 × 30.00) × 15/30 = −25.00: a credit of 25.00
    assert amounts(note.draft) == [("credit", Decimal("25.00"))]


# --- properties ---------------------------------------------------------------------------------


currencies = st.sampled_from(sorted(MINOR_UNITS))
INTERVALS = ("month", "quarter", "half_year", "year")


@st.composite
def prices(draw: st.DrawFn, currency: str) -> Decimal:
    places = MINOR_UNITS[currency]
    cents = draw(st.integers(0, 10**7))
    return Decimal(cents).scaleb(-places)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    currency=currencies,
    capacity=st.integers(0, 500),
    minimum=st.integers(0, 500),
    start=st.dates(D(2024, 1, 1), D(2030, 12, 31)),
    interval=st.sampled_from(INTERVALS),
)
def test_a_recurring_line_of_a_full_period_is_capacity_times_price(
    data: st.DataObject, currency: str, capacity: int, minimum: int, start: date, interval: str
) -> None:
    price = data.draw(prices(currency))
    c = contract(
        terms(capacity=capacity, minimum=minimum, price=str(price)), start=start, interval=interval
    )
    period = billing_period(account_timeline(c), start)
    line = recurring_line(c.pools[0], capacity, period, currency)
    assert line.amount == max(capacity, minimum) * price
    assert line.quantity == max(capacity, minimum)


@st.composite
def billing_cases(draw: st.DrawFn) -> tuple[PlanInputs, Contract, datetime]:
    """One contract (a capped pool and a metered one) and a consistent seat ledger."""
    currency = draw(currencies)
    interval = draw(st.sampled_from(INTERVALS))
    start = draw(st.dates(D(2025, 1, 1), D(2026, 12, 31)))
    trial_end = draw(st.one_of(st.none(), st.integers(1, 40).map(lambda k: start + timedelta(k))))
    pools = [
        terms(
            "alpha",
            capacity=draw(st.integers(0, 6)),  # small: true-ups and purchases happen
            price=str(draw(prices(currency))),
            policy=draw(st.sampled_from(["block", "true_up", "auto_purchase"])),
            timing=draw(st.sampled_from(["immediate", "next_invoice"])),
            proration=draw(st.sampled_from(["day", "second"])),
        ),
        terms(
            "beta",
            capacity=0,
            minimum=draw(st.integers(0, 3)),
            price=str(draw(prices(currency))),
            policy="metered",
        ),
    ]
    first = trial_end or start
    c = contract(
        *pools,
        start=start,
        interval=interval,
        trial_end=trial_end,
        end=draw(st.one_of(st.none(), st.integers(0, 500).map(lambda k: first + timedelta(k)))),
        minimum_spend=draw(st.one_of(st.none(), st.sampled_from(["100", "2500.5"]))),
    )
    at0 = instant(start)
    ledger = [cap(pools[0].capacity, at0, module="alpha")]
    held: dict[str, set[str]] = {"alpha": set(), "beta": set()}
    moments = st.tuples(st.integers(0, 450), st.sampled_from([0, 1, 3600, 43_200, 86_399]))
    for days, seconds in sorted(draw(st.lists(moments, min_size=2, max_size=24))):
        at = at0 + timedelta(days=days, seconds=seconds)
        module = draw(st.sampled_from(["alpha", "beta"]))
        user = f"u{draw(st.integers(0, 7))}"
        if draw(st.booleans()) and pools[0].policy != "true_up" and module == "alpha":
            ledger.append(buy(draw(st.integers(1, 3)), at, cause="auto_purchase", module="alpha"))
        elif user in held[module]:
            held[module].discard(user)
            ledger.append(release(user, at, module))
        else:
            held[module].add(user)
            ledger.append(take(user, at, module))
    tax = draw(st.one_of(st.none(), st.sampled_from(["20", "7.5", "0", "19.6", "10"])))
    until = at0 + timedelta(days=draw(st.integers(0, 460)), seconds=draw(st.integers(0, 86_399)))
    return plan_inputs([c], ledger, currency=currency, tax=tax), c, until


@settings(max_examples=150, deadline=None)
@given(billing_cases())
def test_every_planned_documents_totals_are_sums_of_lines_rounded_once(
    case: tuple[PlanInputs, Contract, datetime],
) -> None:
    inputs, c, until = case
    q = quantum(inputs.currency)
    tl = account_timeline(c)
    charges = [
        charge_invoice(e, tl, inputs.currency, inputs.tax_rate)
        for e in inputs.ledger
        if e.purchased
    ]
    drafts = plan(inputs, until).documents + [d for d in charges if d is not None]
    for draft in drafts:
        assert draft.issued_at <= until or draft.key.startswith("charge:")
        priced = [ln for ln in draft.lines if ln.kind != "tax"]
        taxes = [ln for ln in draft.lines if ln.kind == "tax"]
        assert draft.subtotal == sum((ln.amount for ln in priced), Decimal(0))
        assert draft.tax == sum((ln.amount for ln in taxes), Decimal(0))
        assert draft.total == sum((ln.amount for ln in draft.lines), Decimal(0))
        for ln in draft.lines:  # each line rounded once, to the currency's minor unit
            assert ln.amount == ln.amount.quantize(q) and ln.amount >= 0
            assert (
                ln.period_start is None or ln.period_end is None or ln.period_start < ln.period_end
            )
            if ln.period_start is not None and ln.kind != "tax":
                assert not tl.in_trial(ln.period_start)  # nothing charged in a trial
        assert len(taxes) <= 1
        if taxes:
            assert inputs.tax_rate
            assert taxes[0].amount == round_line(
                draft.subtotal * inputs.tax_rate / 100, inputs.currency
            )


@settings(max_examples=100, deadline=None)
@given(case=billing_cases(), days=st.integers(0, 460), seconds=st.integers(0, 86_399))
def test_planning_in_two_steps_issues_what_one_plan_issues(
    case: tuple[PlanInputs, Contract, datetime], days: int, seconds: int
) -> None:
    """A run as of t1, then one as of t2 from the state it left (reading only the ledger
    and documents since), issue exactly what one run as of t2 issues."""
    inputs, c, late = case
    early = min(late, instant(c.start_date) + timedelta(days=days, seconds=seconds))
    one = plan(inputs, late)
    first = plan(replace(inputs, ledger=[e for e in inputs.ledger if e.at <= early]), early)
    since = first.state.since
    assert since is not None
    ledger = [e for e in inputs.ledger + written(first) if e.at >= since]
    issued = [as_issued(d, n) for n, d in enumerate(first.documents) if d.issued_at >= since]
    second = plan(
        replace(inputs, state=first.state, ledger=ledger, done=done_keys(first), issued=issued),
        late,
    )
    assert first.documents + second.documents == one.documents


@settings(max_examples=100, deadline=None)
@given(case=billing_cases())
def test_the_next_moment_due_is_when_the_next_step_falls_due(
    case: tuple[PlanInputs, Contract, datetime],
) -> None:
    inputs, c, now = case
    planned = plan(inputs, now)
    if planned.next_due is None:
        assert c.end_date is not None  # only an ended contract has nothing more to do
        return
    assert planned.next_due > now
    later = plan(inputs, planned.next_due)
    assert later.steps[: len(planned.steps)] == planned.steps  # a later moment only adds
    added = later.steps[len(planned.steps) :]
    assert added
    for step in added:
        at = step.draft.issued_at if isinstance(step, IssueDocument) else step.at
        assert at == planned.next_due
    assert plan(inputs, now) == planned  # the same, every time


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    currency=currencies,
    quantity=st.integers(1, 50),
    start=st.dates(D(2024, 1, 1), D(2030, 12, 31)),
    method=st.sampled_from(["day", "second"]),
    effective_s=st.integers(0, 10**9),
    split_s=st.integers(0, 10**9),
)
def test_splitting_a_charge_period_changes_the_total_by_at_most_the_rounding_of_its_lines(
    data: st.DataObject,
    currency: str,
    quantity: int,
    start: date,
    method: str,
    effective_s: int,
    split_s: int,
) -> None:
    """A seat bought at ``effective`` and charged to the period end, in one line or
    in two (to a split point, then from it): the two totals differ by at most one
    rounding per line (half a minor unit each)."""
    price = data.draw(prices(currency))
    c = contract(terms(price=str(price), proration=method), start=start, interval="month")
    tl = account_timeline(c)
    period = billing_period(tl, start)
    seconds = period.full_days * 86_400
    effective = period.start_instant + timedelta(seconds=effective_s % seconds)
    split = period.start_instant + timedelta(seconds=split_s % seconds)
    if method == "day":
        effective, split = instant(effective.date()), instant(split.date())
    assume(effective < split)
    whole = proration_line(buy(quantity, effective), tl, currency)
    tail = proration_line(buy(quantity, split), tl, currency)
    assert whole is not None and tail is not None
    # the head [effective, split) is the whole charge less its tail, exactly
    head_exact = prorate(
        method=method, quantity=quantity, unit_price=price, period=period.full, effective=effective
    ) - prorate(
        method=method, quantity=quantity, unit_price=price, period=period.full, effective=split
    )
    head = round_line(head_exact, currency)
    q = quantum(currency)
    assert abs((head + tail.amount) - whole.amount) <= q  # two roundings of q/2 at most
    # and a recurring line cut in two at a day boundary, likewise
    cut = period.start + timedelta(days=max(1, min(period.days - 1, split_s % period.days)))
    if period.start < cut < period.end:
        one = recurring_line(c.pools[0], quantity, period, currency).amount
        two = (
            recurring_line(c.pools[0], quantity, replace(period, end=cut), currency).amount
            + recurring_line(c.pools[0], quantity, replace(period, start=cut), currency).amount
        )
        assert abs(one - two) <= q
