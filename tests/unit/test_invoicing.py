"""Invoices as pure functions of contracts, the seat ledger and a moment
(domain/invoicing.py, PRODUCT.md §3 true-up and §5 lines). Pure and fast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seatledger.domain.billing_calendar import coverages, instant
from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.invoicing import (
    BillingInputs,
    DraftInvoice,
    capacity_for_recurring,
    charge_invoice,
    final_invoice,
    metered_line,
    next_invoice_day,
    period_invoice,
    proration_line,
    recurring_line,
    seat_days,
    tax_line,
    true_up_invoice,
    true_up_line,
    upcoming_invoice,
)
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.money import MINOR_UNITS, quantum, round_line
from seatledger.domain.periods import Period
from seatledger.domain.proration import prorate

D = date


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
    )


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


def inputs(
    contracts: list[Contract],
    ledger: list[LedgerEntry],
    *,
    currency: str = "EUR",
    tax: str | None = None,
) -> BillingInputs:
    return BillingInputs(
        currency=currency,
        tax_rate=Decimal(tax) if tax else None,
        contracts=contracts,
        ledger=ledger,
    )


def amounts(draft: DraftInvoice | None) -> list[tuple[str, Decimal]]:
    assert draft is not None
    return [(ln.kind, ln.amount) for ln in draft.lines]


# ---------------------------------------------------------------- worked examples (§6)


def test_seed_000_add_license_on_day_16_of_30_is_15_00():
    c = contract(terms(policy="inactive_when_full"), start=D(2026, 4, 1))
    purchase = cap(1, utc(2026, 4, 16, 10), cause="add_license", purchased=True)
    draft = charge_invoice(purchase, inputs([c], []))
    assert amounts(draft) == [("proration", Decimal("15.00"))]
    assert (draft.lines[0].period_start, draft.lines[0].period_end) == (
        D(2026, 4, 16),
        D(2026, 5, 1),
    )


def test_seed_001_true_up_in_march_of_a_yearly_contract_is_10_of_12():
    c = contract(
        terms(capacity=3, price="120.00", policy="true_up"), interval="year", end=D(2026, 12, 31)
    )
    ledger = [cap(3, utc(2026, 1, 1)), cap(2, utc(2026, 4, 1), cause="true_up")]
    assert amounts(true_up_invoice(utc(2026, 4, 1), inputs([c], ledger))) == [
        ("true_up", Decimal("200.00"))
    ]
    ledger.append(cap(2, utc(2026, 6, 1), cause="true_up"))
    assert amounts(true_up_invoice(utc(2026, 6, 1), inputs([c], ledger))) == [
        ("true_up", Decimal("160.00"))
    ]


def test_a_true_up_in_a_period_cut_by_the_end_counts_only_the_months_left_in_it():
    c = contract(
        terms(capacity=2, price="120.00", policy="true_up"), interval="year", end=D(2026, 6, 30)
    )
    ledger = [
        cap(2, utc(2026, 1, 1)),
        cap(3, utc(2026, 7, 1), cause="true_up"),
        cap(1, utc(2026, 4, 1), cause="true_up"),
    ]
    june = true_up_line(ledger[1], inputs([c], ledger))
    assert june is not None and june.amount == Decimal("30.00")  # 3 × 120 × 1/12
    march = true_up_line(ledger[2], inputs([c], ledger))
    assert march is not None and march.amount == Decimal("40.00")  # 1 × 120 × 4/12


def test_seed_003_metered_42_user_days_of_30_is_14_00():
    c = contract(
        terms("documents", capacity=0, price="10.00", policy="metered"), start=D(2026, 4, 1)
    )
    ledger = [
        take("a", utc(2026, 4, 1), "documents"),
        take("b", utc(2026, 4, 1), "documents"),
        release("b", utc(2026, 4, 13), "documents"),
    ]
    line = metered_line(c.pools[0], inputs([c], ledger), Period(D(2026, 4, 1), D(2026, 5, 1)), 30)
    assert (line.quantity, line.amount) == (42, Decimal("14.00"))


def test_seed_004_the_period_invoice_bills_the_minimum_of_ten():
    c = contract(terms(capacity=10, minimum=10, policy="auto_purchase"), start=D(2026, 4, 1))
    ledger = [cap(10, utc(2026, 4, 1))] + [take(f"u{n}", utc(2026, 4, 1)) for n in range(8)]
    cov = coverages([c])[0]
    draft = period_invoice(cov, *cov.period_containing(D(2026, 4, 1)), inputs([c], ledger))
    assert amounts(draft) == [("recurring", Decimal("300.00"))]


# ---------------------------------------------------------------------- seat-days


def test_a_user_holding_a_seat_twice_in_one_day_counts_once_for_it():
    period = Period(D(2026, 4, 1), D(2026, 5, 1))
    ledger = [
        take("a", utc(2026, 4, 10, 9)),
        release("a", utc(2026, 4, 10, 11)),
        take("a", utc(2026, 4, 10, 15)),
        release("a", utc(2026, 4, 11, 1)),
    ]
    assert seat_days(ledger, "console", period) == 2  # 10 and 11 April


def test_a_zero_length_hold_counts_for_its_day_and_a_release_at_midnight_does_not():
    period = Period(D(2026, 4, 1), D(2026, 5, 1))
    assert (
        seat_days(
            [take("a", utc(2026, 4, 5, 8)), release("a", utc(2026, 4, 5, 8))], "console", period
        )
        == 1
    )
    assert (
        seat_days([take("a", utc(2026, 4, 5)), release("a", utc(2026, 4, 7))], "console", period)
        == 2
    )


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
        lo, hi = instant(day), instant(day + timedelta(days=1))
        for spans in holds.values():
            if any(
                (start < hi and (stop is None or stop > lo)) or (stop == start and lo <= start < hi)
                for start, stop in spans
            ):
                total += 1
        day += timedelta(days=1)
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
def test_seat_days_count_users_per_day(histories):
    ledger = []
    for user, instants in histories:
        for n, at in enumerate(sorted(instants)):
            ledger.append(take(user, at) if n % 2 == 0 else release(user, at))
    period = Period(D(2026, 4, 1), D(2026, 5, 1))
    counted = seat_days(ledger, "console", period)
    assert counted == _brute_seat_days(ledger, "console", period)
    assert 0 <= counted <= len({u for u, _ in histories}) * period.days


# ---------------------------------------------------------------------- properties


currencies = st.sampled_from(sorted(MINOR_UNITS))


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
    interval=st.sampled_from(["month", "year"]),
)
def test_a_recurring_line_of_a_full_period_is_capacity_times_price(
    data, currency, capacity, minimum, start, interval
):
    price = data.draw(prices(currency))
    c = contract(
        terms(capacity=capacity, minimum=minimum, price=str(price)), start=start, interval=interval
    )
    period, full_days = coverages([c])[0].period_containing(start)
    line = recurring_line(c.pools[0], capacity, period, full_days, currency)
    assert line.amount == max(capacity, minimum) * price
    assert line.quantity == max(capacity, minimum)


@st.composite
def billing_cases(draw: st.DrawFn) -> tuple[BillingInputs, Contract]:
    currency = draw(currencies)
    interval = draw(st.sampled_from(["month", "year"]))
    start = draw(st.dates(D(2025, 1, 1), D(2026, 12, 31)))
    pools = [
        terms(
            "alpha",
            capacity=draw(st.integers(0, 40)),
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
    c = contract(
        *pools,
        start=start,
        interval=interval,
        end=draw(
            st.one_of(st.none(), st.integers(0, 500).map(lambda k: start + timedelta(days=k)))
        ),
    )
    first = instant(start)
    ledger = [cap(pools[0].capacity, first, module="alpha")]
    span = 400 * 86_400
    for n in range(draw(st.integers(0, 12))):
        at = first + timedelta(seconds=draw(st.integers(0, span)))
        kind = draw(st.sampled_from(["take", "release", "buy", "true_up"]))
        module = draw(st.sampled_from(["alpha", "beta"]))
        if kind == "take":
            ledger.append(take(f"u{n % 5}", at, module))
        elif kind == "release":
            ledger.append(release(f"u{n % 5}", at, module))
        elif kind == "buy":
            ledger.append(
                cap(
                    draw(st.integers(1, 3)),
                    at,
                    cause="auto_purchase",
                    purchased=True,
                    module="alpha",
                )
            )
        else:
            ledger.append(
                cap(draw(st.integers(1, 3)), instant(at.date()), cause="true_up", module="alpha")
            )
    tax = draw(st.one_of(st.none(), st.sampled_from(["20", "7.5", "0", "19.6", "10"])))
    return inputs([c], ledger, currency=currency, tax=tax), c


def _documents(case: BillingInputs, c: Contract) -> list[DraftInvoice]:
    cov = case.covs[0]
    out: list[DraftInvoice] = []
    for period, full_days in cov.periods(cov.start + timedelta(days=450)):
        out.append(period_invoice(cov, period, full_days, case))
    for e in case.ledger:
        for draft in (
            charge_invoice(e, case) if e.purchased else None,
            true_up_invoice(e.at, case) if e.cause == "true_up" else None,
        ):
            if draft is not None:
                out.append(draft)
    if cov.end is not None:
        final = final_invoice(cov.end, case)
        if final is not None:
            out.append(final)
    return out


@settings(max_examples=150, deadline=None)
@given(billing_cases())
def test_totals_are_sums_of_rounded_lines(case):
    inputs_, c = case
    q = quantum(inputs_.currency)
    for draft in _documents(inputs_, c):
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
        assert len(taxes) <= 1
        if taxes:
            assert inputs_.tax_rate
            assert taxes[0].amount == round_line(
                draft.subtotal * inputs_.tax_rate / 100, inputs_.currency
            )


@settings(max_examples=150, deadline=None)
@given(case=billing_cases(), seconds=st.integers(0, 450 * 86_400))
def test_the_upcoming_invoice_is_the_document_due_next(case, seconds):
    inputs_, c = case
    now = instant(c.start_date) + timedelta(seconds=seconds)
    draft = upcoming_invoice(inputs_, now)
    day = next_invoice_day(inputs_, now)
    if day is None:
        assert draft is None
        return
    assert instant(day) > now
    if draft is not None:
        assert draft.issued_at == instant(day)
        assert draft.key in (f"period:{day}", f"final:{day}")
    assert upcoming_invoice(inputs_, now) == draft  # the same, every time


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
    data, currency, quantity, start, method, effective_s, split_s
):
    """A seat bought at ``effective`` and charged to the period end, in one line or
    in two (to a split point, then from it): the two totals differ by at most one
    rounding per line (half a minor unit each)."""
    price = data.draw(prices(currency))
    c = contract(terms(price=str(price), proration=method), start=start, interval="month")
    cov = coverages([c])[0]
    period, full_days = cov.period_containing(start)
    seconds = full_days * 86_400
    effective = period.start_instant + timedelta(seconds=effective_s % seconds)
    split = period.start_instant + timedelta(seconds=split_s % seconds)
    if method == "day":
        effective, split = instant(effective.date()), instant(split.date())
    assume(effective < split)
    case = inputs([c], [], currency=currency)
    whole = proration_line(cap(quantity, effective, cause="seat_request", purchased=True), case)
    tail = proration_line(cap(quantity, split, cause="seat_request", purchased=True), case)
    assert whole is not None and tail is not None
    # the head [effective, split) is the whole charge less its tail, exactly
    full = Period(period.start, period.start + timedelta(days=full_days))
    head_exact = prorate(
        method=method, quantity=quantity, unit_price=price, period=full, effective=effective
    ) - prorate(method=method, quantity=quantity, unit_price=price, period=full, effective=split)
    head = round_line(head_exact, currency)
    q = quantum(currency)
    assert abs((head + tail.amount) - whole.amount) <= q  # two roundings of q/2 at most
    # and a recurring line cut in two at a day boundary, likewise
    cut = period.start + timedelta(days=max(1, min(period.days - 1, split_s % period.days)))
    if period.start < cut < period.end:
        one = recurring_line(c.pools[0], quantity, period, full_days, currency).amount
        two = (
            recurring_line(
                c.pools[0], quantity, Period(period.start, cut), full_days, currency
            ).amount
            + recurring_line(
                c.pools[0], quantity, Period(cut, period.end), full_days, currency
            ).amount
        )
        assert abs(one - two) <= q


@settings(max_examples=100, deadline=None)
@given(case=billing_cases())
def test_capacity_for_recurring_leaves_purchases_at_the_period_start_to_proration(case):
    inputs_, c = case
    at = instant(c.start_date) + timedelta(days=31)
    before = capacity_for_recurring(inputs_.ledger, "alpha", at)
    with_purchase = inputs_.ledger + [
        cap(4, at, cause="seat_request", purchased=True, module="alpha")
    ]
    with_true_up = inputs_.ledger + [cap(4, at, cause="true_up", module="alpha")]
    assert capacity_for_recurring(with_purchase, "alpha", at) == before
    assert capacity_for_recurring(with_true_up, "alpha", at) == before + 4


def test_the_tax_line_is_on_the_subtotal_not_per_line():
    line = recurring_line(terms(price="0.05"), 1, Period(D(2026, 1, 1), D(2026, 2, 1)), 31, "EUR")
    tax = tax_line([line, line], Decimal("10"), "EUR")
    assert tax is not None and tax.amount == Decimal("0.01")
    assert tax_line([line], None, "EUR") is None
    assert tax_line([line], Decimal("0"), "EUR") is None


@pytest.mark.parametrize(
    ("currency", "price", "expected"),
    [
        ("EUR", "0.25", Decimal("0.13")),  # 0.125 → 0.13, half up
        ("JPY", "1", Decimal("1")),  # 0.5 → 1
        ("BHD", "0.005", Decimal("0.003")),  # 0.0025 → 0.003
    ],
)
def test_a_line_is_rounded_half_up_once(currency, price, expected):
    c = contract(terms(price=price), start=D(2026, 4, 1))
    # day 16 of 30: × 15/30 = one half
    line = proration_line(
        cap(1, utc(2026, 4, 16), cause="seat_request", purchased=True),
        inputs([c], [], currency=currency),
    )
    assert line is not None and line.amount == expected
