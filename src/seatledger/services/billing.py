"""Use cases: billing runs, test clocks, the upcoming invoice.

Each loads an account's billing inputs once, calls the planner
(``domain.planner.plan``) and, except the preview, writes what it returns: a
clock move in one transaction, a billing run in batches of accounts, each batch
one transaction with a savepoint per account. Every document and marker is
keyed, so that the database refuses a second copy, and a run killed at any
point and run again equals one uninterrupted run (PRODUCT.md §5).

A run's batches are billed in this process (``run_billing``: SQLite, or
PostgreSQL with no worker) or, on PostgreSQL, by any number of workers taking
them as jobs from the queue (``start_run(queue=True)``, entrypoints/billing_worker.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from seatledger.adapters.db.engine import connection_lost
from seatledger.domain.accounts import Account
from seatledger.domain.billing_runs import (
    BATCH_SIZE,
    DONE,
    RUNNING,
    Batch,
    BillingRun,
    Failure,
    batches,
)
from seatledger.domain.errors import DomainError, InvalidInput, NotFound
from seatledger.domain.ids import new_id
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
from seatledger.domain.pools import Pool
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


def plan_inputs(uow: UnitOfWork, accounts: list[Account]) -> dict[str, PlanInputs]:
    """Everything the planner needs for each account, read once, in a constant
    number of queries however many accounts (a billing batch reads them
    together); what is read does not grow with an account's history: only the
    ledger and the documents since its state's ``since``."""
    ids = [a.id for a in accounts]
    uow.store_documents()
    states = uow.billing_states.of_accounts(ids)
    issued = uow.invoices.since_billing_state(ids)
    contracts = uow.contracts.of_accounts(ids)
    ledger = uow.ledger.since_billing_state(ids)
    done = uow.markers.since_billing_state(ids)
    scheduled = uow.seat_requests.scheduled(ids)
    return {
        a.id: PlanInputs(
            currency=a.currency,
            tax_rate=a.tax_rate,
            contracts=contracts[a.id],
            state=states[a.id],
            ledger=ledger[a.id],
            done=frozenset(done[a.id] | {d.key for d in issued[a.id]}),
            issued=issued[a.id],
            scheduled=scheduled[a.id],
            applied=frozenset(c.id for c in contracts[a.id] if c.applied),
        )
        for a in accounts
    }


def process_due(
    uow: UnitOfWork,
    account: Account,
    until: datetime,
    *,
    inputs: PlanInputs | None = None,
    pools: dict[str, Pool] | None = None,
) -> list[IssuedInvoice]:
    """Helper (no commit): plans everything due at or before ``until`` and writes it.
    The caller holds the account lock. ``inputs`` and ``pools``: the account's, read
    already (a billing batch reads them for all its accounts at once). A plan that
    stops after a version adding modules (users take their new seats as the
    version is applied) is followed by another from there, on what it wrote."""
    issued: list[IssuedInvoice] = []
    while True:
        if inputs is None:
            inputs = plan_inputs(uow, [account])[account.id]
        planned = plan(inputs, until)
        issued += _write(uow, account, planned, inputs, pools)
        if planned.complete:
            return issued
        inputs, pools = None, None


def _write(
    uow: UnitOfWork,
    account: Account,
    planned: Plan,
    inputs: PlanInputs,
    pools: dict[str, Pool] | None,
) -> list[IssuedInvoice]:
    """Writes a plan's steps in order, numbering its documents, and the next state.
    Each change is logged at the instant the plan gives it (the account's time it
    takes effect), as the unit of work's actor ("system" for a scheduled run)."""
    from seatledger.services.accounts import apply_contract_terms

    issued: list[IssuedInvoice] = []
    issued_by_key: dict[str, IssuedInvoice] = {}
    if pools is None:
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


