"""Invoice lines and documents as pure functions of the contract timeline and the seat
ledger (PRODUCT.md §3 true-up, §5 billing). ``domain.planner`` decides WHEN each is due;
this module says WHAT each line and document holds.

Every amount is computed exactly (multiply first, divide last, in MONEY_CONTEXT) and
rounded once, by ``money.round_line``; totals are sums of rounded lines.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from itertools import accumulate

from seatledger.domain.contracts import PoolTerms
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_TRUE_UP,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.money import MONEY_CONTEXT, format_amount, format_percentage, round_line
from seatledger.domain.parties import Party
from seatledger.domain.periods import BillingPeriod, Period
from seatledger.domain.proration import fraction_of_months, prorate
from seatledger.domain.seat_policies import METERED
from seatledger.domain.timeline import Timeline

PURCHASE_CAUSES = ("add_license", "auto_purchase", "seat_request")
# what a commitment line compares with the minimum spend (§5)
BILLED_KINDS = ("recurring", "proration", "true_up", "metered")


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


# --- the ledger as billing reads it -------------------------------------------------


@dataclass(frozen=True)
class PoolBase:
    """A pool just before the ledger view starts: its capacity, the seats held, and
    (metered pools) who held them."""

    capacity: int = 0
    held: int = 0
    holders: frozenset[str] = frozenset()


def _by_instant(e: LedgerEntry) -> tuple[datetime, int]:
    return (e.at, e.id or 0)


def _capacity_change(e: LedgerEntry) -> int:
    return e.delta if e.kind == CAPACITY_CHANGED else 0


def _seat_change(e: LedgerEntry) -> int:
    return 1 if e.kind == SEAT_TAKEN else -1 if e.kind == SEAT_RELEASED else 0


class _Index:
    """One pool's ledger entries sorted by instant, with running sums, so that each
    "as of an instant" question is a binary search, not a scan."""

    def __init__(self, entries: list[LedgerEntry]) -> None:
        self.entries = sorted(entries, key=_by_instant)
        self.times = [e.at for e in self.entries]
        capacity = [_capacity_change(e) for e in self.entries]
        # prefix sums: [k] is the sum over the first k entries
        self.capacity = list(accumulate(capacity, initial=0))
        self.held = list(accumulate((_seat_change(e) for e in self.entries), initial=0))
        # capacity changes that are not purchases; true-up growth
        self.not_purchased = list(
            accumulate(
                (0 if e.purchased else c for e, c in zip(self.entries, capacity, strict=True)),
                initial=0,
            )
        )
        self.true_up = list(
            accumulate(
                (
                    c if e.cause == CAUSE_TRUE_UP else 0
                    for e, c in zip(self.entries, capacity, strict=True)
                ),
                initial=0,
            )
        )

    def before(self, at: datetime) -> int:
        """How many entries are strictly before ``at``."""
        return bisect_left(self.times, at)

    def through(self, at: datetime) -> int:
        """How many entries are at or before ``at``."""
        return bisect_right(self.times, at)


class LedgerView:
    """The seat ledger from ``since`` on, over ``base``: the pools' state just before
    ``since``. A view from the beginning has ``since`` None and an empty base. Planning
    from a view equals planning from the whole history.

    ``entries`` (the ledger as read, in append order) are indexed once per pool;
    ``planned`` (the changes a plan adds as it goes: a few true-ups, renewals,
    versions) are looked at one by one."""

    def __init__(
        self,
        base: dict[str, PoolBase] | None = None,
        since: datetime | None = None,
        entries: list[LedgerEntry] | None = None,
    ) -> None:
        self.base = base or {}
        self.since = since
        self.entries = list(entries or [])
        self.planned: list[LedgerEntry] = []
        self._seat_days: dict[str, _SeatDays] = {}
        by_module: dict[str, list[LedgerEntry]] = {}
        for e in self.entries:
            by_module.setdefault(e.module, []).append(e)
        self._index = {m: _Index(es) for m, es in by_module.items()}
        self._empty = _Index([])
        self._purchases = sorted(
            (
                e
                for e in self.entries
                if e.kind == CAPACITY_CHANGED
                and e.purchased
                and e.delta > 0
                and e.cause in PURCHASE_CAUSES
            ),
            key=lambda e: (e.at, e.id or 0),
        )

    def append(self, entry: LedgerEntry) -> None:
        self.planned.append(entry)

    def _of(self, module: str) -> _Index:
        return self._index.get(module, self._empty)

    def _planned(self, module: str) -> Iterable[LedgerEntry]:
        return (e for e in self.planned if e.module == module)

    def capacity_before(self, module: str, at: datetime) -> int:
        ix = self._of(module)
        return (
            self.base.get(module, PoolBase()).capacity
            + ix.capacity[ix.before(at)]
            + sum(_capacity_change(e) for e in self._planned(module) if e.at < at)
        )

    def capacity_through(self, module: str, at: datetime) -> int:
        """Capacity right after every change at or before ``at``."""
        ix = self._of(module)
        return (
            self.base.get(module, PoolBase()).capacity
            + ix.capacity[ix.through(at)]
            + sum(_capacity_change(e) for e in self._planned(module) if e.at <= at)
        )

    def capacity_for_recurring(self, module: str, at: datetime) -> int:
        """Capacity in force at a period start: every change before it, and the changes
        at that very instant that are not purchases (the true-up closing then, a
        contract version, a renewal). A purchase at or after the start is charged as
        proration only."""
        ix = self._of(module)
        at_instant = ix.not_purchased[ix.through(at)] - ix.not_purchased[ix.before(at)]
        planned = sum(
            _capacity_change(e) for e in self._planned(module) if e.at == at and not e.purchased
        )
        return self.capacity_before(module, at) + at_instant + planned

    def true_up_at(self, module: str, at: datetime) -> int:
        """The true-up growth recorded at the instant ``at``."""
        ix = self._of(module)
        recorded = ix.true_up[ix.through(at)] - ix.true_up[ix.before(at)]
        planned = sum(
            e.delta for e in self._planned(module) if e.at == at and e.cause == CAUSE_TRUE_UP
        )
        return recorded + planned

    def held_before(self, module: str, at: datetime) -> int:
        """Seats held at the instant ``at`` (changes at ``at`` belong to what follows)."""
        ix = self._of(module)
        planned = sum(_seat_change(e) for e in self._planned(module) if e.at < at)
        return self.base.get(module, PoolBase()).held + ix.held[ix.before(at)] + planned

    def holders_before(self, module: str, at: datetime) -> frozenset[str]:
        holders = set(self.base.get(module, PoolBase()).holders)
        for e in self._seat_entries(module, at):
            if e.user_id:
                if e.kind == SEAT_TAKEN:
                    holders.add(e.user_id)
                elif e.kind == SEAT_RELEASED:
                    holders.discard(e.user_id)
        return frozenset(holders)

    def _seat_entries(self, module: str, before: datetime) -> list[LedgerEntry]:
        """The pool's entries before ``before``, in order of their instants."""
        ix = self._of(module)
        recorded = ix.entries[: ix.before(before)]
        planned = [e for e in self._planned(module) if e.user_id and e.at < before]
        if not planned:
            return recorded
        return sorted(recorded + planned, key=lambda e: (e.at, e.id or 0))

    def modules(self) -> set[str]:
        return set(self.base) | set(self._index) | {e.module for e in self.planned}

    def base_at(self, at: datetime, metered: set[str]) -> dict[str, PoolBase]:
        """The pools' state just before ``at`` (``at`` ≥ ``since``): the next view's base."""
        return {
            m: PoolBase(
                capacity=self.capacity_before(m, at),
                held=self.held_before(m, at),
                holders=self.holders_before(m, at) if m in metered else frozenset(),
            )
            for m in sorted(self.modules())
        }

    def purchases(self, start: datetime, end: datetime) -> list[LedgerEntry]:
        """Seats bought in ``[start, end)`` (add_license, auto_purchase, approved increase)."""
        times = [e.at for e in self._purchases]
        return self._purchases[bisect_left(times, start) : bisect_left(times, end)]

    def seat_days(self, module: str, days: Period) -> int:
        """For each UTC day of ``days``, the users who held a seat in the pool at any
        moment of that day (seed 003)."""
        counts = self._seat_days.get(module)
        if counts is None or any(e.user_id for e in self.planned):
            counts = self._seat_days[module] = _SeatDays(self._holds(module))
        return counts.between(days.start, days.end - timedelta(days=1))

    def _holds(self, module: str) -> dict[str, list[tuple[datetime, datetime | None]]]:
        """Each user's holds of a seat in the pool: (taken, released or None)."""
        # NOTE: the base's holders held their seat from before the view starts: a
        # release at the very instant ``since`` ends a hold of the day before.
        holders = self.base.get(module, PoolBase()).holders
        before_view = (self.since or _EPOCH) - timedelta(microseconds=1)
        open_since: dict[str, datetime] = {u: before_view for u in holders}
        holds: dict[str, list[tuple[datetime, datetime | None]]] = {}
        for e in self._seat_entries(module, _END_OF_TIME):
            user = e.user_id
            if user is None:
                continue
            if e.kind == SEAT_TAKEN:
                open_since.setdefault(user, e.at)
            elif e.kind == SEAT_RELEASED and user in open_since:
                holds.setdefault(user, []).append((open_since.pop(user), e.at))
        for user, start in open_since.items():
            holds.setdefault(user, []).append((start, None))
        return holds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


