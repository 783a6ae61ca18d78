"""Invoices as pure functions of (contracts, seat ledger, a moment).

The same function computes the upcoming preview and the issued invoice. Each
document has a key; issuing one whose key was issued already is refused by
the database, so a rerun issues nothing new (PRODUCT.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext

from seatledger.domain.billing_calendar import Coverage, coverage_on, coverages, instant
from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_TRUE_UP,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.money import MONEY_CONTEXT, format_amount, format_percentage, round_line
from seatledger.domain.periods import Period, months_left_in_period
from seatledger.domain.proration import fraction_of_months, prorate
from seatledger.domain.seat_policies import METERED

PURCHASE_CAUSES = ("add_license", "auto_purchase", "seat_request")


@dataclass(frozen=True)
class Line:
    kind: str  # recurring | proration | true_up | metered | credit | tax
    module: str | None
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal  # rounded once, to the currency's minor unit
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class DraftInvoice:
    key: str
    kind: str  # period | ad_hoc
    issued_at: datetime
    currency: str
    lines: tuple[Line, ...]
    period_start: date | None = None
    period_end: date | None = None
    type: str = "invoice"

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind != "tax"), Decimal(0))

    @property
    def tax(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == "tax"), Decimal(0))

    @property
    def total(self) -> Decimal:
        # NOTE: totals are sums of rounded lines, never rounded again.
        return self.subtotal + self.tax


@dataclass
class BillingInputs:
    currency: str
    tax_rate: Decimal | None
    contracts: list[Contract]
    ledger: list[LedgerEntry]
    covs: list[Coverage] = field(init=False)

    def __post_init__(self) -> None:
        self.covs = coverages(self.contracts)

    def terms(self, module: str, day: date) -> tuple[Coverage, PoolTerms] | None:
        cov = coverage_on(self.covs, day)
        if cov is None:
            return None
        for t in cov.contract.pools:
            if t.module == module:
                return cov, t
        return None


# --- projections of the ledger ----------------------------------------------------


def capacity_for_recurring(ledger: list[LedgerEntry], module: str, at: datetime) -> int:
    """Capacity in force at a period start: every change before it, and the
    changes at that very instant that are not purchases (the true-up closing
    then, a contract version, a decrease at renewal). A purchase at or after
    the period start is charged as proration only."""
    return sum(
        e.delta
        for e in ledger
        if e.kind == CAPACITY_CHANGED
        and e.module == module
        and (e.at < at or (e.at == at and not e.purchased))
    )


def capacity_before(ledger: list[LedgerEntry], module: str, at: datetime) -> int:
    return sum(
        e.delta for e in ledger if e.kind == CAPACITY_CHANGED and e.module == module and e.at < at
    )


def seats_held_before(ledger: list[LedgerEntry], module: str, at: datetime) -> int:
    """Seats held at the instant ``at`` (changes at ``at`` belong to what follows)."""
    n = 0
    for e in ledger:
        if e.module == module and e.at < at:
            if e.kind == SEAT_TAKEN:
                n += 1
            elif e.kind == SEAT_RELEASED:
                n -= 1
    return n


def seat_days(ledger: list[LedgerEntry], module: str, period: Period) -> int:
    """For each UTC day of the period, the users who held a seat in the pool at
    any moment of that day (seed 003)."""
    open_since: dict[str, datetime] = {}
    intervals: dict[str, list[tuple[datetime, datetime]]] = {}
    for e in sorted(
        (e for e in ledger if e.module == module and e.user_id), key=lambda e: (e.at, e.id or 0)
    ):
        if e.kind == SEAT_TAKEN:
            open_since.setdefault(e.user_id, e.at)  # type: ignore[arg-type]
        elif e.kind == SEAT_RELEASED and e.user_id in open_since:
            intervals.setdefault(e.user_id, []).append(  # type: ignore[arg-type]
                (open_since.pop(e.user_id), e.at)
            )  # type: ignore[arg-type]
    end = period.end_instant
    for user_id, start in open_since.items():
        intervals.setdefault(user_id, []).append((start, max(start, end)))
    total = 0
    for holds in intervals.values():
        # NOTE: a day counts once per USER ("the users who held a seat ... at any
        # moment of that day"): a user who releases and takes the seat again on one
        # day is one user-day, not two. Each hold gives a range of days; the ranges
        # of one user are merged before counting.
        days: list[tuple[date, date]] = []
        for start, stop in holds:
            # a day d counts when [start, stop) meets [d 00:00, d+1 00:00), and a
            # zero-length hold counts for its day ("at any moment of that day").
            first = max(start.date(), period.start)
            last = start.date() if stop <= start else (stop - timedelta(microseconds=1)).date()
            last = min(last, period.end - timedelta(days=1))
            if first <= last:
                days.append((first, last))
        days.sort()
        merged_last: date | None = None
        for first, last in days:
            if merged_last is not None and first <= merged_last:
                if last > merged_last:
                    total += (last - merged_last).days
                    merged_last = last
                continue
            total += (last - first).days + 1
            merged_last = last
    return total


def purchases(ledger: list[LedgerEntry], module: str | None = None) -> list[LedgerEntry]:
    return [
        e
        for e in ledger
        if e.kind == CAPACITY_CHANGED
        and e.purchased
        and e.delta > 0
        and e.cause in PURCHASE_CAUSES
        and (module is None or e.module == module)
    ]


# --- lines ----------------------------------------------------------------------


def _line(
    kind: str,
    module: str | None,
    description: str,
    quantity: int,
    unit_price: Decimal,
    exact: Decimal,
    currency: str,
    period: Period | None,
) -> Line:
    return Line(
        kind,
        module,
        description,
        quantity,
        unit_price,
        round_line(exact, currency),
        period.start if period else None,
        period.end if period else None,
    )


def recurring_line(
    terms: PoolTerms, capacity: int, period: Period, full_days: int, currency: str
) -> Line:
    # NOTE: amount = max(capacity, minimum) × unit_price, × days / full days for a cut period.
    qty = max(capacity, terms.minimum)
    with localcontext(MONEY_CONTEXT):
        exact = qty * terms.unit_price * period.days / full_days
    return _line(
        "recurring",
        terms.module,
        f"{terms.module}: {qty} seats {period.start} – {period.end}",
        qty,
        terms.unit_price,
        exact,
        currency,
        period,
    )


def proration_line(entry: LedgerEntry, inputs: BillingInputs) -> Line | None:
    """A purchase from its effective moment to the end of its period."""
    found = inputs.terms(entry.module, entry.at.date())
    if found is None:
        return None
    cov, terms = found
    effective = max(entry.at, instant(cov.start))
    period, full_days = cov.period_containing(effective.date())
    # NOTE: amount = quantity × unit_price × (D − d + 1) / D (days), or × seconds left / seconds.
    # A period cut by the contract end is prorated against its full length.
    full = Period(period.start, period.start + timedelta(days=full_days))
    exact = prorate(
        method=terms.proration,
        quantity=entry.delta,
        unit_price=terms.unit_price,
        period=full,
        effective=effective,
    )
    if period.end < full.end:
        with localcontext(MONEY_CONTEXT):
            cut = prorate(
                method=terms.proration,
                quantity=entry.delta,
                unit_price=terms.unit_price,
                period=full,
                effective=instant(period.end),
            )
            exact -= cut
    noun = "seat" if entry.delta == 1 else "seats"
    return _line(
        "proration",
        entry.module,
        f"{entry.module}: +{entry.delta} {noun} from {effective.date()} ({entry.cause})",
        entry.delta,
        terms.unit_price,
        exact,
        inputs.currency,
        Period(effective.date(), period.end),
    )


def true_up_line(entry: LedgerEntry, inputs: BillingInputs) -> Line | None:
    """Seed 001: extra × unit_price × m / M for the month closing at ``entry.at``."""
    month_day = entry.at.date() - timedelta(days=1)
    found = inputs.terms(entry.module, month_day)
    if found is None:
        return None
    cov, terms = found
    period, _full_days = cov.period_containing(month_day)
    # NOTE: M is the interval's months (12 for a yearly contract) and m the months
    # left IN THE PERIOD AS BILLED: a period cut short by end_date leaves fewer
    # months (a yearly contract ending 30 June trued up in June: 1/12, not 7/12).
    m, big_m = months_left_in_period(
        period, cov.start, month_day, interval=cov.contract.billing_interval
    )
    exact = fraction_of_months(quantity=entry.delta, unit_price=terms.unit_price, m=m, M=big_m)
    return _line(
        "true_up",
        entry.module,
        f"{entry.module}: true-up +{entry.delta} × {m}/{big_m} of the period",
        entry.delta,
        terms.unit_price,
        exact,
        inputs.currency,
        Period(_month_start(cov, month_day), period.end),
    )


def _month_start(cov: Coverage, day: date) -> date:
    for _close_day, month in cov.month_closes(day + timedelta(days=1)):
        if month.contains(day):
            return month.start
    return day


def metered_line(terms: PoolTerms, inputs: BillingInputs, period: Period, full_days: int) -> Line:
    # NOTE: amount = max(unit_price × seat_days / D, minimum × unit_price), in arrears.
    days = seat_days(inputs.ledger, terms.module, period)
    with localcontext(MONEY_CONTEXT):
        usage = terms.unit_price * days / full_days
        floor = terms.minimum * terms.unit_price * period.days / full_days
    return _line(
        "metered",
        terms.module,
        f"{terms.module}: {days} user-days of {full_days}",
        days,
        terms.unit_price,
        max(usage, floor),
        inputs.currency,
        period,
    )


def tax_line(lines: list[Line], rate: Decimal | None, currency: str) -> Line | None:
    if not rate:
        return None
    subtotal = sum((ln.amount for ln in lines), Decimal(0))
    with localcontext(MONEY_CONTEXT):
        exact = subtotal * rate / 100
    return Line(
        "tax",
        None,
        f"Tax {format_percentage(rate)}%",
        1,
        round_line(exact, currency),
        round_line(exact, currency),
        None,
        None,
    )


def _with_tax(lines: list[Line], inputs: BillingInputs) -> tuple[Line, ...]:
    tax = tax_line(lines, inputs.tax_rate, inputs.currency)
    return tuple(lines + ([tax] if tax else []))


# --- documents ------------------------------------------------------------------


def charge_invoice(entry: LedgerEntry, inputs: BillingInputs) -> DraftInvoice | None:
    """An ``immediate`` purchase: an ad-hoc invoice of its own, at once (seed 004:
    "even if they are immediately suppressed")."""
    found = inputs.terms(entry.module, entry.at.date())
    if found is None or found[1].charge_timing != "immediate":
        return None
    line = proration_line(entry, inputs)
    if line is None:
        return None
    return DraftInvoice(
        key=f"charge:{entry.id}",
        kind="ad_hoc",
        issued_at=entry.at,
        currency=inputs.currency,
        lines=_with_tax([line], inputs),
        period_start=line.period_start,
        period_end=line.period_end,
    )


def _true_up_lines_at(at: datetime, inputs: BillingInputs) -> list[Line]:
    lines = []
    for e in inputs.ledger:
        if e.kind == CAPACITY_CHANGED and e.cause == CAUSE_TRUE_UP and e.at == at and e.delta > 0:
            line = true_up_line(e, inputs)
            if line:
                lines.append(line)
    return lines


def true_up_invoice(at: datetime, inputs: BillingInputs) -> DraftInvoice | None:
    """A month close inside a billing period with a non-zero true-up."""
    lines = _true_up_lines_at(at, inputs)
    if not lines:
        return None
    return DraftInvoice(
        key=f"true_up:{at.date()}",
        kind="ad_hoc",
        issued_at=at,
        currency=inputs.currency,
        lines=_with_tax(lines, inputs),
        period_start=lines[0].period_start,
        period_end=lines[0].period_end,
    )


def _arrears(
    inputs: BillingInputs, ended: tuple[Coverage, Period, int] | None, at: datetime
) -> list[Line]:
    """What the period just ended owes: metered usage, the true-up closing at
    ``at``, and ``next_invoice`` purchases made in it."""
    lines = _true_up_lines_at(at, inputs)
    if ended is None:
        # NOTE: no billing period ends here (a first period, or a new contract after
        # a gap): no purchase can be pending (those of an earlier contract were on
        # its own invoices, its final one included).
        return lines
    cov, period, full_days = ended
    window_start = period.start_instant
    for terms in cov.contract.pools:
        if terms.policy == METERED:
            lines.append(metered_line(terms, inputs, period, full_days))
    for e in purchases(inputs.ledger):
        if e.at >= at or e.at < window_start:
            continue
        found = inputs.terms(e.module, e.at.date())
        if found and found[1].charge_timing == "next_invoice":
            line = proration_line(e, inputs)
            if line:
                lines.append(line)
    return lines


def _previous_period(inputs: BillingInputs, day: date) -> tuple[Coverage, Period, int] | None:
    """The billing period that ended the day before ``day``, if any."""
    prev_day = day - timedelta(days=1)
    cov = coverage_on(inputs.covs, prev_day)
    if cov is None:
        return None
    period, full_days = cov.period_containing(prev_day)
    return cov, period, full_days


def period_invoice(
    cov: Coverage, period: Period, full_days: int, inputs: BillingInputs
) -> DraftInvoice:
    """Issued at ``period_start``, also when its total is 0.00: the period's
    recurring lines in advance, then the arrears of the period just ended."""
    at = period.start_instant
    lines: list[Line] = []
    for terms in sorted(cov.contract.pools, key=lambda t: t.module):
        if terms.policy == METERED:
            continue
        capacity = capacity_for_recurring(inputs.ledger, terms.module, at)
        lines.append(recurring_line(terms, capacity, period, full_days, inputs.currency))
    lines += _arrears(inputs, _previous_period(inputs, period.start), at)
    return DraftInvoice(
        key=f"period:{period.start}",
        kind="period",
        issued_at=at,
        currency=inputs.currency,
        lines=_with_tax(lines, inputs),
        period_start=period.start,
        period_end=period.end,
    )


def final_invoice(end_day: date, inputs: BillingInputs) -> DraftInvoice | None:
    """A contract ended with no newer version: the last period's arrears."""
    at = instant(end_day)
    lines = _arrears(inputs, _previous_period(inputs, end_day), at)
    if not lines:
        return None
    return DraftInvoice(
        key=f"final:{end_day}",
        kind="ad_hoc",
        issued_at=at,
        currency=inputs.currency,
        lines=_with_tax(lines, inputs),
        period_start=lines[0].period_start,
        period_end=end_day,
    )


