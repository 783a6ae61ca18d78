"""The webhook worker as it runs: inside the app (``seatledger serve``'s
lifespan) and alone as ``seatledger worker``, killed with SIGKILL in the middle
of its deliveries and started again (PRODUCT.md §7: at least once, nothing
lost), on SQLite and PostgreSQL. Signatures are checked with the
``standardwebhooks`` library only (tests/webhook_receiver.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.webhook_receiver import HOLD, Receiver, verify

from seatledger.adapters.db import tables as t
from seatledger.adapters.webhook_sender import WebhookAddresses
from seatledger.clock import SystemClock
from seatledger.config import WebhookSettings
from seatledger.entrypoints.api.app import create_app
from seatledger.services import accounts
from seatledger.services.webhook_endpoints import create_webhook_endpoint

LOOPBACK = WebhookAddresses(frozenset({"loopback"}))
EVENTS = 20
TIMEOUT = 3  # seconds: the worker's attempt timeout, so its leases last 3 + 5 s


def now() -> datetime:
    return datetime.now(UTC)


def changes(uow_factory: Any, count: int) -> list[str]:
    """``count`` user.created changes of a new account; their event ids."""
    account_id = accounts.create_account(uow_factory(), name="K9", currency="EUR", at=now()).id
    with uow_factory() as uow:
        uow.lock_account(account_id)
        for n in range(count):
            uow.record("user.created", subject=f"user:usr_{n}", account_id=account_id, at=now())
        uow.commit()
    with uow_factory() as uow:
        rows = uow.conn.execute(
            select(t.audit_events.c.id).where(t.audit_events.c.type == "user.created")
        )
        return [r.id for r in rows]


def deliveries(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(t.webhook_deliveries)))


def test_the_app_delivers_webhooks_while_it_is_up_when_asked(engine, uow_factory):
    with Receiver() as receiver:
        hook = create_webhook_endpoint(
            uow_factory(), url=receiver.url, events=["user.created"], addresses=LOOPBACK, at=now()
        )
        (event_id,) = changes(uow_factory, 1)
        quiet = create_app(engine=engine)
        with TestClient(quiet):
            time.sleep(0.3)
            assert quiet.state.webhook_worker is None and receiver.received == []

        settings = WebhookSettings(allow_private=frozenset({"loopback"}), poll_interval=0.05)
        app = create_app(
            engine=engine, clock=SystemClock(), webhook_worker=True, webhook_settings=settings
        )
        with TestClient(app):
            assert app.state.webhook_worker.running
            (got,) = receiver.wait_for(1)
            verify(got, hook.secret)
        assert not app.state.webhook_worker.running  # stopped with the app
    assert got.webhook_id == event_id
    assert [r.status for r in deliveries(engine)] == ["delivered"]


def start_worker(db_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEATLEDGER_DATABASE_URL": db_url,
        "SEATLEDGER_WEBHOOK_ALLOW_PRIVATE": "loopback",
        "SEATLEDGER_WEBHOOK_TIMEOUT": str(TIMEOUT),
        "SEATLEDGER_WEBHOOK_POLL_INTERVAL": "0.1",
        "SEATLEDGER_WEBHOOK_CONCURRENCY": "8",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "seatledger.entrypoints.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_worker_killed_mid_delivery_loses_nothing(db_url, engine, uow_factory, backend):
    """The first worker leases a round of deliveries and sends them to an
    endpoint that holds every request open; it is killed (SIGKILL) with the
    requests in flight. A second worker delivers everything: the killed round
    again once its leases run out, with the same webhook-ids."""
    holding = True
    with Receiver(lambda _id, _nth: HOLD if holding else 200) as receiver:
        hook = create_webhook_endpoint(
            uow_factory(), url=receiver.url, events=["user.created"], addresses=LOOPBACK, at=now()
        )
        event_ids = changes(uow_factory, EVENTS)

        first = start_worker(db_url)
        try:
            in_flight = receiver.wait_for(8, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert first.returncode == -signal.SIGKILL
        leased_when_killed = [r for r in deliveries(engine) if r.attempts == 1]
        assert len(leased_when_killed) == 8
        assert {r.status for r in deliveries(engine)} == {"pending"}  # none recorded

        holding = False
        receiver.release()
        killed_at = time.monotonic()
        second = start_worker(db_url)
        try:
            deadline = time.monotonic() + 60
            while any(r.status != "delivered" for r in deliveries(engine)):
                assert second.poll() is None, second.stderr.read().decode() if second.stderr else ""
                assert time.monotonic() < deadline, "not every delivery was made"
                time.sleep(0.1)
            recovered_after = time.monotonic() - killed_at
        finally:
            second.send_signal(signal.SIGTERM)  # a clean stop after its round
            second.wait(30)
        assert second.returncode == 0
        received = list(receiver.received)

    rows = deliveries(engine)
    for got in received:
        verify(got, hook.secret)
    by_id = Counter(r.webhook_id for r in received)
    assert set(by_id) == set(event_ids) == {r.event_id for r in rows}
    resent = {r.webhook_id for r in in_flight}
    assert {i for i, n in by_id.items() if n == 2} == resent  # the killed round, once more
    assert all(n == 1 for i, n in by_id.items() if i not in resent)
    attempts = Counter(r.attempts for r in rows)
    assert attempts == {1: EVENTS - 8, 2: 8}
    total = sum(r.attempts for r in rows)
    print(
        f"kill -9 ({backend}): {EVENTS} events, {total} attempts, {total - EVENTS} retried "
        f"after the kill ({len(received)} requests received, {len(received) - EVENTS} "
        f"duplicates with the same webhook-id), all delivered {recovered_after:.1f} s after "
        "the kill"
    )
