"""Starting a billing run and waiting for it, for the API, the CLI and the console.

On PostgreSQL with a billing worker alive, the run's batches go to the job queue
and the workers bill them; else (SQLite, or no worker) the process that starts
the run bills them itself: ``seatledger bill`` in the foreground, the API on a
thread of its own. Either way the run's row says how far it is.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from seatledger.domain.billing_runs import BATCH_SIZE, DONE, Batch, BillingRun
from seatledger.entrypoints.billing_worker import stalled_after
from seatledger.services import billing
from seatledger.services.unit_of_work import UnitOfWork

log = logging.getLogger("seatledger.billing")


BATCH_SIZE_ENV = "SEATLEDGER_BILLING_BATCH_SIZE"


def batch_size_from_env() -> int:
    """SEATLEDGER_BILLING_BATCH_SIZE (a positive whole number), else BATCH_SIZE."""
    raw = os.environ.get(BATCH_SIZE_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else BATCH_SIZE


class StartedRun:
    """A run just started: ``here`` holds its batches when this process bills them."""

    def __init__(self, run: BillingRun, here: list[Batch]) -> None:
        self.run = run
        self.here = here

    @property
    def queued(self) -> bool:
        return self.run.batches_total > 0 and not self.here


def start(
    engine: Engine,
    *,
    as_of: datetime,
    now: datetime,
    actor: str | None = None,
    request_id: str | None = None,
    batch_size: int | None = None,
) -> StartedRun:
    """The run's row, and its jobs when a worker is alive to take them.
    ``batch_size``: accounts per batch (default SEATLEDGER_BILLING_BATCH_SIZE, else
    domain.billing_runs.BATCH_SIZE)."""
    kwargs = {"request_id": request_id} | ({"actor": actor} if actor else {})
    queued = billing.queue_available(UnitOfWork(engine), heartbeat_within=stalled_after())
    run, work = billing.start_run(
        UnitOfWork(engine, **kwargs),
        as_of=as_of,
        now=now,
        queue=queued,
        batch_size=batch_size or batch_size_from_env(),
    )
    return StartedRun(run, [] if queued else work)


def bill_here(
    engine: Engine,
    started: StartedRun,
    *,
    at: datetime,
    on_account: Callable[[str, int], None] | None = None,
    background: bool = False,
) -> None:
    """Bills the batches this process holds, as the run's actor; ``background``:
    on a daemon thread (the API answers while it bills)."""
    if not started.here:
        return
    run = started.run

    def work() -> None:
        billing.bill_batches(
            lambda: UnitOfWork(engine, actor=run.requested_by, request_id=run.request_id),
            started.here,
            at=at,
            on_account=on_account,
        )

    if not background:
        work()
        return

    def logged() -> None:
        try:
            work()
        except Exception:
            log.exception("billing run %s stopped", run.id)

    threading.Thread(target=logged, name=f"billing-run-{run.id}", daemon=True).start()


def wait(
    engine: Engine,
    run_id: str,
    *,
    timeout: float | None,
    on_progress: Callable[[BillingRun], None] | None = None,
) -> BillingRun:
    """The run once done, or as it is after ``timeout`` seconds (None: no limit),
    read from its row (``on_progress`` at each read)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.02
    while True:
        run = billing.get_run(UnitOfWork(engine), run_id=run_id)
        if on_progress:
            on_progress(run)
        if run.status == DONE:
            return run
        if deadline is not None and time.monotonic() >= deadline:
            return run
        left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, 0.25)


def run_whole(
    engine: Engine,
    *,
    as_of: datetime,
    now: datetime,
    on_account: Callable[[str, int], None] | None = None,
    on_progress: Callable[[BillingRun], None] | None = None,
) -> BillingRun:
    """A run from its start to its result: its batches to the workers when one
    is alive (their progress read from the run's row, ``on_progress`` at each
    read), else billed here one after another (``on_account`` after each
    account). Either callback may raise to stop waiting or billing: what is
    committed is complete, the next run carries on from there."""
    started = start(engine, as_of=as_of, now=now)
    bill_here(engine, started, at=now, on_account=on_account)
    return wait(engine, started.run.id, timeout=None, on_progress=on_progress)
