"""The webhook delivery worker: inside ``seatledger serve`` (a daemon thread
started with the app) and alone as ``seatledger worker``.

It runs rounds of ``services.webhook_delivery.deliver_due`` (up to
SEATLEDGER_WEBHOOK_CONCURRENCY attempts side by side), one after another while
there is work, and waits SEATLEDGER_WEBHOOK_POLL_INTERVAL seconds when nothing
is due. A failing round (the database unreachable) is logged and the worker
carries on. Several workers may run on one PostgreSQL (leases are taken FOR
UPDATE SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from seatledger.adapters.webhook_sender import HttpxSender, WebhookAddresses
from seatledger.clock import Clock
from seatledger.config import WebhookSettings, load_webhook_settings
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.webhook_delivery import DeliveryRound, Sender, deliver_due

log = logging.getLogger("seatledger.webhooks")


class WebhookWorker:
    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        settings: WebhookSettings | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings or load_webhook_settings()
        self.sender = sender or HttpxSender(WebhookAddresses(self.settings.allow_private))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0  # rounds that attempted something
        self.errors = 0  # rounds that failed

    def run_once(self) -> DeliveryRound:
        """One round of what is due now; errors are logged, never raised."""
        try:
            result = deliver_due(
                lambda: UnitOfWork(self.engine),
                sender=self.sender,
                clock=self.clock,
                timeout=self.settings.timeout,
                limit=self.settings.concurrency,
            )
        except Exception:
            self.errors += 1
            log.exception("webhook delivery round failed; retrying")
            return DeliveryRound()
        if result.attempted:
            self.rounds += 1
            log.info(
                "webhooks: %s attempted, %s delivered, %s to retry, %s failed",
                result.attempted,
                result.delivered,
                result.retrying,
                result.failed,
            )
        return result

    def run(self) -> None:
        """Rounds until ``stop`` (the calling thread's own loop)."""
        while not self._stop.is_set():
            result = self.run_once()
            if result.attempted < self.settings.concurrency:
                self._stop.wait(self.settings.poll_interval)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """``run`` on a daemon thread."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="seatledger-webhooks", daemon=True)
        self._thread.start()
        log.info(
            "webhook worker started: %s attempts at once, %s s timeout",
            self.settings.concurrency,
            self.settings.timeout,
        )

    def request_stop(self) -> None:
        """The loop ends after the round in progress (signal handlers call this)."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> None:
        """Asks the loop to end and waits for the round in progress (its
        attempts are bounded by the attempt timeout)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout if timeout is not None else self.settings.timeout + 30)
            if thread.is_alive():  # pragma: no cover - a stuck database
                log.warning("webhook worker still busy; leaving it")
