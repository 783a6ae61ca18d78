"""THE billing planner: everything due for an account up to a moment, as one pure
function of its inputs (PRODUCT.md §3 true-up, §4 renewals, §5 billing).

``plan(inputs, until)`` takes the contract versions, the account's billing state (its
pools just before ``state.since`` and what waits for the next period invoice), the
seat ledger from ``since`` on, the keys already done and the documents issued since,
and returns the steps to take, in order: capacity changes to append (true-up growth,
renewal changes), seat requests decided, contract versions to apply, documents to
issue (drafts, no numbers) and markers; plus the next billing state and the next
moment something falls due. The service loads the inputs once, calls it, writes what
it returns and numbers the documents; the upcoming preview calls it and writes
nothing.

Exactly-once: every event has a key (an invoice key or a marker); an event whose key
is done is skipped, so planning again after a rerun or a crash proposes nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum

from seatledger.domain.contracts import Contract
from seatledger.domain.errors import DomainError
from seatledger.domain.invoicing import (
    BILLED_KINDS,
    DraftInvoice,
    IssuedInvoice,
    LedgerView,
    Line,
    PoolBase,
    commitment_line,
    metered_lines,
    proration_line,
    recurring_line,
    true_up_line,
    version_difference,
    with_tax,
)
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_CONTRACT,
    CAUSE_RENEWAL,
    CAUSE_TRUE_UP,
    LedgerEntry,
)
from seatledger.domain.periods import BillingPeriod, instant
from seatledger.domain.seat_policies import CAPPED_POLICIES, METERED, TRUE_UP, PoolState
from seatledger.domain.seat_requests import (
    APPLIED,
    REJECTED,
    SeatRequest,
    check_direction,
    check_target,
)
from seatledger.domain.timeline import Governed, Timeline, timeline

SYSTEM_ACTOR = "system:billing"
_DAY = timedelta(days=1)
# how far past ``until`` the planner looks for the next moment something falls due
_LOOKAHEAD = timedelta(days=400)


class Phase(IntEnum):
    """What falls due at one instant happens in this order (§5): the month close
    (true-up), then the renewal, then a contract version (its terms, then its
    difference), then the period invoice, then a contract's final invoice."""

    MONTH_CLOSE = 0
    RENEWAL = 1
    VERSION = 2
    VERSION_DUE = 3
    PERIOD = 4
    FINAL = 5


# --- steps: what the service writes, in order -------------------------------------


@dataclass(frozen=True)
class CapacityChange:
    module: str
    delta: int
    at: datetime
    cause: str
    commit_floor: bool = False  # true-up growth cannot be reduced this term


@dataclass(frozen=True)
class ResetCommitted:
    """A renewal: capacity added this term may now be reduced."""

    at: datetime


@dataclass(frozen=True)
class RequestDecided:
    request_id: str
    status: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class ApplyVersion:
    """Bring the pools to a version's terms (a version recorded before its start)."""

    contract_id: str
    at: datetime


@dataclass(frozen=True)
class IssueDocument:
    draft: DraftInvoice
    credits_key: str | None = None  # a credit note: the key of the invoice it credits


@dataclass(frozen=True)
class MarkDone:
    key: str
    at: datetime


Step = CapacityChange | ResetCommitted | RequestDecided | ApplyVersion | IssueDocument | MarkDone


# --- inputs and result -------------------------------------------------------------


@dataclass(frozen=True)
class BillingState:
    """What an account keeps between plans: its pools just before ``since`` (the start
    of the period in progress), the last instant billed (a period start or a month
    close processed: no contract version may start before it), and the version
    differences waiting for the next period invoice."""

    since: datetime | None = None
    base: dict[str, PoolBase] = field(default_factory=dict)
    billed_through: datetime | None = None
    pending: tuple[Line, ...] = ()


