"""What-if pricing (PRODUCT.md §5): an account's real seat ledger, over a past range of
dates, billed under other contract terms by the same planner that bills it for real.

The seats taken and released are history; the capacity they met is not. What the terms
decide is dropped from the ledger and decided again by the what-if terms: the capacity
the contract versions set, what billing wrote (true-up growth, renewal changes) and the
seats the ``auto_purchase`` policy bought. The what-if contract sets each pool's
capacity at its start, the planner trues up, renews and invoices, and under
``auto_purchase`` a seat taken with none free buys one, as the seat service does. Seats
bought by a decision (``add_license``, an approved increase) and decreases applied at
once stay. Nothing is stored; drafts have no number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from seatledger.domain.contracts import Contract
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoicing import (
    DraftInvoice,
    IssuedInvoice,
    LedgerView,
    charge_invoice,
)
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_AUTO_PURCHASE,
    CAUSE_CONTRACT,
    CAUSE_RENEWAL,
    CAUSE_TRUE_UP,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.periods import add_months, instant
from seatledger.domain.planner import (
    SYSTEM_ACTOR,
    BillingState,
    PlanInputs,
    capacity_change,
    plan,
)
from seatledger.domain.seat_policies import AUTO_PURCHASE
from seatledger.domain.timeline import timeline

# NOTE: a what-if replays the planner over its whole range in one request, as a clock
# move does: bounded so that one request stays short.
MAX_WHAT_IF_YEARS = 5
WHAT_IF_ACTOR = "system:what-if"


@dataclass(frozen=True)
class WhatIf:
    currency: str
    actual: list[IssuedInvoice]  # issued in the range, as they are
    what_if: list[DraftInvoice]  # what the other terms would have issued in it
    billed: Decimal  # Σ actual totals, credit notes negative, void ones left out
    would_bill: Decimal  # Σ what_if totals

    @property
    def difference(self) -> Decimal:
        """Σ what_if − Σ actual."""
        return self.would_bill - self.billed


def check_range(start: date, end: date, now: datetime) -> None:
    """``[start, end)`` lies in the account's past and spans at most MAX_WHAT_IF_YEARS."""
    if end <= start:
        raise InvalidInput(f"to ({end}) must come after from ({start})", field="to")
    if instant(end) > now:
        raise InvalidInput(
            f"a what-if replays the past: to ({end}) is after the account's now "
            f"({now.isoformat()})",
            field="to",
        )
    latest = add_months(start, 12 * MAX_WHAT_IF_YEARS)
    if end > latest:
        raise InvalidInput(
            f"a what-if range spans at most {MAX_WHAT_IF_YEARS} years: from {start}, "
            f"to is at most {latest}",
            field="to",
        )


def decided_by_terms(entry: LedgerEntry) -> bool:
    """A capacity change that follows from the contract terms, not from a decision."""
    if entry.kind != CAPACITY_CHANGED:
        return False
    if entry.cause in (CAUSE_CONTRACT, CAUSE_AUTO_PURCHASE):
        return True
    return entry.actor == SYSTEM_ACTOR and entry.cause in (CAUSE_TRUE_UP, CAUSE_RENEWAL)