class _SeatDays:
    """User-days of one pool: ``between(a, b)`` is Σ over the UTC days d in [a, b] of
    the users who held a seat at any moment of d. Each user's holds become merged
    ranges of days (a user who releases and takes the seat again on one day is one
    user-day; a zero-length hold counts for its day); finite ranges go into running
    sums over days, open ones (still held) are summed from their first day."""

    def __init__(self, holds: dict[str, list[tuple[datetime, datetime | None]]]) -> None:
        finite: list[tuple[int, int]] = []
        opens: list[int] = []
        for user_holds in holds.values():
            ranges: list[tuple[int, int | None]] = []
            for start, stop in user_holds:
                first = start.date().toordinal()
                if stop is None:
                    ranges.append((first, None))
                elif stop <= start:
                    ranges.append((first, first))
                else:
                    ranges.append((first, (stop - timedelta(microseconds=1)).date().toordinal()))
            ranges.sort(key=lambda r: r[0])
            merged: list[list[int | None]] = []
            for first, last in ranges:
                prev = merged[-1] if merged else None
                if prev is not None and (prev[1] is None or first <= prev[1] + 1):
                    if prev[1] is not None and (last is None or last > prev[1]):
                        prev[1] = last
                    continue
                merged.append([first, last])
            for first, last in merged:
                assert first is not None
                if last is None:
                    opens.append(first)
                else:
                    finite.append((first, last))
        self.origin = min([f for f, _ in finite] + opens, default=0)
        size = max([last for _, last in finite], default=self.origin) - self.origin + 2
        per_day = [0] * (size + 1)
        for first, last in finite:
            per_day[first - self.origin] += 1
            per_day[last - self.origin + 1] -= 1
        # cumulative[k] = user-days of the finite ranges on the days before origin + k
        self.cumulative = [0]
        running = 0
        for change in per_day:
            running += change
            self.cumulative.append(self.cumulative[-1] + running)
        self.opens = sorted(opens)
        self.open_sums = [0]
        for first in self.opens:
            self.open_sums.append(self.open_sums[-1] + first)

    def _finite_before(self, day: int) -> int:
        k = min(max(day - self.origin, 0), len(self.cumulative) - 1)
        return self.cumulative[k]

    def between(self, first: date, last: date) -> int:
        a, b = first.toordinal(), last.toordinal()
        if b < a:
            return 0
        total = self._finite_before(b + 1) - self._finite_before(a)
        # open holds from f: (b − max(f, a) + 1) days for f ≤ b
        before_a = bisect_left(self.opens, a)
        through_b = bisect_right(self.opens, b)
        total += before_a * (b - a + 1)
        inside = through_b - before_a
        total += inside * (b + 1) - (self.open_sums[through_b] - self.open_sums[before_a])
        return total


