"""Use cases: billing runs, test clocks, the upcoming invoice.

Everything due for an account up to a moment is processed in ONE transaction
per account, each document and marker keyed so that the database refuses a
second copy: a run killed at any point and run again equals one uninterrupted
run (PRODUCT.md §5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from seatledger.domain.accounts import Account
from seatledger.domain.billing_calendar import FINAL, MONTH_CLOSE, PERIOD, RENEWAL, coverage_on, due_events
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoicing import (
    DraftInvoice,
    IssuedInvoice,
    final_invoice,
    period_invoice,
    true_up_extras,
    true_up_invoice,
    upcoming_invoice,
)
from seatledger.domain.ledger import CAUSE_RENEWAL, CAUSE_TRUE_UP
from seatledger.domain.seat_requests import APPLIED, REJECTED, SCHEDULED, check_target
from seatledger.domain.errors import DomainError
from seatledger.services.charges import billing_inputs, issue
from seatledger.services.seats import record_capacity_change
from seatledger.services.unit_of_work import UnitOfWork

SYSTEM_ACTOR = "system:billing"


@dataclass
class RunResult:
    as_of: datetime
    accounts: int = 0
    invoices_issued: int = 0
    numbers: list[str] = field(default_factory=list)


def process_due(uow: UnitOfWork, account: Account, until: datetime) -> list[IssuedInvoice]:
    """Helper (no commit): every event due at or before ``until`` not yet done,
    in order: month close, renewal / version, period invoice, final invoice."""
    from seatledger.services.accounts import apply_contract_terms

    issued: list[IssuedInvoice] = []
    inputs = billing_inputs(uow, account)
    done = uow.markers.done(account.id) | uow.invoices.keys(account.id)
    for event in due_events(inputs.contracts, until):
        if event.key in done:
            continue
        if event.order == MONTH_CLOSE:
            cov = coverage_on(inputs.covs, event.at.date() - timedelta(days=1))
            pools = uow.pools.live(account.id)
            for module, extra in sorted(true_up_extras(inputs, cov, event.at).items()):
                if module in pools:
                    record_capacity_change(uow, pool=pools[module], delta=extra, at=event.at,
                                           actor=SYSTEM_ACTOR, cause=CAUSE_TRUE_UP,
                                           commit_floor=True)
            inputs = billing_inputs(uow, account)
            starts_period = any(
                p.start == event.at.date()
                for c in inputs.covs for p, _ in c.periods(event.at.date()))
            draft = None if starts_period else true_up_invoice(event.at, inputs)
            if draft:
                issued.append(issue(uow, account, draft))
            uow.markers.add(account.id, event.key, at=event.at)
        elif event.order == RENEWAL:
            if event.key.startswith("version:"):
                contract = next(c for c in inputs.contracts if c.id == event.contract_id)
                apply_contract_terms(uow, account=account, contract=contract, at=event.at,
                                     actor=SYSTEM_ACTOR)
                uow.contracts.mark_applied(contract.id)
            else:
                _renew(uow, account, event.at)
            uow.markers.add(account.id, event.key, at=event.at)
            inputs = billing_inputs(uow, account)
        elif event.order == PERIOD:
            cov = coverage_on(inputs.covs, event.at.date())
            period, full_days = cov.period_containing(event.at.date())
            issued.append(issue(uow, account, period_invoice(cov, period, full_days, inputs)))
        elif event.order == FINAL:
            draft = final_invoice(event.at.date(), inputs)
            if draft:
                issued.append(issue(uow, account, draft))
            uow.markers.add(account.id, event.key, at=event.at)
        done.add(event.key)
    return issued


def _renew(uow: UnitOfWork, account: Account, at: datetime) -> None:
    """A term anniversary: capacity added this term may now be reduced, and the
    decreases scheduled for the renewal take effect if they still fit."""
    pools = uow.pools.live(account.id)
    for pool in pools.values():
        if pool.committed_capacity:
            pool.committed_capacity = 0
            uow.pools.save_terms(pool)
    for request in uow.seat_requests.list(account_id=account.id, status=SCHEDULED,
                                          limit=10**6, after=None):
        pool = uow.pools.live(account.id).get(request.module)
        request.decided_at = at
        try:
            if pool is None:
                raise InvalidInput(f"module {request.module!r} is no longer in the contract")
            check_target(pool.state, request.target_capacity)
        except DomainError as refusal:
            request.status, request.reason = REJECTED, refusal.message
        else:
            record_capacity_change(uow, pool=pool, delta=request.target_capacity - pool.capacity,
                                   at=at, actor=SYSTEM_ACTOR, cause=CAUSE_RENEWAL)
            request.status = APPLIED
        uow.seat_requests.save(request)


def _as_utc(moment: datetime, field_name: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(f"{field_name} needs a UTC offset", field=field_name)
    return moment


def run_billing(
    uow_factory: Callable[[], UnitOfWork],
    *,
    as_of: datetime,
    now: datetime,
    on_account: Callable[[str, int], None] | None = None,
) -> RunResult:
    """Issues every invoice due up to ``as_of`` for accounts on the real clock,
    one transaction per account. ``as_of`` later than now is refused."""
    _as_utc(as_of, "as_of")
    if as_of > now:
        raise InvalidInput(f"as_of {as_of.isoformat()} is in the future", field="as_of")
    result = RunResult(as_of=as_of)
    with uow_factory() as uow:
        ids = [a.id for a in uow.accounts.list(limit=10**9, after=None) if not a.test_clock]
    for account_id in ids:
        uow = uow_factory()
        with uow:
            account = uow.lock_account(account_id)
            issued = process_due(uow, account, as_of)
            uow.commit()
        result.accounts += 1
        result.invoices_issued += len(issued)
        result.numbers += [i.number for i in issued]
        if on_account:
            on_account(account_id, len(issued))
    return result


def advance_clock(uow: UnitOfWork, *, account_id: str, to: datetime) -> list[IssuedInvoice]:
    """Moves a test clock forward, running everything due in between."""
    _as_utc(to, "now")
    with uow:
        account = uow.lock_account(account_id)
        if not account.test_clock:
            raise InvalidInput("this account is on the real clock", field="account_id")
        assert account.clock_now is not None
        if to < account.clock_now:
            raise InvalidInput(
                f"a test clock only moves forward: it reads {account.clock_now.isoformat()}",
                field="now")
        issued = process_due(uow, account, to)
        uow.accounts.set_clock(account_id, to)
        uow.commit()
    return issued


def upcoming(uow: UnitOfWork, *, account_id: str, at: datetime) -> DraftInvoice | None:
    """The next invoice as it stands, computed by the function that will issue it."""
    with uow:
        account = uow.read_account(account_id)
        return upcoming_invoice(billing_inputs(uow, account), account.time_at(at))