@dataclass(frozen=True)
class PlanInputs:
    currency: str
    tax_rate: Decimal | None
    contracts: list[Contract]
    state: BillingState
    ledger: list[LedgerEntry]  # the entries at or after ``state.since``, in append order
    done: frozenset[str]  # invoice keys and markers done at or after ``state.since``
    issued: list[IssuedInvoice]  # the documents issued at or after ``state.since``
    scheduled: list[SeatRequest]  # decreases approved for a renewal
    applied: frozenset[str]  # ids of the versions whose terms the pools have


@dataclass
class Plan:
    steps: list[Step]
    state: BillingState
    next_due: datetime | None
    # False when the plan stopped after a version that adds modules: the service
    # applies it (users take their new seats), then plans again.
    complete: bool = True

    @property
    def documents(self) -> list[DraftInvoice]:
        return [s.draft for s in self.steps if isinstance(s, IssueDocument)]


@dataclass(frozen=True, order=True)
class _Event:
    at: datetime
    phase: Phase
    key: str
    day: date = field(compare=False)
    governed: Governed | None = field(default=None, compare=False)


# --- the planner -------------------------------------------------------------------


def plan(inputs: PlanInputs, until: datetime) -> Plan:
    """Everything due at or before ``until`` that was never done, in order."""
    if until.utcoffset() is None:
        raise ValueError(f"until must be a timezone-aware instant, got {until!r}")
    # NOTE: every day boundary is UTC (§1 Time): 23:00-02:00 is 01:00Z the next day.
    until = until.astimezone(UTC)
    tl = timeline(inputs.contracts)
    state = inputs.state
    if tl is None:
        return Plan([], state, None)
    since = state.since or instant(tl.governed[0].start)
    run = _Run(inputs, tl, LedgerView(dict(state.base), state.since, list(inputs.ledger)))
    complete = True
    for event in due_events(tl, since.date(), until):
        if event.key in run.done:
            continue
        if not run.handle(event):
            complete = False
            until = event.at
            break
    return Plan(
        run.steps,
        run.next_state(since, until),
        next_due(tl, inputs, until),
        complete,
    )


def due_events(tl: Timeline, first_day: date, until: datetime) -> list[_Event]:
    """Every event at an instant in ``[instant(first_day), until]``, in processing order."""
    last_day = until.date()
    events: list[_Event] = []
    for close, _month in tl.month_closes(first_day - _DAY, last_day):
        version = tl.version_on(close - _DAY)
        if version is not None and any(p.policy == TRUE_UP for p in version.pools):
            events.append(_Event(instant(close), Phase.MONTH_CLOSE, f"month_close:{close}", close))
    for day in tl.renewals(first_day - _DAY, last_day):
        events.append(_Event(instant(day), Phase.RENEWAL, f"renewal:{day}", day))
    for g in tl.version_starts(first_day, last_day):
        key = f"version:{g.contract.id}"
        start = instant(g.start)
        events.append(_Event(start, Phase.VERSION, key, g.start, g))
        due = max(start, g.contract.recorded_at or start)
        events.append(_Event(due, Phase.VERSION_DUE, key, due.date(), g))
    for period in tl.calendar.periods(first_day, last_day):
        events.append(
            _Event(period.start_instant, Phase.PERIOD, f"period:{period.start}", period.start)
        )
    for end in tl.coverage_ends(first_day - _DAY, last_day):
        events.append(_Event(instant(end), Phase.FINAL, f"final:{end}", end))
    return sorted(e for e in events if e.at <= until)


def next_due(tl: Timeline, inputs: PlanInputs, after: datetime) -> datetime | None:
    """The first moment after ``after`` at which something falls due."""
    later = [
        e
        for e in due_events(tl, after.date(), after + _LOOKAHEAD)
        if e.at > after and e.key not in inputs.done
    ]
    starts = [
        instant(g.start) for g in tl.governed if g.contract.version > 1 and instant(g.start) > after
    ]
    moments = [e.at for e in later] + starts
    return min(moments) if moments else None