# --- lines ------------------------------------------------------------------------


def _line(
    kind: str,
    module: str | None,
    description: str,
    quantity: int,
    unit_price: Decimal,
    exact: Decimal,
    currency: str,
    days: Period | None,
) -> Line:
    return Line(
        kind,
        module,
        description,
        quantity,
        unit_price,
        round_line(exact, currency),
        days.start if days else None,
        days.end if days else None,
    )


def _seats(n: int) -> str:
    return f"{n} seat" if n == 1 else f"{n} seats"


def recurring_line(terms: PoolTerms, capacity: int, period: BillingPeriod, currency: str) -> Line:
    # NOTE: amount = max(capacity, minimum) × unit_price × days / full days (1 when uncut).
    qty = max(capacity, terms.minimum)
    with localcontext(MONEY_CONTEXT):
        exact = qty * terms.unit_price * period.days / period.full_days
    return _line(
        "recurring",
        terms.module,
        f"{terms.module}: {_seats(qty)}",  # the period is the line's own
        qty,
        terms.unit_price,
        exact,
        currency,
        period.period,
    )


def time_left(
    *, method: str, quantity: int, unit_price: Decimal, period: BillingPeriod, effective: datetime
) -> Decimal:
    """quantity × unit_price for the time from ``effective`` to the period's end, as a
    part of its FULL period: ``× (D − d + 1) / D`` by days (``D`` the full period's days),
    ``× seconds left / seconds`` by seconds; a period cut short ends earlier."""
    full = period.full
    exact = prorate(
        method=method, quantity=quantity, unit_price=unit_price, period=full, effective=effective
    )
    if period.end < full.end:
        with localcontext(MONEY_CONTEXT):
            exact -= prorate(
                method=method,
                quantity=quantity,
                unit_price=unit_price,
                period=full,
                effective=period.end_instant,
            )
    return exact


