"""The billing scheduler inside ``seatledger serve`` (PRODUCT.md §5).

A daemon thread that runs a billing run as of ``clock.now()``
(``billing_runs.run_whole``: on PostgreSQL with a billing worker alive its
batches go to the job queue like any other run's, else this thread bills them)
at once when it starts, then every ``SEATLEDGER_BILLING_INTERVAL`` seconds
(default 3600: hourly), and after each run purges the idempotency keys older
than 24 hours. A failing run is logged and retried at the next tick; the
thread never dies of it. ``stop()`` ends it (the app's shutdown).

Several servers (or ``seatledger bill`` at the same time) may run it side by
side: each account is billed under its lock, and what is done is keyed, so two
runs never issue the same invoice twice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from seatledger.clock import Clock
from seatledger.domain.billing_runs import BillingRun
from seatledger.entrypoints import billing_runs
from seatledger.services.idempotency import purge_idempotency_keys
from seatledger.services.unit_of_work import UnitOfWork

log = logging.getLogger("seatledger.scheduler")

DEFAULT_INTERVAL = 3600.0
INTERVAL_ENV = "SEATLEDGER_BILLING_INTERVAL"


def interval_from_env() -> float:
    """``SEATLEDGER_BILLING_INTERVAL`` in seconds (a positive number), else 3600."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        log.warning(
            "%s=%r is not a positive number of seconds; using %s",
            INTERVAL_ENV,
            raw,
            DEFAULT_INTERVAL,
        )
        return DEFAULT_INTERVAL
    return value


class _Stopping(Exception):
    """Raised between two accounts (or two reads of a queued run's progress)
    when the app shuts down during a run."""


# engine, as_of, now, on_account, on_progress -> the run's result
Run = Callable[..., BillingRun]


class BillingScheduler:
    """Runs billing every ``interval`` seconds on a daemon thread."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        interval: float | None = None,
        run: Run = billing_runs.run_whole,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.interval = interval if interval is not None else interval_from_env()
        if not self.interval > 0:
            raise ValueError(f"interval must be positive, got {self.interval!r}")
        self._run = run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # completed runs
        self.errors = 0  # failed runs
        self.last_result: BillingRun | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="seatledger-billing", daemon=True)
        self._thread.start()
        log.info("billing scheduler started: a run every %s s", self.interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Asks the thread to end and waits for it. A run in progress stops after
        the account it is on (each account is its own transaction: what is
        committed is complete; the next run carries on from there)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():  # pragma: no cover - a very long run
                log.warning("billing scheduler still busy after %s s; leaving it", timeout)

    def run_once(self) -> BillingRun | None:
        """One billing run as of now, then the idempotency keys' purge; errors
        are logged, never raised."""
        result = self._bill_once()
        try:
            purged = purge_idempotency_keys(UnitOfWork(self.engine), now=self.clock.now())
        except Exception:
            log.exception("purging idempotency keys failed; retrying in %s s", self.interval)
        else:
            if purged:
                log.info("purged %s idempotency keys older than 24 hours", purged)
        return result

    def _bill_once(self) -> BillingRun | None:

        def stop_if_asked(*_progress: object) -> None:
            if self._stop.is_set():
                raise _Stopping

        try:
            now = self.clock.now()
            result = self._run(
                self.engine,
                as_of=now,
                now=now,
                on_account=stop_if_asked,
                on_progress=stop_if_asked,
            )
        except _Stopping:
            log.info("billing scheduler stopped during a run; the next run carries on")
            return None
        except Exception:
            self.errors += 1
            log.exception("scheduled billing run failed; retrying in %s s", self.interval)
            return None
        self.runs += 1
        self.last_result = result
        for account_id, reason in result.failures:
            log.error("scheduled billing: account %s not billed: %s", account_id, reason)
        if result.invoices_issued:
            log.info(
                "scheduled billing: %s invoices issued for %s accounts",
                result.invoices_issued,
                result.accounts,
            )
        return result

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)
