"""The billing worker: takes the batches of billing runs from the PostgreSQL job
queue (procrastinate, queue ``billing``) and bills each one
(``services.billing.bill_batch``). Inside ``seatledger serve`` (a thread beside
the API) and in ``seatledger worker``; any number of them, on any number of
machines sharing the database, bill one run in parallel.

A worker proves it is alive by a heartbeat (procrastinate_workers) every
SEATLEDGER_WORKER_HEARTBEAT seconds (default 10). Every worker, at each
heartbeat, gives the jobs of workers silent for SEATLEDGER_WORKER_STALLED_AFTER
seconds (default 30: a worker killed, its machine gone) back to the queue: their
transactions were rolled back with their connections, and the batch runs again
from its start, elsewhere. A batch done twice counts once (billing_run_batches).

PostgreSQL only: on SQLite a run's batches are billed by the process that starts it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from seatledger.adapters.db.repositories.billing_runs import QUEUE, TASK
from seatledger.clock import Clock
from seatledger.domain.billing_runs import Batch
from seatledger.services.billing import bill_batch
from seatledger.services.unit_of_work import UnitOfWork

log = logging.getLogger("seatledger.billing_worker")

HEARTBEAT_ENV = "SEATLEDGER_WORKER_HEARTBEAT"
STALLED_ENV = "SEATLEDGER_WORKER_STALLED_AFTER"


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = default
    return value if value > 0 else default


def heartbeat_interval() -> float:
    return _seconds(HEARTBEAT_ENV, 10.0)


def stalled_after() -> float:
    return _seconds(STALLED_ENV, 30.0)


def conninfo(engine: Engine) -> str:
    """The libpq connection string of the engine's database (psycopg's own)."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class BillingWorker:
    """One procrastinate worker on its own event loop: ``run`` in the calling
    thread (``seatledger worker``), or ``start`` on a daemon thread (``serve``)."""

    def __init__(self, *, engine: Engine, clock: Clock, wait: bool = True) -> None:
        """``wait=False``: stop once the queue is empty (``seatledger worker --once``)."""
        if engine.dialect.name != "postgresql":
            raise ValueError("the billing worker takes jobs from PostgreSQL")
        import procrastinate

        self.engine = engine
        self.clock = clock
        self.wait = wait
        self.heartbeat = heartbeat_interval()
        self.stalled_after = stalled_after()
        self.batches = 0  # batches billed by this worker
        self._worker: Any = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=conninfo(engine), min_size=1, max_size=3
            )
        )
        self.app.task(name=TASK, queue=QUEUE)(self._bill)

    def _bill(
        self,
        run_id: str,
        batch: int,
        as_of: str,
        account_ids: list[str],
        actor: str,
        request_id: str | None = None,
    ) -> None:
        """The job: one batch (on procrastinate's thread for synchronous tasks)."""
        work = Batch(
            run_id=run_id,
            batch=batch,
            as_of=datetime.fromisoformat(as_of),
            account_ids=tuple(account_ids),
            actor=actor,
            request_id=request_id,
        )
        bill_batch(
            lambda: UnitOfWork(self.engine, actor=actor, request_id=request_id),
            work,
            at=self.clock.now(),
        )
        self.batches += 1

    async def _recover_stalled(self) -> None:
        """At every heartbeat: the jobs of workers silent for ``stalled_after``
        seconds go back to the queue."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await manager.prune_stalled_workers(self.stalled_after)
                stalled = await manager.get_stalled_jobs(
                    queue=QUEUE, seconds_since_heartbeat=self.stalled_after
                )
                for job in stalled:
                    try:
                        await manager.retry_job(job)
                        log.warning(
                            "billing job %s (%s) of a silent worker is queued again",
                            job.id,
                            job.task_kwargs.get("run_id"),
                        )
                    except Exception:  # another worker gave it back first
                        log.debug("stalled job %s was taken back already", job.id)
            except Exception:
                log.exception("looking for stalled billing jobs failed; trying again")

    async def _main(self) -> None:
        from procrastinate.worker import Worker

        async with self.app.open_async():
            self._worker = Worker(
                self.app,
                queues=[QUEUE],
                name="seatledger-billing",
                concurrency=1,
                wait=self.wait,
                install_signal_handlers=False,
                listen_notify=True,
                fetch_job_polling_interval=1.0,
                delete_jobs="successful",
                update_heartbeat_interval=self.heartbeat,
                stalled_worker_timeout=self.stalled_after,
            )
            helpers = [
                asyncio.create_task(self._recover_stalled()),
                asyncio.create_task(self._stop_when_asked()),
            ]
            try:
                await self._worker.run()
            finally:
                for helper in helpers:
                    helper.cancel()

    async def _stop_when_asked(self) -> None:
        # NOTE: polled, so that a stop asked before the worker's loop started
        # (which clears a stop request) is never lost.
        while True:
            if self._stopping.is_set():
                self._worker.stop()
            await asyncio.sleep(0.1)

    def run(self) -> None:
        """Takes batches until ``request_stop`` (or, ``wait=False``, the queue is empty)."""
        asyncio.run(self._main())

    def request_stop(self) -> None:
        """Ends ``run`` after the batch in progress (signal handlers call this)."""
        self._stopping.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run_logged, name="seatledger-billing", daemon=True
        )
        self._thread.start()
        log.info("billing worker started (queue %s)", QUEUE)

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception:  # pragma: no cover - the database unreachable at start
            log.exception("the billing worker stopped")

    def stop(self, timeout: float = 60.0) -> None:
        """Asks the worker to end and waits for the batch in progress."""
        self.request_stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():  # pragma: no cover - a very long batch
                log.warning("billing worker still busy after %s s; leaving it", timeout)
