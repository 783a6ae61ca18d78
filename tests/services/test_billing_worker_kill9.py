"""kill -9 of a billing worker mid-batch (PostgreSQL, the job queue): the same
invoices as an uninterrupted run, exactly once per account and period, numbers
gapless.

The book of tests/services/test_billing_kill9.py is copied twice. Copy A is billed
by one uninterrupted run in this process. On copy B a ``seatledger worker``
subprocess takes the run's batches from the queue and is killed with SIGKILL
while it holds a batch (its job in ``doing``, its transaction open); a second
worker gives the dead worker's job back to the queue once its heartbeat is older
than SEATLEDGER_WORKER_STALLED_AFTER and finishes the run. The invoices (all but
their numbers, whose order follows which batch committed first), ledger, markers,
seat requests, pools and the sequences' last numbers must be the same; no key
twice; every sequence gapless.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from tests.services.test_billing_kill9 import (
    ACCOUNTS,
    Book,
    _postgres_copies,
    assert_gapless,
    invoice_count,
    snapshot,
)

from seatledger.adapters.db.engine import make_engine
from seatledger.domain.billing_runs import DONE
from seatledger.entrypoints import billing_runs
from seatledger.services import billing
from seatledger.services.unit_of_work import UnitOfWork

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 2, tzinfo=UTC)
BATCH = 4
ENV = {"SEATLEDGER_WORKER_HEARTBEAT": "0.3", "SEATLEDGER_WORKER_STALLED_AFTER": "2"}


def without_numbers(book: Book) -> Counter:
    return Counter({key[:2] + key[3:]: n for key, n in book.invoices.items()})


def start_worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ENV, "SEATLEDGER_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "seatledger.entrypoints.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_a_worker_killed_mid_batch_leaves_what_an_uninterrupted_run_issues(
    db_url: str, backend: str, monkeypatch
):
    if backend != "postgres":
        pytest.skip("the job queue is PostgreSQL's")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    copies = _postgres_copies(db_url)
    engine_a, engine_b = make_engine(copies.a), make_engine(copies.b)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        baseline = invoice_count(engine_a)
        uninterrupted = billing.run_billing(
            lambda: UnitOfWork(engine_a), as_of=AS_OF, now=NOW, batch_size=BATCH
        )
        assert uninterrupted.status == DONE and not uninterrupted.failures
        issued = invoice_count(engine_a) - baseline
        assert issued > 200

        workers.append(start_worker(copies.b))
        wait_for(lambda: billing.queue_available(UnitOfWork(engine_b), heartbeat_within=2))
        started = billing_runs.start(engine_b, as_of=AS_OF, now=NOW, batch_size=BATCH)
        assert started.queued and started.run.batches_total == -(-ACCOUNTS // BATCH)

        # kill it while it holds a batch: its job taken, its transaction open, after
        # at least one batch committed
        def mid_batch() -> bool:
            run = billing.get_run(UnitOfWork(engine_b), run_id=started.run.id)
            return (
                run.batches_done >= 1
                and scalar(
                    engine_b, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
                )
                == 1
                and scalar(
                    engine_b,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND xact_start IS NOT NULL AND backend_xid IS NOT NULL "
                    "AND pid <> pg_backend_pid()",
                )
                >= 1
            )

        wait_for(mid_batch)
        time.sleep(random.uniform(0, 0.02))
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(30)
        at_kill = billing.get_run(UnitOfWork(engine_b), run_id=started.run.id)
        assert at_kill.status != DONE, "the kill came after the last batch"
        stalled = scalar(engine_b, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
        assert stalled == 1, "the killed worker's job is left in doing"

        workers.append(start_worker(copies.b))
        done = billing_runs.wait(engine_b, started.run.id, timeout=180)
        assert done.status == DONE and done.failures == []
        assert done.batches_done == done.batches_total
        print(
            f"\n[postgres] worker kill -9: {ACCOUNTS} accounts, {issued} invoices, "
            f"{done.batches_total} batches; killed with {at_kill.batches_done} done and one "
            f"in progress; the second worker finished; same invoices as the uninterrupted run"
        )

        a, b = snapshot(engine_a), snapshot(engine_b)
        assert max(b.keys.values()) == 1, "a document issued twice"
        assert_gapless(a)
        assert_gapless(b)
        assert without_numbers(a) == without_numbers(b)
        assert a.ledger == b.ledger
        assert a.markers == b.markers
        assert a.seat_requests == b.seat_requests
        assert a.pools == b.pools
        assert a.sequences == b.sequences
        assert done.invoices_issued == issued
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
        engine_a.dispose()
        engine_b.dispose()
        for step in copies.cleanup:
            step()
