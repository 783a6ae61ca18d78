"""Webhook deliveries from the outbox, on SQLite and PostgreSQL, to a real HTTP
receiver in this process (tests/webhook_receiver.py), every signature checked
with the ``standardwebhooks`` library, never with the project's code.

Changes are recorded through a unit of work (``uow.record``), as every use case
does; the worker rounds run with a ``FixedClock`` (the worker's clock), which
starts at the real time so that the library's five-minute tolerance holds for
the first attempts; later ones are verified with the library's clock frozen at
the attempt's time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.webhook_receiver import HOLD, Receiver, verify

from seatledger.adapters.db import tables as t
from seatledger.adapters.webhook_sender import HttpxSender, WebhookAddresses
from seatledger.clock import FixedClock
from seatledger.domain.errors import InvalidInput
from seatledger.services import accounts
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.webhook_delivery import (
    attempt_delivery,
    deliver_due,
    lease_due,
    record_outcome,
)
from seatledger.services.webhook_endpoints import (
    create_webhook_endpoint,
    delete_webhook_endpoint,
)

Uow = Callable[[], UnitOfWork]
LOOPBACK = WebhookAddresses(frozenset({"loopback"}))
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
STEPS = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H]  # docs/webhooks.md


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_account(uow_factory: Uow, at: datetime) -> str:
    return accounts.create_account(uow_factory(), name="Hooks", currency="EUR", at=at).id


def record_changes(
    uow_factory: Uow, account_id: str, at: datetime, count: int = 1, type_: str = "user.created"
) -> None:
    """``count`` changes of ``type_`` in one transaction."""
    with uow_factory() as uow:
        uow.lock_account(account_id)
        for n in range(count):
            uow.record(
                type_,
                subject=f"user:usr_{n}",
                account_id=account_id,
                at=at,
                after={"id": f"usr_{n}", "email": f"u{n}@example.com"},
            )
        uow.commit()


def endpoint(uow_factory: Uow, url: str, at: datetime, **kwargs: Any) -> Any:
    kwargs.setdefault("events", ["user.created"])
    kwargs.setdefault("addresses", LOOPBACK)
    return create_webhook_endpoint(uow_factory(), url=url, at=at, **kwargs)


def deliveries(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(t.webhook_deliveries).order_by(t.webhook_deliveries.c.id)))


def run(uow_factory: Uow, clock: FixedClock, *, timeout: float = 5.0, limit: int = 8) -> Any:
    return deliver_due(
        uow_factory, sender=HttpxSender(LOOPBACK), clock=clock, timeout=timeout, limit=limit
    )


def test_a_change_is_delivered_once_signed_as_standard_webhooks_says(engine, uow_factory):
    clock = FixedClock(real_now())
    with Receiver() as receiver:
        hook = endpoint(uow_factory, receiver.url, clock.now())
        account_id = new_account(uow_factory, clock.now())
        record_changes(uow_factory, account_id, clock.now())

        done = run(uow_factory, clock)
        assert (done.attempted, done.delivered) == (1, 1)
        (got,) = receiver.received
        message = verify(got, hook.secret)  # the library's own check, real time
        assert run(uow_factory, clock).attempted == 0  # delivered: never sent again

    (row,) = deliveries(engine)
    assert got.path == "/hooks"
    assert got.headers["content-type"] == "application/json"
    assert got.webhook_id == row.event_id == message["data"]["event_id"]
    assert message["type"] == "user.created"
    assert message["data"]["account_id"] == account_id
    assert message["data"]["after"] == {"id": "usr_0", "email": "u0@example.com"}
    assert json.loads(row.payload) == message  # the outbox's body, byte for byte signed
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 204)
    assert row.delivered_at == clock.now() and row.next_attempt_at is None


def test_the_outbox_holds_what_each_endpoint_subscribes_to_in_the_change_transaction(
    engine, uow_factory
):
    at = real_now()
    a, b = new_account(uow_factory, at), new_account(uow_factory, at)
    every = endpoint(uow_factory, "http://127.0.0.1:9/all", at, events=["user.created"])
    only_b = endpoint(
        uow_factory, "http://127.0.0.1:9/b", at, events=["user.created"], account_id=b
    )
    endpoint(uow_factory, "http://127.0.0.1:9/paid", at, events=["invoice.paid"])

    record_changes(uow_factory, a, at)
    record_changes(uow_factory, b, at)
    record_changes(uow_factory, a, at, type_="user.updated")  # nobody subscribes
    with uow_factory() as uow:  # a change rolled back leaves no delivery either
        uow.lock_account(a)
        uow.record("user.created", subject="user:usr_x", account_id=a, at=at)

    rows = deliveries(engine)
    assert sorted((r.endpoint_id, json.loads(r.payload)["data"]["account_id"]) for r in rows) == (
        sorted([(every.id, a), (every.id, b), (only_b.id, b)])
    )
    assert {r.status for r in rows} == {"pending"} and {r.attempts for r in rows} == {0}


def test_a_500_is_retried_with_the_same_webhook_id_after_the_recorded_backoff(engine, uow_factory):
    clock = FixedClock(real_now())
    with Receiver(lambda _id, nth: 500 if nth == 1 else 200) as receiver:
        hook = endpoint(uow_factory, receiver.url, clock.now())
        record_changes(uow_factory, new_account(uow_factory, clock.now()), clock.now())

        assert run(uow_factory, clock).retrying == 1
        (row,) = deliveries(engine)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
        assert row.last_error == "answered 500"
        assert row.last_attempt_at == clock.now()
        wait = row.next_attempt_at - row.last_attempt_at
        assert timedelta(0) <= wait < STEPS[0]
        if wait > timedelta(0):
            assert run(uow_factory, clock).attempted == 0  # not due yet

        clock.set(row.next_attempt_at)
        assert run(uow_factory, clock).delivered == 1
        first, second = receiver.received
        for got in (first, second):
            verify(got, hook.secret)
    assert first.webhook_id == second.webhook_id == row.event_id
    assert first.body == second.body
    (row,) = deliveries(engine)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)


def test_a_delivery_that_never_succeeds_fails_after_about_three_days(engine, uow_factory):
    start = real_now()
    clock = FixedClock(start)
    with Receiver(lambda _id, _nth: 503) as receiver:
        hook = endpoint(uow_factory, receiver.url, start)
        record_changes(uow_factory, new_account(uow_factory, start), start)
        attempt_times = []
        while True:
            attempt_times.append(clock.now())
            assert run(uow_factory, clock).attempted == 1
            (row,) = deliveries(engine)
            if row.status != "pending":
                break
            assert row.next_attempt_at is not None
            clock.set(row.next_attempt_at)
        received = list(receiver.received)

    assert (row.status, row.next_attempt_at, row.last_status_code) == ("failed", None, 503)
    assert row.attempts == len(received) == len(attempt_times)
    assert {r.webhook_id for r in received} == {row.event_id}
    for got, at in zip(received, attempt_times, strict=True):
        assert got.timestamp == at.replace(microsecond=0)  # signed at its own time
        verify(got, hook.secret, at=at)
    waits = [b - a for a, b in zip(attempt_times, attempt_times[1:], strict=False)]
    for n, wait in enumerate(waits, start=1):
        assert wait < (STEPS[n - 1] if n <= len(STEPS) else 12 * H)
    span = attempt_times[-1] - attempt_times[0]
    assert timedelta(days=3) - 12 * H < span <= timedelta(days=3)
    print(f"failed after {row.attempts} attempts over {span}")


def test_no_answer_in_time_and_no_listener_are_failed_attempts_with_their_reason(
    engine, uow_factory
):
    clock = FixedClock(real_now())
    with Receiver(lambda _id, _nth: HOLD) as slow:
        endpoint(uow_factory, slow.url, clock.now())
        endpoint(uow_factory, "http://127.0.0.1:9/closed", clock.now())  # discard port: closed
        record_changes(uow_factory, new_account(uow_factory, clock.now()), clock.now())
        assert run(uow_factory, clock, timeout=0.5).retrying == 2
    errors = sorted(r.last_error for r in deliveries(engine))
    assert errors[0].startswith("could not connect"), errors
    assert errors[1] == "no answer within 0.5 s", errors
    assert {(r.status, r.attempts, r.last_status_code) for r in deliveries(engine)} == {
        ("pending", 1, None)
    }


class Resolver:
    """DNS for the test: each name's addresses, changeable (rebinding)."""

    def __init__(self, **names: str) -> None:
        self.names = {k.replace("_", "."): v for k, v in names.items()}

    def __call__(self, host: str, _port: int) -> list[str]:
        if host in self.names:
            return [self.names[host]]
        return [host]  # an address: itself