def replayed_ledger(entries: Iterable[LedgerEntry], contract: Contract) -> list[LedgerEntry]:
    """The ledger (in append order) as the what-if terms would have written it: without
    the changes ``decided_by_terms``, with the contract's capacity set at its start
    (00:00Z of ``start_date``, before any entry at that instant), and a seat bought
    before each seat taken with none free in an ``auto_purchase`` pool it governs."""
    start = instant(contract.start_date)
    capacity: dict[str, int] = {}
    held: dict[str, int] = {}
    out: list[LedgerEntry] = []

    def append(entry: LedgerEntry) -> None:
        if entry.kind == CAPACITY_CHANGED:
            capacity[entry.module] = capacity.get(entry.module, 0) + entry.delta
        elif entry.kind == SEAT_TAKEN:
            held[entry.module] = held.get(entry.module, 0) + 1
        elif entry.kind == SEAT_RELEASED:
            held[entry.module] = held.get(entry.module, 0) - 1
        out.append(
            replace(
                entry,
                in_use_after=held.get(entry.module, 0),
                capacity_after=capacity.get(entry.module, 0),
            )
        )

    def set_capacity() -> None:
        for terms in contract.pools:
            delta = terms.capacity - capacity.get(terms.module, 0)
            if delta:
                append(
                    capacity_change(
                        terms.module, delta, start, CAUSE_CONTRACT, **_as_what_if(contract)
                    )
                )

    started = False
    for entry in entries:
        if decided_by_terms(entry):
            continue
        if not started and entry.at >= start:
            set_capacity()
            started = True
        if entry.kind == SEAT_TAKEN and started and _buys(contract, entry, capacity, held):
            append(
                replace(
                    capacity_change(
                        entry.module, 1, entry.at, CAUSE_AUTO_PURCHASE, **_as_what_if(contract)
                    ),
                    user_id=entry.user_id,
                    purchased=True,
                )
            )
        append(entry)
    if not started:
        set_capacity()
    return out


def _buys(
    contract: Contract, seat: LedgerEntry, capacity: dict[str, int], held: dict[str, int]
) -> bool:
    """§3 auto_purchase: a seat taken with none free buys one (freed seats first)."""
    terms = contract.pool(seat.module)
    if terms is None or terms.policy != AUTO_PURCHASE or contract.ended_at(seat.at.date()):
        return False
    return held.get(seat.module, 0) >= capacity.get(seat.module, 0)


def _as_what_if(contract: Contract) -> dict[str, str]:
    return {"account_id": contract.account_id, "actor": WHAT_IF_ACTOR}


def what_if_documents(
    *,
    currency: str,
    tax_rate: Decimal | None,
    contract: Contract,
    ledger: Iterable[LedgerEntry],
    start: date,
    end: date,
) -> list[DraftInvoice]:
    """The documents ``contract`` (a first version) would have issued in ``[start,
    end)`` over ``ledger``: the planner run from nothing (no billing state, nothing
    done or issued, the contract's terms already on the pools) up to ``end``, and the
    ad-hoc invoice of each ``immediate`` purchase, as the seat service issues it."""
    replayed = replayed_ledger(ledger, contract)
    inputs = PlanInputs(
        currency=currency,
        tax_rate=tax_rate,
        contracts=[contract],
        state=BillingState(),
        ledger=replayed,
        done=frozenset(),
        issued=[],
        scheduled=[],
        applied=frozenset({contract.id}),
    )
    low, high = instant(start), instant(end)
    planned = plan(inputs, high)
    # NOTE: a plan stops early only after applying a version that adds modules; the
    # what-if version counts as applied, so one plan covers the range.
    assert planned.complete
    tl = timeline([contract])
    assert tl is not None
    charges = [
        charge_invoice(purchase, tl, currency, tax_rate)
        for purchase in LedgerView(entries=replayed).purchases(low, high)
    ]
    documents = planned.documents + [c for c in charges if c is not None]
    return sorted((d for d in documents if low <= d.issued_at < high), key=lambda d: d.issued_at)


def signed_total(document: IssuedInvoice | DraftInvoice) -> Decimal:
    """What a document bills: a credit note's total counts negative."""
    return -document.total if document.type == "credit_note" else document.total


def side_by_side(currency: str, actual: list[IssuedInvoice], drafts: list[DraftInvoice]) -> WhatIf:
    """The two lists side by side and the difference of their totals; a void invoice
    bills nothing."""
    billed = sum((signed_total(d) for d in actual if d.status != "void"), Decimal(0))
    would_bill = sum((signed_total(d) for d in drafts), Decimal(0))
    return WhatIf(currency, actual, drafts, billed, would_bill)