def upcoming_invoice(inputs: PlanInputs, now: datetime) -> DraftInvoice | None:
    """The next period invoice (or final invoice) after ``now`` as it stands: the plan up
    to it, with everything due before it, exactly as a billing run will make it."""
    tl = timeline(inputs.contracts)
    if tl is None:
        return None
    for event in due_events(tl, now.date(), now + _LOOKAHEAD):
        if event.phase in (Phase.PERIOD, Phase.FINAL) and event.at > now:
            found = [d for d in plan(inputs, event.at).documents if d.key == event.key]
            if found:
                return found[0]
    return None


class _Run:
    """One plan in progress: the ledger view grows with the changes it plans."""

    def __init__(self, inputs: PlanInputs, tl: Timeline, view: LedgerView) -> None:
        self.inputs = inputs
        self.tl = tl
        self.view = view
        self.currency = inputs.currency
        self.done = set(inputs.done)
        self.applied = set(inputs.applied)
        self.steps: list[Step] = []
        self.drafts: list[DraftInvoice] = []
        self.pending = list(inputs.state.pending)
        self.billed_through = inputs.state.billed_through
        self.scheduled = [r for r in inputs.scheduled]
        self.differences: dict[str, tuple[BillingPeriod, list[Line]]] = {}

    # -- events --------------------------------------------------------------------

    def handle(self, event: _Event) -> bool:
        """Plans one event; False to stop the plan right after it."""
        if event.phase == Phase.MONTH_CLOSE:
            self.month_close(event)
        elif event.phase == Phase.RENEWAL:
            self.renewal(event)
        elif event.phase == Phase.VERSION:
            return self.version(event)
        elif event.phase == Phase.VERSION_DUE:
            self.version_due(event)
        elif event.phase == Phase.PERIOD:
            self.period_invoice(event)
        else:
            self.final_invoice(event)
        return True

    def month_close(self, event: _Event) -> None:
        """At a month end, ``extra = max(0, seats held then − capacity)`` grows each
        true-up pool for the rest of the term (§3), billed in the month's period."""
        at, close = event.at, event.day
        version = self.tl.version_on(close - _DAY)
        assert version is not None
        for terms in sorted(version.pools, key=lambda t: t.module):
            if terms.policy != TRUE_UP:
                continue
            extra = self.view.held_before(terms.module, at) - self.view.capacity_before(
                terms.module, at
            )
            if extra > 0:
                self.change_capacity(terms.module, extra, at, CAUSE_TRUE_UP, commit_floor=True)
        # NOTE: the period invoice or final invoice due at this same instant carries
        # this true-up; an ad-hoc one as well would bill it twice.
        lines = self.true_up_lines(at)
        if lines and not self.arrears_carried(close):
            self.issue(_ad_hoc(f"true_up:{close}", at, lines, self))
        self.mark(event)
        self.billed_through = max(self.billed_through or at, at)

    def renewal(self, event: _Event) -> None:
        """A term renewal (§4): capacity added this term may be reduced again, the
        decreases scheduled for it take effect if they still fit, and under
        ``renewal_capacity: in_use`` capacity becomes the seats in use, never below
        the minimum."""
        at, day = event.at, event.day
        self.steps.append(ResetCommitted(at))
        ending = self.tl.version_on(day - _DAY)
        for request in sorted(self.scheduled, key=lambda r: (r.created_at or at, r.id)):
            if request.decided_at is not None and request.decided_at > at:
                # NOTE: approved after this renewal (a run catching up on the past): it
                # waits for the next one, it is not applied back in time.
                continue
            self.scheduled.remove(request)
            terms = ending.pool(request.module) if ending else None
            capacity = self.capacity_now(request.module, at)
            try:
                if terms is None:
                    raise DomainError(f"module {request.module!r} is no longer in the contract")
                if request.target_capacity != capacity:
                    pool = PoolState(
                        module=terms.module,
                        policy=terms.policy,
                        capacity=capacity,
                        minimum=terms.minimum,
                        in_use=self.view.held_before(terms.module, at),
                    )
                    check_direction(request, pool)
                    check_target(pool, request.target_capacity)
            except DomainError as refusal:
                self.steps.append(RequestDecided(request.id, REJECTED, refusal.message, at))
                continue
            delta = request.target_capacity - capacity
            if delta:
                self.change_capacity(request.module, delta, at, CAUSE_RENEWAL)
            self.steps.append(RequestDecided(request.id, APPLIED, None, at))
        renewed = self.tl.version_on(day)
        if renewed is not None and renewed.renewal_capacity == "in_use":
            for terms in renewed.pools:
                if terms.policy == METERED:
                    continue
                target = max(self.view.held_before(terms.module, at), terms.minimum)
                delta = target - self.capacity_now(terms.module, at)
                if delta:
                    self.change_capacity(terms.module, delta, at, CAUSE_RENEWAL)
        self.mark(event)

    def version(self, event: _Event) -> bool:
        """A version takes effect: the pools get its terms (unless that was done when it
        was recorded), and if it starts inside a period already invoiced, the
        difference to the period end is computed (§5), due at ``VERSION_DUE``."""
        g = event.governed
        assert g is not None
        at, contract = event.at, g.contract
        old, replaced = self.billed_terms(g)
        period = self.tl.calendar.period_containing(g.start)
        if old is not None and period is not None and f"period:{period.start}" in self.done:
            lines = []
            for terms in sorted(contract.pools, key=lambda t: t.module):
                billed = old.pool(terms.module)
                capacity = self.capacity_billed(terms.module, at)
                if replaced and billed is not None:
                    # the replaced version billed its own capacity from this day on
                    capacity = max(capacity, billed.capacity)
                line = version_difference(
                    terms.module,
                    old=billed,
                    new=terms,
                    capacity_before=capacity,
                    start=at,
                    period=period,
                    currency=self.currency,
                    version=contract.version,
                )
                if line is not None:
                    lines.append(line)
            self.differences[contract.id] = (period, lines)
        if contract.id in self.applied:
            return True
        self.applied.add(contract.id)
        self.steps.append(ApplyVersion(contract.id, at))
        for terms in contract.pools:
            # NOTE: as the service applies it: under block / inactive_when_full never
            # below the seats in use (§2.4), which stay.
            capacity = terms.capacity
            if terms.policy in CAPPED_POLICIES:
                capacity = max(capacity, self.view.held_before(terms.module, at))
            delta = capacity - self.capacity_now(terms.module, at)
            if delta:
                self.view.append(capacity_change(terms.module, delta, at, CAUSE_CONTRACT))
        before = old.modules if old is not None else set(self.view.base)
        for module in before - contract.modules:
            capacity = self.capacity_now(module, at)
            if capacity:
                self.view.append(capacity_change(module, -capacity, at, CAUSE_CONTRACT))
        # NOTE: users whose profile grants a module the version adds take its seat
        # when the service applies it: plan again from there.
        return not (contract.modules - before)

    def billed_terms(self, g: Governed) -> tuple[Contract | None, bool]:
        """The terms that billed the days from ``g``'s start: the version governing the
        day before, or a newer one that ``g`` replaces from its first day after that one's
        difference was billed (it governs no day any more, but its terms were invoiced);
        and whether it is such a replaced one."""
        index = self.tl.governed.index(g)
        before = self.tl.governed[index - 1].contract if index else None
        replaced = [
            c
            for c in self.inputs.contracts
            if c.version < g.contract.version
            and c.start_date <= g.start
            and f"version:{c.id}" in self.done
            and (before is None or c.version > before.version)
        ]
        if replaced:
            return max(replaced, key=lambda c: c.version), True
        return before, False

    def version_due(self, event: _Event) -> None:
        """The difference of a version falls due at the later of its start and the
        moment it was recorded: an ad-hoc invoice (immediate pools), lines waiting for
        the next period invoice (``next_invoice`` pools), a credit note against the
        invoice that billed the old terms (a lower price)."""
        g = event.governed
        assert g is not None
        if g.contract.id in self.differences:
            period, lines = self.differences[g.contract.id]
            now, later, credits = [], [], []
            for line in lines:
                if line.kind == "credit":
                    credits.append(line)
                elif self._timing(line) == "immediate":
                    now.append(line)
                else:
                    later.append(line)
            if now:
                self.issue(_ad_hoc(f"version_charge:{g.contract.id}", event.at, now, self))
            self.pending += later
            if credits:
                note = replace(
                    _ad_hoc(f"version_credit:{g.contract.id}", event.at, credits, self),
                    type="credit_note",
                    period_start=period.start,
                    period_end=period.end,
                )
                self.issue(note, credits_key=f"period:{period.start}")
        self.mark(event)

    def period_invoice(self, event: _Event) -> None:
        """At ``period_start``, also when its total is 0.00: the period's recurring
        lines in advance, then the arrears of the period just ended."""
        period = self.tl.calendar.period_containing(event.day)
        version = self.tl.version_on(event.day)
        assert period is not None and version is not None
        lines: list[Line] = []
        for terms in sorted(version.pools, key=lambda t: t.module):
            if terms.policy == METERED:
                continue
            capacity = self.view.capacity_for_recurring(terms.module, event.at)
            lines.append(recurring_line(terms, capacity, period, self.currency))
        lines += self.arrears(event.day, event.at)
        self.issue(
            DraftInvoice(
                key=event.key,
                kind="period",
                issued_at=event.at,
                currency=self.currency,
                lines=with_tax(lines, self.inputs.tax_rate, self.currency),
                period_start=period.start,
                period_end=period.end,
            )
        )
        self.billed_through = max(self.billed_through or event.at, event.at)

    def final_invoice(self, event: _Event) -> None:
        """A contract ended with no version continuing it: the last period's arrears."""
        lines = self.arrears(event.day, event.at)
        if lines:
            self.issue(
                replace(
                    _ad_hoc(event.key, event.at, lines, self),
                    period_start=lines[0].period_start,
                    period_end=event.day,
                )
            )
        self.mark(event)

    # -- helpers -------------------------------------------------------------------

    def arrears(self, day: date, at: datetime) -> list[Line]:
        """What the period ending on ``day`` owes: the true-up closing then, metered
        usage, ``next_invoice`` purchases and version differences, and the top-up to
        a minimum spend."""
        lines = self.true_up_lines(at)
        ended = self.tl.calendar.period_containing(day - _DAY)
        if ended is None or ended.end != day:
            return lines  # a first period, or a new contract after a gap: nothing ended
        modules = sorted({t.module for g in self.tl.governed for t in g.contract.pools})
        for module in modules:
            lines += metered_lines(module, self.view, ended, self.tl, self.currency)
        for entry in self.view.purchases(ended.start_instant, at):
            terms = self.tl.terms(entry.module, entry.at.date())
            if terms is not None and terms.charge_timing == "next_invoice":
                line = proration_line(entry, self.tl, self.currency)
                if line is not None:
                    lines.append(line)
        lines += self.pending
        self.pending = []
        version = self.tl.version_on(day - _DAY)
        if version is not None and version.minimum_spend:
            billed = self.billed_in(ended, at, lines)
            line = commitment_line(version.minimum_spend, ended, billed, self.currency)
            if line is not None:
                lines.append(line)
        return lines

    def billed_in(self, period: BillingPeriod, at: datetime, current: list[Line]) -> Decimal:
        """§5 ``billed``: recurring, proration, true-up and metered lines whose period
        starts in the period, issued by its end, less the version credits issued by
        then (an operator's later credit notes change nothing)."""
        total = Decimal(0)
        documents: Iterable[tuple[str, str, datetime, tuple[Line, ...]]] = [
            (d.key, d.type, d.issued_at, d.lines) for d in self.inputs.issued
        ] + [(d.key, d.type, d.issued_at, d.lines) for d in self.drafts]
        for key, kind, issued_at, doc_lines in [*documents, ("", "invoice", at, tuple(current))]:
            if issued_at > at:
                continue
            for line in doc_lines:
                if line.period_start is None or not period.contains(line.period_start):
                    continue
                if kind == "invoice" and line.kind in BILLED_KINDS:
                    total += line.amount
                elif kind == "credit_note" and key.startswith("version_credit:"):
                    total -= line.amount if line.kind == "credit" else 0
        return total

    def true_up_lines(self, at: datetime) -> list[Line]:
        """The true-up lines of the month closing at ``at``, from the growth recorded."""
        lines = []
        for module in sorted(self.view.modules()):
            extra = self.view.true_up_at(module, at)
            if extra > 0:
                line = true_up_line(module, extra, at.date(), self.tl, self.currency)
                if line is not None:
                    lines.append(line)
        return lines

    def arrears_carried(self, day: date) -> bool:
        """A period invoice or a final invoice falls due at 00:00Z of ``day`` (so it
        carries the true-up closing then); otherwise a true-up is an ad-hoc invoice."""
        period = self.tl.calendar.period_containing(day)
        if period is not None and period.start == day:
            return True
        return bool(self.tl.coverage_ends(day - _DAY, day))

    def capacity_now(self, module: str, at: datetime) -> int:
        """Capacity right after everything planned at ``at`` so far."""
        return self.view.capacity_through(module, at)

    def capacity_billed(self, module: str, at: datetime) -> int:
        """The capacity the old terms billed at ``at``: changes before it, and the
        true-up closing at that instant."""
        return self.view.capacity_before(module, at) + self.view.true_up_at(module, at)

    def change_capacity(
        self, module: str, delta: int, at: datetime, cause: str, *, commit_floor: bool = False
    ) -> None:
        self.steps.append(CapacityChange(module, delta, at, cause, commit_floor))
        self.view.append(capacity_change(module, delta, at, cause))

    def _timing(self, line: Line) -> str:
        terms = self.tl.terms(line.module or "", line.period_start or date.min)
        return terms.charge_timing if terms else "immediate"

    def issue(self, draft: DraftInvoice, *, credits_key: str | None = None) -> None:
        self.steps.append(IssueDocument(draft, credits_key))
        self.drafts.append(draft)
        self.done.add(draft.key)

    def mark(self, event: _Event) -> None:
        self.steps.append(MarkDone(event.key, event.at))
        self.done.add(event.key)

    def next_state(self, since: datetime, until: datetime) -> BillingState:
        """The state just before the start of the period in progress at ``until`` (or
        of the earliest version whose difference is not yet due): what the next plan
        starts from, so that it reads only the ledger after it."""
        day = until.date()
        for g in self.tl.governed:
            pending = g.contract.version > 1 and f"version:{g.contract.id}" not in self.done
            if pending and g.start <= day:
                day = min(day, g.start)
        period = self.tl.calendar.period_containing(day)
        start = min(period.start if period else day, self.tl.calendar.month_containing(day).start)
        at = max(instant(start), since)
        metered = {
            t.module for g in self.tl.governed for t in g.contract.pools if t.policy == METERED
        }
        return BillingState(
            since=at,
            base=self.view.base_at(at, metered),
            billed_through=self.billed_through,
            pending=tuple(self.pending),
        )


def capacity_change(
    module: str,
    delta: int,
    at: datetime,
    cause: str,
    *,
    account_id: str = "",
    actor: str = SYSTEM_ACTOR,
) -> LedgerEntry:
    """A capacity change as a plan sees it before it is written (no numbers after it:
    billing reads capacity from the deltas)."""
    return LedgerEntry(
        account_id=account_id,
        module=module,
        kind=CAPACITY_CHANGED,
        delta=delta,
        in_use_after=0,
        capacity_after=0,
        at=at,
        actor=actor,
        cause=cause,
    )


def _ad_hoc(key: str, at: datetime, lines: list[Line], run: _Run) -> DraftInvoice:
    return DraftInvoice(
        key=key,
        kind="ad_hoc",
        issued_at=at,
        currency=run.currency,
        lines=with_tax(lines, run.inputs.tax_rate, run.currency),
        period_start=lines[0].period_start,
        period_end=lines[0].period_end,
    )