def test_an_address_is_checked_again_at_every_attempt_and_the_checked_one_is_used(
    engine, uow_factory
):
    clock = FixedClock(real_now())
    dns = Resolver(hooks_test="93.184.215.14")
    strict = WebhookAddresses(frozenset(), resolve=dns)
    with Receiver() as receiver:
        url = f"http://hooks.test:{receiver.port}/hooks"
        endpoint(uow_factory, url, clock.now(), addresses=strict)  # public when registered
        record_changes(uow_factory, new_account(uow_factory, clock.now()), clock.now())

        dns.names["hooks.test"] = "127.0.0.1"  # rebound to this machine
        done = deliver_due(uow_factory, sender=HttpxSender(strict), clock=clock, timeout=5, limit=8)
        assert done.retrying == 1 and receiver.received == []
        (row,) = deliveries(engine)
        assert row.last_error == (
            "refused: the host hooks.test resolves to 127.0.0.1, a loopback address "
            "(SEATLEDGER_WEBHOOK_ALLOW_PRIVATE=loopback allows it)"
        )

        # Allowed: the attempt goes to the address checked, the name kept as Host.
        clock.set(row.next_attempt_at)
        allowed = WebhookAddresses(frozenset({"loopback"}), resolve=dns)
        done = deliver_due(
            uow_factory, sender=HttpxSender(allowed), clock=clock, timeout=5, limit=8
        )
        assert done.delivered == 1
        (got,) = receiver.received
    assert got.headers["host"] == f"hooks.test:{receiver.port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://10.0.0.8/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "ftp://example.com/",
        "http:///hooks",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "https://example.com/" + "a" * 2000,
    ],
)
def test_an_endpoint_url_that_is_not_http_or_not_public_is_refused_and_nothing_written(
    engine, uow_factory, url
):
    with pytest.raises(InvalidInput) as refused:
        create_webhook_endpoint(
            uow_factory(),
            url=url,
            events=["user.created"],
            addresses=WebhookAddresses(frozenset()),
            at=real_now(),
        )
    assert refused.value.field == "url"
    with engine.connect() as conn:
        assert conn.execute(select(t.webhook_endpoints)).all() == []
        assert conn.execute(select(t.audit_events)).all() == []