def next_invoice_day(inputs: BillingInputs, now: datetime) -> date | None:
    """The day the next period invoice (or a contract's final invoice) falls due
    after ``now``: the end of the current billing period, or the start of a
    contract that has not started yet; None once every contract has ended."""
    today = now.astimezone(UTC).date()
    cov = coverage_on(inputs.covs, today)
    if cov is None:
        later = [c.start for c in inputs.covs if c.start > today]
        return min(later) if later else None
    period, _ = cov.period_containing(today)
    return period.end


def upcoming_invoice(inputs: BillingInputs, now: datetime) -> DraftInvoice | None:
    """The next period invoice as the ledger stands (the same function that will
    issue it). Month closes and renewals due before it are not applied here;
    ``services.billing.upcoming`` runs them (without keeping anything) first."""
    next_day = next_invoice_day(inputs, now)
    if next_day is None:
        return None
    nxt = coverage_on(inputs.covs, next_day)
    if nxt is None:
        return final_invoice(next_day, inputs)
    p, full = nxt.period_containing(next_day)
    return period_invoice(nxt, p, full, inputs)


def true_up_extras(inputs: BillingInputs, cov: Coverage, at: datetime) -> dict[str, int]:
    """At a month close: extra = max(0, seats held at that instant − capacity)."""
    out: dict[str, int] = {}
    for terms in cov.contract.pools:
        if terms.policy != "true_up":
            continue
        held = seats_held_before(inputs.ledger, terms.module, at)
        cap = capacity_before(inputs.ledger, terms.module, at)
        if held > cap:
            out[terms.module] = held - cap
    return out


