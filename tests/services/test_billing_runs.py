"""Billing runs in batches (issue 13): a batch is one transaction with a savepoint
per account; on PostgreSQL the batches are procrastinate jobs that any number of
workers take; numbers stay gapless per installation.

Both databases where it applies (a batch, an unknown account, two runs at once,
the job queue's tests are
PostgreSQL's (``postgres_only``), run in CI like every PostgreSQL test.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, event, select, text

from seatledger.adapters.db import tables as t
from seatledger.clock import SystemClock
from seatledger.domain.billing_runs import DONE, Batch
from seatledger.entrypoints import billing_runs
from seatledger.entrypoints.billing_worker import BillingWorker
from seatledger.services import accounts, billing
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
OPERATOR = "operator:test"
SET_UP = datetime(2025, 12, 1, tzinfo=UTC)
AS_OF = datetime(2026, 4, 1, tzinfo=UTC)  # 1 Jan .. 1 Apr: 4 period invoices each
NOW = datetime(2026, 4, 15, tzinfo=UTC)
PER_ACCOUNT = 4


def real_accounts(uow: Uow, count: int) -> list[str]:
    ids = []
    for k in range(count):
        account = accounts.create_account(uow(), name=f"Run {k}", currency="EUR", at=SET_UP)
        accounts.create_contract(
            uow(),
            account_id=account.id,
            start_date=date(2026, 1, 1),
            billing_interval="month",
            pools=[{"module": "console", "capacity": 2, "policy": "block", "unit_price": "9.00"}],
            at=SET_UP,
            actor=OPERATOR,
        )
        ids.append(account.id)
    return sorted(ids)


def documents(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            (r.account_id, r.key, r.number)
            for r in conn.execute(
                select(t.invoices.c.account_id, t.invoices.c.key, t.invoices.c.number)
            )
        ]


def assert_exactly_once_and_gapless(engine: Engine, ids: list[str]) -> None:
    docs = documents(engine)
    per_account = Counter(a for a, _, _ in docs)
    assert per_account == {a: PER_ACCOUNT for a in ids}
    assert len({(a, k) for a, k, _ in docs}) == len(docs), "a document issued twice"
    serials: dict[str, list[int]] = defaultdict(list)
    for _, _, number in docs:
        name, _, serial = number.rpartition("-")
        serials[name].append(int(serial))
    with engine.connect() as conn:
        lasts = dict(
            conn.execute(select(t.number_sequences.c.name, t.number_sequences.c.last)).all()
        )
    for name, got in serials.items():
        assert sorted(got) == list(range(1, len(got) + 1)), f"{name} has gaps"
        assert lasts[name] == len(got)
    # every invoice.issued entry carries the document's final number
    with engine.connect() as conn:
        logged = {
            r.subject.split(":", 1)[1]: r.after
            for r in conn.execute(
                select(t.audit_events.c.subject, t.audit_events.c.after).where(
                    t.audit_events.c.type == "invoice.issued"
                )
            )
        }
        stored = dict(conn.execute(select(t.invoices.c.id, t.invoices.c.number)).all())
    assert set(logged) == set(stored)
    assert all(f'"number":"{stored[i]}"' in after for i, after in logged.items())


# ------------------------------------------------------------ a batch, both databases


def test_a_batch_skips_unknown_and_no_longer_due_accounts_and_counts_once(uow_factory, engine):
    (known,) = real_accounts(uow_factory, 1)
    run, work = billing.start_run(uow_factory(), as_of=AS_OF, now=NOW, queue=False)
    (batch,) = work
    # a job naming an account that does not exist (deleted, or never was) with it
    with_unknown = Batch(
        run_id=batch.run_id,
        batch=batch.batch,
        as_of=AS_OF,
        account_ids=("acc_" + "a" * 24, known),
        actor=batch.actor,
    )
    assert billing.bill_batch(uow_factory, with_unknown, at=NOW) is True
    # the same job again (a worker lost after its commit): nothing, counted once
    assert billing.bill_batch(uow_factory, with_unknown, at=NOW) is False
    # a job of a run that does not exist: nothing
    stray = Batch(run_id="brun_" + "b" * 24, batch=0, as_of=AS_OF, account_ids=(known,), actor="x")
    assert billing.bill_batch(uow_factory, stray, at=NOW) is False
    done = billing.get_run(uow_factory(), run_id=run.id)
    assert (done.status, done.batches_done, done.accounts) == (DONE, 1, 1)
    assert done.invoices_issued == PER_ACCOUNT and done.failures == []
    assert_exactly_once_and_gapless(engine, [known])


def test_two_runs_at_once_issue_what_one_run_issues(uow_factory, engine):
    ids = real_accounts(uow_factory, 12)
    runs: list[object] = []

    def one_run() -> None:
        runs.append(billing.run_billing(uow_factory, as_of=AS_OF, now=NOW, batch_size=4))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(runs) == 2
    assert sum(r.invoices_issued for r in runs) == PER_ACCOUNT * len(ids)  # type: ignore[attr-defined]
    assert all(r.status == DONE and not r.failures for r in runs)  # type: ignore[attr-defined]
    assert_exactly_once_and_gapless(engine, ids)


# ------------------------------------------------------------ the job queue (PostgreSQL)


@pytest.fixture
def queue(engine: Engine, backend: str) -> Iterator[Engine]:
    """PostgreSQL with an empty job queue (procrastinate's tables outlive the
    harness's TRUNCATE), emptied again afterwards."""
    if backend != "postgres":
        pytest.skip("the job queue is PostgreSQL's")

    def empty() -> None:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM procrastinate_jobs"))
            conn.execute(text("DELETE FROM procrastinate_workers"))

    empty()
    yield engine
    empty()


@pytest.fixture
def workers(queue: Engine, monkeypatch) -> Iterator[Callable[[int], list[BillingWorker]]]:
    monkeypatch.setenv("SEATLEDGER_WORKER_HEARTBEAT", "0.3")
    monkeypatch.setenv("SEATLEDGER_WORKER_STALLED_AFTER", "2")
    started: list[BillingWorker] = []

    def start(count: int) -> list[BillingWorker]:
        new = [BillingWorker(engine=queue, clock=SystemClock()) for _ in range(count)]
        for worker in new:
            worker.start()
        started.extend(new)
        deadline = time.monotonic() + 30
        while not billing.queue_available(UnitOfWork(queue), heartbeat_within=2):
            assert time.monotonic() < deadline, "no worker registered"
            time.sleep(0.05)
        return new

    yield start
    for worker in started:
        worker.stop()


def test_workers_share_a_run_and_its_numbers_stay_gapless(uow_factory, queue, workers):
    ids = real_accounts(uow_factory, 30)
    pool = workers(3)
    started = billing_runs.start(queue, as_of=AS_OF, now=NOW, batch_size=3)
    assert started.queued and started.run.batches_total == 10
    run = billing_runs.wait(queue, started.run.id, timeout=120)
    assert run.status == DONE and run.batches_done == 10 and run.failures == []
    assert run.accounts == 30 and run.invoices_issued == PER_ACCOUNT * 30
    assert sum(w.batches for w in pool) == 10
    assert sum(1 for w in pool if w.batches) >= 2, "the batches were shared"
    assert_exactly_once_and_gapless(queue, ids)
    with queue.connect() as conn:  # done jobs are deleted, none failed
        left = conn.execute(text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY 1"))
        assert dict(left.all()) == {}


def test_the_hourly_scheduler_sends_its_runs_batches_to_the_workers(uow_factory, queue, workers):
    """``seatledger serve``'s scheduler starts its runs like any other: with a
    worker alive their batches are jobs the workers bill, not billed on the
    scheduler's thread."""
    from seatledger.clock import FixedClock
    from seatledger.entrypoints.scheduler import BillingScheduler

    ids = real_accounts(uow_factory, 12)
    pool = workers(2)
    scheduler = BillingScheduler(engine=queue, clock=FixedClock(AS_OF), interval=3600)
    run = scheduler.run_once()
    assert run is not None and run.status == DONE and run.failures == []
    assert run.accounts == 12 and run.invoices_issued == PER_ACCOUNT * 12
    assert sum(w.batches for w in pool) == run.batches_total >= 1, "the workers billed it"
    assert_exactly_once_and_gapless(queue, ids)


def test_two_queued_runs_at_once_issue_what_one_run_issues(uow_factory, queue, workers):
    ids = real_accounts(uow_factory, 16)
    workers(2)
    first = billing_runs.start(queue, as_of=AS_OF, now=NOW, batch_size=4)
    second = billing_runs.start(queue, as_of=AS_OF, now=NOW, batch_size=4)
    assert first.queued and second.queued
    done = [billing_runs.wait(queue, s.run.id, timeout=120) for s in (first, second)]
    assert all(r.status == DONE for r in done)
    assert sum(r.invoices_issued for r in done) == PER_ACCOUNT * len(ids)
    assert_exactly_once_and_gapless(queue, ids)


def test_a_batch_that_loses_its_connection_is_tried_again_whole(uow_factory, queue, caplog):
    ids = real_accounts(uow_factory, 6)
    run, (batch,) = billing.start_run(uow_factory(), as_of=AS_OF, now=NOW, queue=False)
    killed: list[int] = []

    def cut_on_third_account(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.startswith("SAVEPOINT") and not killed:
            cut_on_third_account.savepoints += 1
            if cut_on_third_account.savepoints == 3:
                pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                killed.append(pid)
                with queue.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    cut_on_third_account.savepoints = 0  # type: ignore[attr-defined]
    event.listen(queue, "before_cursor_execute", cut_on_third_account)
    try:
        with caplog.at_level(logging.WARNING, logger="seatledger.billing"):
            assert billing.bill_batch(uow_factory, batch, at=NOW, pause=lambda _s: None)
    finally:
        event.remove(queue, "before_cursor_execute", cut_on_third_account)
    assert killed, "the connection was cut"
    assert any("connection was lost" in r.getMessage() for r in caplog.records)
    done = billing.get_run(uow_factory(), run_id=run.id)
    assert (done.status, done.accounts, done.invoices_issued) == (DONE, 6, PER_ACCOUNT * 6)
    assert done.failures == [], "a lost connection is no account's failure"
    assert_exactly_once_and_gapless(queue, ids)
