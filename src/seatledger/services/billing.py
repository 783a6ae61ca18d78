"""Use cases: billing runs, test clocks, the upcoming invoice.

Each loads an account's billing inputs once, calls the planner
(``domain.planner.plan``) and, except the preview, writes what it returns in ONE
transaction per account: every document and marker is keyed, so that the database
refuses a second copy, and a run killed at any point and run again equals one
uninterrupted run (PRODUCT.md §5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from seatledger.domain.accounts import Account
from seatledger.domain.errors import DomainError, InvalidInput
from seatledger.domain.invoicing import DraftInvoice, IssuedInvoice
from seatledger.domain.planner import (
    SYSTEM_ACTOR,
    ApplyVersion,
    CapacityChange,
    IssueDocument,
    MarkDone,
    Plan,
    PlanInputs,
    RequestDecided,
    ResetCommitted,
    plan,
    upcoming_invoice,
)
from seatledger.domain.seat_requests import APPLIED
from seatledger.services.charges import issue, issue_charges
from seatledger.services.seat_requests import record_request_change
from seatledger.services.seats import record_capacity_change
from seatledger.services.unit_of_work import UnitOfWork

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


def plan_inputs(uow: UnitOfWork, account: Account) -> PlanInputs:
    """Everything the planner needs, read once; what is read does not grow with the
    account's history: only the ledger and the documents since ``state.since``."""
    state = uow.billing_states.get(account.id)
    since = state.since
    issued = uow.invoices.issued_since(account.id, since)
    contracts = uow.contracts.all(account.id)
    return PlanInputs(
        currency=account.currency,
        tax_rate=account.tax_rate,
        contracts=contracts,
        state=state,
        ledger=uow.ledger.entries(account.id, since=since),
        done=frozenset(uow.markers.done_since(account.id, since) | {d.key for d in issued}),
        issued=issued,
        scheduled=uow.seat_requests.scheduled(account.id),
        applied=frozenset(c.id for c in contracts if c.applied),
    )


def process_due(uow: UnitOfWork, account: Account, until: datetime) -> list[IssuedInvoice]:
    """Helper (no commit): plans everything due at or before ``until`` and writes it.
    The caller holds the account lock. A plan that stops after a version adding
    modules (users take their new seats as the version is applied) is followed by
    another from there."""
    issued: list[IssuedInvoice] = []
    while True:
        inputs = plan_inputs(uow, account)
        planned = plan(inputs, until)
        issued += _write(uow, account, planned, inputs)
        if planned.complete:
            return issued


def _write(
    uow: UnitOfWork, account: Account, planned: Plan, inputs: PlanInputs
) -> list[IssuedInvoice]:
    """Writes a plan's steps in order, numbering its documents, and the next state.
    Each change is logged at the instant the plan gives it (the account's time it
    takes effect), as the unit of work's actor ("system" for a scheduled run)."""
    from seatledger.services.accounts import apply_contract_terms

    issued: list[IssuedInvoice] = []
    issued_by_key: dict[str, IssuedInvoice] = {}
    pools = uow.pools.live(account.id)
    requests = {r.id: r for r in inputs.scheduled}
    for step in planned.steps:
        if isinstance(step, CapacityChange):
            pool = pools[step.module]
            record_capacity_change(
                uow,
                pool=pool,
                delta=step.delta,
                at=step.at,
                actor=SYSTEM_ACTOR,
                cause=step.cause,
                commit_floor=step.commit_floor,
            )
        elif isinstance(step, ResetCommitted):
            for pool in pools.values():
                if pool.committed_capacity:
                    pool.committed_capacity = 0
                    uow.pools.save_terms(pool)
        elif isinstance(step, RequestDecided):
            request = requests[step.request_id]
            before = replace(request)
            request.status, request.reason, request.decided_at = step.status, step.reason, step.at
            uow.seat_requests.save(request)
            event = "seat_change.applied" if step.status == APPLIED else "seat_change.rejected"
            record_request_change(uow, event, request, at=step.at, before=before)
        elif isinstance(step, ApplyVersion):
            contract = next(c for c in inputs.contracts if c.id == step.contract_id)
            purchases = apply_contract_terms(
                uow,
                account=account,
                contract=contract,
                at=step.at,
                actor=SYSTEM_ACTOR,
                keep_seats_in_use=True,
            )
            uow.contracts.mark_applied(contract.id)
            issued += issue_charges(uow, account, purchases)
            pools = uow.pools.live(account.id)
        elif isinstance(step, IssueDocument):
            credited = None
            if step.credits_key is not None:
                credited = issued_by_key.get(step.credits_key) or uow.invoices.by_key(
                    account.id, step.credits_key
                )
            document = issue(
                uow, account, step.draft, tax_rate=inputs.tax_rate, credited_invoice=credited
            )
            issued_by_key[document.key] = document
            issued.append(document)
        elif isinstance(step, MarkDone):
            uow.markers.add(account.id, step.key, at=step.at)
    uow.billing_states.save(account.id, planned.state, next_due_at=planned.next_due)
    return issued


def _as_utc(moment: datetime, field_name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInput(f"{field_name} needs a UTC offset", field=field_name)
    return moment.astimezone(UTC)


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

    The accounts with something due are found in one indexed query (an account
    with nothing due costs nothing). ``on_start(total)`` is called once with their
    number, then ``on_account(account_id, invoices_issued)`` once per account (a
    progress bar ticks on it). An account whose billing fails, however it fails,
    is rolled back, logged with its traceback and reported in ``failures``; the
    others are billed.
    """
    as_of = _as_utc(as_of, "as_of")
    now = _as_utc(now, "now")
    if as_of > now:
        raise InvalidInput(f"as_of {as_of.isoformat()} is in the future", field="as_of")
    result = RunResult(as_of=as_of)
    with uow_factory() as uow:
        ids = uow.billing_states.due_accounts(as_of)
    if on_start:
        on_start(len(ids))
    for account_id in ids:
        issued: list[IssuedInvoice] = []
        # NOTE: one account's failure is its own: whatever it is, its transaction
        # is rolled back and the run goes on with the next account, so no account
        # ever keeps the ones after it from being billed.
        try:
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
        before = replace(account)
        issued = process_due(uow, account, to)
        uow.accounts.set_clock(account_id, to)
        uow.record(
            "account.clock_moved",
            subject=f"account:{account_id}",
            account_id=account_id,
            at=to,
            before=before,
            after=replace(before, clock_now=to),
        )
        uow.commit()
    return issued


def upcoming(uow: UnitOfWork, *, account_id: str, at: datetime) -> DraftInvoice | None:
    """The next invoice as it stands: the planner run up to the next period invoice
    (or final invoice), exactly as a billing run or a clock move will run it, with
    everything due before it. It only reads: no write lock, nothing written, no
    number consumed."""
    with uow:
        account = uow.read_account(account_id)
        now = account.time_at(_as_utc(at, "at"))
        inputs = plan_inputs(uow, account)
    return upcoming_invoice(inputs, now)