def charge_phrase(line: Line | None, currency: str, timing: str) -> str | None:
    """The charge part of a seat-change message: "15.00 EUR now"."""
    if line is None or line.amount == 0:
        return None
    when = "now" if timing == "immediate" else "on the next invoice"
    return f"{format_amount(line.amount, currency)} {currency} {when}"


@dataclass(frozen=True)
class IssuedInvoice:
    """An issued document (invoice or credit note): lines and amounts never change."""

    id: str
    account_id: str
    number: str
    key: str
    type: str  # invoice | credit_note
    kind: str  # period | ad_hoc
    status: str  # issued | paid | void
    issued_at: datetime
    currency: str
    lines: tuple[Line, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    period_start: date | None = None
    period_end: date | None = None
    credited_invoice_id: str | None = None
    reason: str | None = None


def document_number(*, kind: str, year: int, sequence: int, test: bool) -> str:
    """``INV-2026-000042``, ``CN-2026-000001``; test-clock accounts: ``TEST-INV-…``."""
    return f"{sequence_name(kind=kind, year=year, test=test)}-{sequence:06d}"


def sequence_name(*, kind: str, year: int, test: bool) -> str:
    prefix = "CN" if kind == "credit_note" else "INV"
    return f"{'TEST-' if test else ''}{prefix}-{year}"