def test_deleting_an_endpoint_stops_its_deliveries_and_both_are_audited_without_the_secret(
    engine, uow_factory
):
    clock = FixedClock(real_now())
    with Receiver() as receiver:
        hook = endpoint(uow_factory, receiver.url, clock.now())
        account_id = new_account(uow_factory, clock.now())
        record_changes(uow_factory, account_id, clock.now(), count=2)

        deleted = delete_webhook_endpoint(uow_factory(), endpoint_id=hook.id, at=clock.now())
        again = delete_webhook_endpoint(uow_factory(), endpoint_id=hook.id, at=clock.now())
        record_changes(uow_factory, account_id, clock.now())  # after: none for it
        assert run(uow_factory, clock).attempted == 0
        assert receiver.received == []
    assert deleted.deleted_at == again.deleted_at == clock.now()
    assert [(r.status, r.last_error) for r in deliveries(engine)] == [
        ("failed", "endpoint deleted")
    ] * 2
    with engine.connect() as conn:
        entries = conn.execute(
            select(t.audit_events)
            .where(t.audit_events.c.chain == "installation")
            .order_by(t.audit_events.c.position)
        ).all()
    assert [(e.type, e.account_id, e.subject) for e in entries] == [
        ("webhook_endpoint.created", None, f"webhook_endpoint:{hook.id}"),
        ("webhook_endpoint.deleted", None, f"webhook_endpoint:{hook.id}"),
    ]
    assert json.loads(entries[0].after)["url"] == receiver.url
    assert json.loads(entries[1].after)["deleted_at"] is not None
    for entry in entries:
        assert hook.secret not in f"{entry.before}{entry.after}"
        assert "secret" not in json.loads(entry.after)