def start_run(
    uow: UnitOfWork,
    *,
    as_of: datetime,
    now: datetime,
    queue: bool,
    batch_size: int = BATCH_SIZE,
) -> tuple[BillingRun, list[Batch]]:
    """A billing run of every account on the real clock with something due at or
    before ``as_of`` (found in one indexed query), split into batches of
    ``batch_size``; ``as_of`` later than ``now`` is refused. ``queue``: each
    batch is also a job on the PostgreSQL job queue, committed with the run, for
    any worker to take (``bill_batch``). A run with nothing due is done at once.
    Its changes are logged as the unit of work's actor, with its request id."""
    as_of = _as_utc(as_of, "as_of")
    now = _as_utc(now, "now")
    if as_of > now:
        raise InvalidInput(f"as_of {as_of.isoformat()} is in the future", field="as_of")
    with uow:
        # NOTE: the run's row first: on SQLite a write transaction starts with a
        # write (it takes the write lock before anything is read).
        run = BillingRun(
            id=new_id("brun"),
            as_of=as_of,
            status=RUNNING,
            batches_total=0,
            requested_by=uow.actor,
            request_id=uow.request_id,
            started_at=now,
        )
        uow.billing_runs.add(run)
        due = uow.billing_states.due_accounts(as_of)
        total = -(-len(due) // batch_size)
        run = replace(
            run,
            batches_total=total,
            status=RUNNING if total else DONE,
            finished_at=None if total else now,
        )
        uow.billing_runs.set_batches(run)
        work = batches(run, due, batch_size)
        if queue:
            uow.billing_jobs.enqueue(work)
        uow.commit()
    return run, work


def queue_available(uow: UnitOfWork, *, heartbeat_within: float) -> bool:
    """Whether a run can go to the job queue: on PostgreSQL, with at least one
    worker alive (a heartbeat within ``heartbeat_within`` seconds). Else the
    process that starts a run bills it itself: a run never waits for a worker
    that is not there."""
    if uow.engine.dialect.name != "postgresql":
        return False
    with uow:
        return uow.billing_jobs.live_workers(heartbeat_within=heartbeat_within) > 0


def get_run(uow: UnitOfWork, *, run_id: str) -> BillingRun:
    with uow:
        run = uow.billing_runs.get(run_id)
    if run is None:
        raise NotFound(f"billing run {run_id} not found", field="run_id")
    return run


# A batch whose connection to the database is lost is tried again from its start
# (its transaction was rolled back whole), at most this many times in all.
BATCH_ATTEMPTS = 5


def bill_batch(
    uow_factory: Callable[[], UnitOfWork],
    batch: Batch,
    *,
    at: datetime,
    on_account: Callable[[str, int], None] | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> bool:
    """Bills one batch of a run in ONE transaction, each account in a savepoint of
    its own, and adds the batch's figures to its run in the same transaction;
    returns False when the batch was done already (nothing is done twice).

    The accounts are locked together, in id order; an account that is gone,
    unknown, or no longer due (another run billed it) is passed over. An
    account's failure, whatever it is, is rolled back alone (its savepoint),
    logged with its traceback and reported in the run's failures; the others
    are billed. The batch's documents are numbered once, at its end. A lost
    connection ends the whole attempt (nothing of it is kept) and the batch is
    tried again, up to BATCH_ATTEMPTS times. ``at``: the moment the batch is
    billed (its row's time); ``on_account(id, invoices)`` after each account.
    ``uow_factory``'s units of work act as the run's actor (``batch.actor``)."""
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            return _bill_batch(uow_factory(), batch, at=at, on_account=on_account)
        except Exception as failure:
            if not connection_lost(failure) or attempt == BATCH_ATTEMPTS:
                raise
            log.warning(
                "billing run %s batch %s: the database connection was lost (%s); "
                "trying the batch again (attempt %s of %s)",
                batch.run_id,
                batch.batch,
                _failure_reason(failure),
                attempt + 1,
                BATCH_ATTEMPTS,
            )
            pause(min(0.2 * 2**attempt, 5.0))
    raise AssertionError("unreachable")  # pragma: no cover


def _bill_batch(
    uow: UnitOfWork,
    batch: Batch,
    *,
    at: datetime,
    on_account: Callable[[str, int], None] | None,
) -> bool:
    with uow:
        if not uow.billing_runs.claim_batch(batch, at=at):
            return False
        accounts = uow.lock_real_clock_accounts(list(batch.account_ids))
        due_ids = uow.billing_states.due_of([a.id for a in accounts], batch.as_of)
        due = [a for a in accounts if a.id in due_ids]
        inputs = plan_inputs(uow, due)
        pools = uow.pools.live_of_accounts([a.id for a in due])
        issued = 0
        failures: list[Failure] = []
        for account in due:
            count = 0
            # NOTE: one account's failure is its own: whatever it is, its savepoint
            # is rolled back and the batch goes on with the next account. A lost
            # connection is no account's failure: the whole batch is tried again.
            try:
                with uow.savepoint():
                    billed = len(
                        process_due(
                            uow,
                            account,
                            batch.as_of,
                            inputs=inputs[account.id],
                            pools={p.module: p for p in pools[account.id]},
                        )
                    )
                count = billed  # NOTE: only once its savepoint is released
            except Exception as failure:
                if connection_lost(failure):
                    raise
                log.exception(
                    "billing run as of %s: account %s not billed", batch.as_of, account.id
                )
                failures.append(Failure(account.id, _failure_reason(failure)))
            issued += count
            if on_account:
                on_account(account.id, count)
        uow.billing_runs.batch_done(
            batch.run_id,
            accounts=len(due),
            invoices_issued=issued,
            failures=failures,
            at=at,
        )
        uow.commit()
    return True


def run_billing(
    uow_factory: Callable[[], UnitOfWork],
    *,
    as_of: datetime,
    now: datetime,
    on_start: Callable[[int], None] | None = None,
    on_account: Callable[[str, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> BillingRun:
    """A billing run in this process, batch after batch (SQLite; PostgreSQL when
    no worker takes jobs): the same batches, transactions and results as a run
    the workers share. ``on_start(accounts)`` once, then ``on_account`` after
    each account (a progress bar ticks on it)."""
    run, work = start_run(uow_factory(), as_of=as_of, now=now, queue=False, batch_size=batch_size)
    if on_start:
        on_start(sum(len(b.account_ids) for b in work))
    bill_batches(uow_factory, work, at=now, on_account=on_account)
    return get_run(uow_factory(), run_id=run.id)


def bill_batches(
    uow_factory: Callable[[], UnitOfWork],
    work: list[Batch],
    *,
    at: datetime,
    on_account: Callable[[str, int], None] | None = None,
) -> None:
    """The batches of a run, one after another, in this process (as the actor of
    ``uow_factory``'s units of work, the one that started the run)."""
    for batch in work:
        bill_batch(uow_factory, batch, at=at, on_account=on_account)


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
    return [uow.document(d.id) for d in issued]


def upcoming(uow: UnitOfWork, *, account_id: str, at: datetime) -> DraftInvoice | None:
    """The next invoice as it stands: the planner run up to the next period invoice
    (or final invoice), exactly as a billing run or a clock move will run it, with
    everything due before it. It only reads: no write lock, nothing written, no
    number consumed."""
    with uow:
        account = uow.read_account(account_id)
        now = account.time_at(_as_utc(at, "at"))
        inputs = plan_inputs(uow, [account])[account.id]
    return upcoming_invoice(inputs, now)