def proration_line(entry: LedgerEntry, timeline: Timeline, currency: str) -> Line | None:
    """A purchase from its effective moment to the end of its period; none in a trial."""
    day = entry.at.date()
    terms = timeline.terms(entry.module, day)
    period = timeline.calendar.period_containing(day)
    if terms is None or period is None:
        return None
    effective = max(entry.at, period.start_instant)
    exact = time_left(
        method=terms.proration,
        quantity=entry.delta,
        unit_price=terms.unit_price,
        period=period,
        effective=effective,
    )
    return _line(
        "proration",
        entry.module,
        f"{entry.module}: +{_seats(entry.delta)} from {effective.date()} ({entry.cause})",
        entry.delta,
        terms.unit_price,
        exact,
        currency,
        Period(effective.date(), period.end),
    )


def true_up_line(
    module: str, extra: int, close: date, timeline: Timeline, currency: str
) -> Line | None:
    """Seed 001: extra × unit_price × m / M for the month closing on ``close``, at the
    price in force in that month; none for a month of the trial."""
    month_day = close - timedelta(days=1)
    terms = timeline.terms(module, month_day)
    period = timeline.calendar.period_containing(month_day)
    if terms is None or period is None:
        return None
    # NOTE: M is the interval's months and m the months left IN THE PERIOD AS BILLED,
    # counting the month of change: a yearly contract trued up in March, 10/12; one
    # ending 30 June trued up in June, 1/12.
    m, big_m = timeline.calendar.months_left(period, month_day)
    exact = fraction_of_months(quantity=extra, unit_price=terms.unit_price, m=m, M=big_m)
    month = timeline.calendar.month_containing(month_day)
    return _line(
        "true_up",
        module,
        f"{module}: true-up +{extra} × {m}/{big_m} of the period",
        extra,
        terms.unit_price,
        exact,
        currency,
        Period(max(month.start, period.start), period.end),
    )


def metered_lines(
    module: str, view: LedgerView, period: BillingPeriod, timeline: Timeline, currency: str
) -> list[Line]:
    """For a metered pool, in arrears: ``max(unit_price × seat_days / D, minimum ×
    unit_price × days / D)``, one line per part of the period a version governs (a
    version starting inside the period splits it, each part at its own terms)."""
    lines = []
    for part, terms in _parts(module, period, timeline):
        if terms.policy != METERED:
            continue
        days = view.seat_days(module, part)
        with localcontext(MONEY_CONTEXT):
            usage = terms.unit_price * days / period.full_days
            floor = terms.minimum * terms.unit_price * part.days / period.full_days
        lines.append(
            _line(
                "metered",
                module,
                f"{module}: {days} user-days of {period.full_days}",
                days,
                terms.unit_price,
                max(usage, floor),
                currency,
                part,
            )
        )
    return lines


def _parts(
    module: str, period: BillingPeriod, timeline: Timeline
) -> list[tuple[Period, PoolTerms]]:
    out = []
    for g in timeline.governed:
        start = max(g.start, period.start)
        end = period.end if g.end is None else min(g.end, period.end)
        terms = g.contract.pool(module)
        if start < end and terms is not None:
            out.append((Period(start, end), terms))
    return out