def test_an_outcome_after_the_lease_was_taken_over_changes_nothing(engine, uow_factory):
    """A worker that outlived its lease (another took the delivery over and
    delivered it) does not overwrite what the other recorded."""
    clock = FixedClock(real_now())
    with Receiver() as receiver:
        endpoint(uow_factory, receiver.url, clock.now())
        record_changes(uow_factory, new_account(uow_factory, clock.now()), clock.now())
        (slow,) = lease_due(uow_factory(), now=clock.now(), timeout=1, limit=8)
        assert lease_due(uow_factory(), now=clock.now(), timeout=1, limit=8) == []  # held

        clock.advance(timedelta(seconds=7))  # past the lease: due again
        (fast,) = lease_due(uow_factory(), now=clock.now(), timeout=1, limit=8)
        assert (slow.id, slow.attempt, fast.attempt) == (fast.id, 1, 2)
        status = attempt_delivery(
            uow_factory, fast, sender=HttpxSender(LOOPBACK), clock=clock, timeout=5
        )
        assert status == "delivered"
    from seatledger.adapters.webhook_sender import Outcome

    record_outcome(uow_factory(), slow, Outcome(None, "no answer within 1 s"), at=clock.now())
    (row,) = deliveries(engine)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)


def test_workers_side_by_side_send_each_delivery_once(engine, uow_factory, backend):
    clock = FixedClock(real_now())
    with Receiver() as receiver:
        endpoint(uow_factory, receiver.url, clock.now())
        account_id = new_account(uow_factory, clock.now())
        record_changes(uow_factory, account_id, clock.now(), count=40)

        rounds: list[Any] = []

        def worker() -> None:
            while (done := run(uow_factory, clock, limit=4)).attempted:
                rounds.append(done)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ids = receiver.ids()
    assert len(ids) == len(set(ids)) == 40, (backend, len(ids), len(set(ids)))
    assert sum(r.delivered for r in rounds) == 40
    assert {(r.status, r.attempts) for r in deliveries(engine)} == {("delivered", 1)}


def test_an_attempt_made_from_a_thread_running_an_event_loop_is_delivered(engine, uow_factory):
    """A worker called where an event loop runs (an async host, a browser
    driver's loop left in the main thread) still sends: the attempt runs on a
    thread of its own, never failing with "asyncio.run() cannot be called from
    a running event loop"."""
    import asyncio

    clock = FixedClock(real_now())
    with Receiver() as receiver:
        endpoint(uow_factory, receiver.url, clock.now())
        record_changes(uow_factory, new_account(uow_factory, clock.now()), clock.now())

        (due,) = lease_due(uow_factory(), now=clock.now(), timeout=5, limit=8)

        async def inside_a_loop() -> str:
            return attempt_delivery(
                uow_factory, due, sender=HttpxSender(LOOPBACK), clock=clock, timeout=5
            )

        statuses: list[str] = []  # a thread of its own: whatever this one runs
        thread = threading.Thread(target=lambda: statuses.append(asyncio.run(inside_a_loop())))
        thread.start()
        thread.join(30)
        assert statuses == ["delivered"]
        assert len(receiver.received) == 1
    (row,) = deliveries(engine)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
