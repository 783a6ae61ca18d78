"""Use cases: billing runs, test clocks, the upcoming invoice.

Everything due for an account up to a moment is processed in ONE transaction
per account, each document and marker keyed so that the database refuses a
second copy: a run killed at any point and run again equals one uninterrupted
run (PRODUCT.md §5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from seatledger.domain.accounts import Account
from seatledger.domain.billing_calendar import (
    FINAL,
    MONTH_CLOSE,
    PERIOD,
    RENEWAL,
    DueEvent,
    arrears_carried_at,
    coverage_on,
    due_events,
    instant,
)
from seatledger.domain.errors import DomainError, InvalidInput
from seatledger.domain.invoicing import (
    DraftInvoice,
    IssuedInvoice,
    final_invoice,
    next_invoice_day,
    period_invoice,
    true_up_extras,
    true_up_invoice,
    upcoming_invoice,
)
from seatledger.domain.ledger import CAUSE_RENEWAL, CAUSE_TRUE_UP
from seatledger.domain.seat_requests import (
    APPLIED,
    REJECTED,
    SCHEDULED,
    check_direction,
    check_target,
)
from seatledger.services.charges import billing_inputs, issue
from seatledger.services.seats import record_capacity_change
from seatledger.services.unit_of_work import UnitOfWork

SYSTEM_ACTOR = "system:billing"
log = logging.getLogger("seatledger.billing")
# NOTE: a clock move processes every period it crosses in one request (and one
# lock): unbounded, a move to the year 9999 would hold the account for hours.
MAX_CLOCK_MOVE_YEARS = 10
MAX_CLOCK_MOVE = timedelta(days=366 * MAX_CLOCK_MOVE_YEARS)


@dataclass
class RunResult:
    as_of: datetime
    accounts: int = 0
    invoices_issued: int = 0
    numbers: list[str] = field(default_factory=list)
    # accounts not billed, whatever failed (a rule refused a contract version, the
    # database refused a value, a bug): (account id, reason in a sentence). Nothing
    # of theirs was kept; every other account was billed.
    failures: list[tuple[str, str]] = field(default_factory=list)


def pending_events(uow: UnitOfWork, account: Account, until: datetime) -> list[DueEvent]:
    """Helper (read only): what is due for the account at or before ``until``
    and was never done."""
    done = uow.markers.done(account.id) | uow.invoices.keys(account.id)
    return [e for e in due_events(uow.contracts.all(account.id), until) if e.key not in done]


def process_due(uow: UnitOfWork, account: Account, until: datetime) -> list[IssuedInvoice]:
    """Helper (no commit): every event due at or before ``until`` not yet done,
    in order: month close, renewal / version, period invoice, final invoice.
    The caller holds the account lock (``uow.lock_account``)."""
    from seatledger.services.accounts import apply_contract_terms

    issued: list[IssuedInvoice] = []
    inputs = billing_inputs(uow, account)
    done = uow.markers.done(account.id) | uow.invoices.keys(account.id)
    for event in due_events(inputs.contracts, until):
        if event.key in done:
            continue
        if event.order == MONTH_CLOSE:
            cov = coverage_on(inputs.covs, event.at.date() - timedelta(days=1))
            extras = true_up_extras(inputs, cov, event.at)
            if extras:
                pools = uow.pools.live(account.id)
                for module, extra in sorted(extras.items()):
                    if module in pools:
                        record_capacity_change(
                            uow,
                            pool=pools[module],
                            delta=extra,
                            at=event.at,
                            actor=SYSTEM_ACTOR,
                            cause=CAUSE_TRUE_UP,
                            commit_floor=True,
                        )
                inputs = billing_inputs(uow, account)
            # NOTE: the period invoice or the final invoice due at this same instant
            # carries this true-up; an ad-hoc one as well would bill it twice.
            if not arrears_carried_at(inputs.covs, event.at.date()):
                draft = true_up_invoice(event.at, inputs)
                if draft:
                    issued.append(issue(uow, account, draft))
            uow.markers.add(account.id, event.key, at=event.at)
        elif event.order == RENEWAL:
            if event.key.startswith("version:"):
                contract = next(c for c in inputs.contracts if c.id == event.contract_id)
                apply_contract_terms(
                    uow, account=account, contract=contract, at=event.at, actor=SYSTEM_ACTOR
                )
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
    for request in uow.seat_requests.list(
        account_id=account.id, status=SCHEDULED, limit=10**6, after=None
    ):
        if request.decided_at is not None and request.decided_at > at:
            # NOTE: approved after this anniversary (a run catching up on the past):
            # it waits for the next renewal, it is not applied back in time.
            continue
        pool = uow.pools.live(account.id).get(request.module)
        request.decided_at = at
        try:
            if pool is None:
                raise InvalidInput(f"module {request.module!r} is no longer in the contract")
            if request.target_capacity != pool.capacity:
                check_direction(request, pool.state)
                check_target(pool.state, request.target_capacity)
        except DomainError as refusal:
            request.status, request.reason = REJECTED, refusal.message
        else:
            if request.target_capacity != pool.capacity:
                record_capacity_change(
                    uow,
                    pool=pool,
                    delta=request.target_capacity - pool.capacity,
                    at=at,
                    actor=SYSTEM_ACTOR,
                    cause=CAUSE_RENEWAL,
                )
            request.status = APPLIED
        uow.seat_requests.save(request)


def _as_utc(moment: datetime, field_name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInput(f"{field_name} needs a UTC offset", field=field_name)
    return moment.astimezone(UTC)


def billable_accounts(uow: UnitOfWork) -> list[str]:
    """The ids of the accounts a billing run covers: those on the real clock."""
    with uow:
        return [a.id for a in uow.accounts.list(limit=10**9, after=None) if not a.test_clock]


def run_billing(
    uow_factory: Callable[[], UnitOfWork],
    *,
    as_of: datetime,
    now: datetime,
    on_start: Callable[[int], None] | None = None,
    on_account: Callable[[str, int], None] | None = None,
) -> RunResult:
    """Issues every invoice due up to ``as_of`` for accounts on the real clock,
    one transaction per account. ``as_of`` later than now is refused.

    ``on_start(total)`` is called once with the number of accounts the run
    covers, then ``on_account(account_id, invoices_issued)`` once per account
    (a progress bar ticks on it). An account whose billing fails, however it
    fails, is rolled back, logged with its traceback and reported in
    ``failures``; the others are billed.
    """
    as_of = _as_utc(as_of, "as_of")
    now = _as_utc(now, "now")
    if as_of > now:
        raise InvalidInput(f"as_of {as_of.isoformat()} is in the future", field="as_of")
    result = RunResult(as_of=as_of)
    ids = billable_accounts(uow_factory())
    if on_start:
        on_start(len(ids))
    for account_id in ids:
        issued: list[IssuedInvoice] = []
        # NOTE: one account's failure is its own: whatever it is, its transaction
        # is rolled back and the run goes on with the next account, so no account
        # ever keeps the ones after it from being billed.
        try:
            # NOTE: a look without the lock first: an account with nothing due (the
            # hourly scheduler's usual case) is not locked, so live seat operations
            # never wait for a run. process_due checks again under the lock.
            with uow_factory() as uow:
                account = uow.accounts.get(account_id)
                due = account is not None and bool(pending_events(uow, account, as_of))
            if due:
                with uow_factory() as uow:
                    account = uow.lock_account(account_id)
                    issued = process_due(uow, account, as_of)
                    uow.commit()
        except Exception as failure:
            log.exception("billing run as of %s: account %s not billed", as_of, account_id)
            result.failures.append((account_id, _failure_reason(failure)))
            issued = []
        result.accounts += 1
        result.invoices_issued += len(issued)
        result.numbers += [i.number for i in issued]
        if on_account:
            on_account(account_id, len(issued))
    return result


def _failure_reason(failure: Exception) -> str:
    """Why an account was not billed, in one sentence: a refusal's own message,
    else the error's kind and the first line of what it says (the traceback is
    in the log)."""
    if isinstance(failure, DomainError):
        return failure.message
    # a database error (SQLAlchemy's DBAPIError) carries the driver's in ``orig``
    said = str(getattr(failure, "orig", None) or failure).strip().splitlines()
    detail = f": {said[0][:200]}" if said else ""
    return f"unexpected {type(failure).__name__}{detail}"


def advance_clock(uow: UnitOfWork, *, account_id: str, to: datetime) -> list[IssuedInvoice]:
    """Moves a test clock forward, running everything due in between."""
    to = _as_utc(to, "now")
    with uow:
        account = uow.lock_account(account_id)
        if not account.test_clock:
            raise InvalidInput("this account is on the real clock", field="account_id")
        assert account.clock_now is not None
        if to < account.clock_now:
            raise InvalidInput(
                f"a test clock only moves forward: it reads {account.clock_now.isoformat()}",
                field="now",
            )
        if to - account.clock_now > MAX_CLOCK_MOVE:
            raise InvalidInput(
                f"a test clock moves at most {MAX_CLOCK_MOVE_YEARS} years at a time: "
                f"it reads {account.clock_now.isoformat()}",
                field="now",
            )
        issued = process_due(uow, account, to)
        uow.accounts.set_clock(account_id, to)
        uow.commit()
    return issued


def upcoming(uow: UnitOfWork, *, account_id: str, at: datetime) -> DraftInvoice | None:
    """The next invoice as it stands, computed by the function that will issue it.

    Everything due until then (month closes with their true-ups, renewals with
    their scheduled decreases, a new contract version) is run first, exactly as
    a billing run or a clock move will, in this transaction, which is then
    rolled back: nothing is kept, no number is consumed.
    """
    with uow:
        account = uow.lock_account(account_id)
        now = account.time_at(_as_utc(at, "at"))
        inputs = billing_inputs(uow, account)
        as_it_stands = upcoming_invoice(inputs, now)
        day = next_invoice_day(inputs, now)
        if day is None:
            return None
        keys = {f"period:{day}", f"final:{day}"}
        try:
            dry_run = process_due(uow, account, instant(day))
        except DomainError:
            # what is due before it cannot be run yet (a billing run will report
            # it): the invoice as the ledger stands now
            return as_it_stands
        for document in dry_run:
            if document.key in keys:
                return DraftInvoice(
                    key=document.key,
                    kind=document.kind,
                    issued_at=document.issued_at,
                    currency=document.currency,
                    lines=document.lines,
                    period_start=document.period_start,
                    period_end=document.period_end,
                    type=document.type,
                )
        return None  # no uow.commit(): the dry run is rolled back