def commitment_line(
    minimum_spend: Decimal, period: BillingPeriod, billed: Decimal, currency: str
) -> Line | None:
    """§5: ``max(0, minimum_spend × days / D − billed)``, in arrears."""
    with localcontext(MONEY_CONTEXT):
        exact = minimum_spend * period.days / period.full_days - billed
    if round_line(exact, currency) <= 0:
        return None
    return _line(
        "commitment",
        None,
        f"Minimum spend {format_amount(minimum_spend, currency)} {currency}: top-up for "
        f"{period.start} – {period.end}",
        1,
        round_line(exact, currency),
        exact,
        currency,
        period.period,
    )


def version_difference(
    module: str,
    *,
    old: PoolTerms | None,
    new: PoolTerms,
    capacity_before: int,
    start: datetime,
    period: BillingPeriod,
    currency: str,
    version: int,
) -> Line | None:
    """§5, a version starting inside a billed period: from its start to the period end,
    ``max(q_old, q_new) × price_new − q_old × price_old`` with ``q = max(capacity,
    minimum)`` (quantities never go down within a period; a pool the version adds has
    ``q_old = 0``). Positive: a ``proration`` line; negative: a ``credit`` line, shown
    positive on its credit note. Metered pools are split instead (``metered_lines``)."""
    if new.policy == METERED or (old is not None and old.policy == METERED):
        return None
    q_old = max(capacity_before, old.minimum) if old is not None else 0
    price_old = old.unit_price if old is not None else Decimal(0)
    q_new = max(q_old, new.capacity, new.minimum)
    with localcontext(MONEY_CONTEXT):
        per_period = q_new * new.unit_price - q_old * price_old
    if per_period == 0:
        return None
    exact = time_left(
        method=new.proration,
        quantity=1,
        unit_price=abs(per_period),
        period=period,
        effective=max(start, period.start_instant),
    )
    if round_line(exact, currency) == 0:
        return None
    days = Period(max(start, period.start_instant).date(), period.end)
    if per_period > 0:
        text = f"{module}: contract version {version}, {q_new} seats at "
        text += f"{format_amount(new.unit_price, currency)} from {days.start}"
        return _line("proration", module, text, 1, per_period, exact, currency, days)
    text = f"{module}: contract version {version}, credit from {days.start}"
    return _line("credit", module, text, 1, -per_period, exact, currency, days)


def tax_line(lines: list[Line], rate: Decimal | None, currency: str) -> Line | None:
    """The account's rate on the subtotal, its own line, rounded once."""
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


def with_tax(lines: list[Line], rate: Decimal | None, currency: str) -> tuple[Line, ...]:
    tax = tax_line(lines, rate, currency)
    return tuple(lines + ([tax] if tax else []))


def charge_invoice(
    entry: LedgerEntry, timeline: Timeline, currency: str, tax_rate: Decimal | None
) -> DraftInvoice | None:
    """An ``immediate`` purchase: an ad-hoc invoice of its own, at once (seed 004:
    "even if they are immediately suppressed"); nothing in a trial."""
    terms = timeline.terms(entry.module, entry.at.date())
    if terms is None or terms.charge_timing != "immediate":
        return None
    line = proration_line(entry, timeline, currency)
    if line is None:
        return None
    return DraftInvoice(
        key=f"charge:{entry.id}",
        kind="ad_hoc",
        issued_at=entry.at,
        currency=currency,
        lines=with_tax([line], tax_rate, currency),
        period_start=line.period_start,
        period_end=line.period_end,
    )


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
    credited_invoice_number: str | None = None
    reason: str | None = None
    # as they were when issued (PRODUCT.md §5 Documents); None on documents issued
    # before seatledger kept them
    seller: Party | None = None
    buyer: Party | None = None
    due_date: date | None = None
    payment_method: str | None = None
    payment_terms_days: int | None = None
    locale: str | None = None
    tax_rate: Decimal | None = None


def due_date(issued_at: datetime, payment_terms_days: int) -> date:
    """§5 Documents: the issue date (UTC) + the payment terms."""
    return issued_at.astimezone(UTC).date() + timedelta(days=payment_terms_days)


def document_number(sequence: str, serial: int) -> str:
    """The ``serial``-th number of ``sequence`` (``sequence_name``):
    ``INV-2026-000042``, ``CN-2026-000001``; test-clock accounts: ``TEST-INV-…``."""
    return f"{sequence}-{serial:06d}"


def sequence_name(*, kind: str, year: int, test: bool) -> str:
    prefix = "CN" if kind == "credit_note" else "INV"
    return f"{'TEST-' if test else ''}{prefix}-{year}"
