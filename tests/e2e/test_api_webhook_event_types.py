"""Every webhook event type reaches a real receiver from a running
``seatledger serve`` process (issue 10).

The ``api`` fixture of tests/e2e/conftest.py serves ``create_app`` without its
webhook worker (``webhook_worker=False``: tests run the rounds themselves), so
this test starts a ``seatledger serve`` subprocess on the test's database
(SQLite file or PostgreSQL) the way the other cross-process tests do: the
delivery worker that sends here is the one ``serve`` runs beside the API, on
the real clock, with SEATLEDGER_WEBHOOK_ALLOW_PRIVATE=loopback so that it may
reach the receiver on 127.0.0.1. Nothing in the test process delivers.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest
from tests.e2e.conftest import DEFAULT_NOW, Api
from tests.e2e.test_api_events_across_processes import _stop
from tests.e2e.test_api_tokens_across_processes import _serve, _wait_until_up
from tests.e2e.test_api_webhooks import (  # loopback_allowed: a fixture, asked for by name
    deliveries,
    loopback_allowed,  # noqa: F401
    payload_schema,
    register,
)
from tests.webhook_receiver import Receiver, verify

from seatledger.clock import FixedClock
from seatledger.domain.audit import WEBHOOK_EVENT_TYPES


@pytest.fixture
def served(
    request: pytest.FixtureRequest, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """A ``seatledger serve`` process on the test's database, as an ``Api``
    (its helpers; the process keeps its own real clock, ``clock`` is not it)."""
    request.getfixturevalue("loopback_allowed")  # before the process reads its environment
    monkeypatch.setenv("SEATLEDGER_WEBHOOK_POLL_INTERVAL", "0.2")
    key = "slop_" + secrets.token_urlsafe(32)
    process, url = _serve(db_url, key)
    try:
        _wait_until_up(process, url)
        running = Api(url=url, clock=FixedClock(DEFAULT_NOW), key=key)
        try:
            yield running
        finally:
            running.close()
    finally:
        _stop(process)
    assert not running.server_errors, "the server answered 5xx:\n" + "\n".join(
        running.server_errors
    )


def test_every_event_type_is_delivered_signed_by_the_worker_of_seatledger_serve(served):
    """One change of each of the 17 types through the HTTP API of a running
    ``seatledger serve``; its own webhook worker sends every one to the receiver:
    each message verifies with the standardwebhooks library, matches its OpenAPI
    schema and the account's audit entry, and carries an id of its own."""
    api = served
    document = api.ok(api.anonymous.get("/openapi.json"))
    account_id = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")["id"]
    base = f"/v1/accounts/{account_id}"
    with Receiver() as receiver:
        hook = register(api, receiver.url, list(WEBHOOK_EVENT_TYPES), account_id=account_id)

        # contract.created: a `block` pool of 2 seats, increases approved by an operator
        contract = api.create_contract(
            account_id, [api.terms("console", 2, policy="block")], increase_approval="operator"
        )
        # user.created + seat.taken; Bob takes the last seat: seat.limit_reached
        ada = api.create_user(account_id, "ada@example.com")
        bob = api.create_user(account_id, "bob@example.com", first_name="Bob")
        # user.updated
        api.ok(api.client.patch(f"{base}/users/{ada['id']}", json={"first_name": "Augusta"}))
        # user.deactivated + seat.released; user.activated + seat.taken + seat.limit_reached
        api.ok(api.client.post(f"{base}/users/{ada['id']}/deactivate"))
        api.ok(api.client.post(f"{base}/users/{ada['id']}/activate"))
        # user.deleted + seat.released
        api.ok(api.client.delete(f"{base}/users/{bob['id']}"))
        # seat_change.requested, then .approved and .applied (an increase approved now),
        # which charges the seat at once (invoice.issued)
        increase = {"module": "console", "target_capacity": 3}
        approved = api.ok(api.client.post(f"{base}/seat-requests", json=increase), 201)
        assert approved["status"] == "pending"
        applied = api.ok(api.client.post(f"/v1/seat-requests/{approved['id']}/approve"))
        assert applied["status"] == "applied"
        # seat_change.requested, then .rejected
        increase = {"module": "console", "target_capacity": 4}
        rejected = api.ok(api.client.post(f"{base}/seat-requests", json=increase), 201)
        api.ok(api.client.post(f"/v1/seat-requests/{rejected['id']}/reject", json={"reason": "no"}))
        # invoice.issued: the test clock moved to 1 February (January's and February's)
        moved = api.ok(api.client.post(f"{base}/clock", json={"now": "2026-02-01T00:00:00Z"}))
        paid, voided = (i for i in moved["invoices"] if i["type"] == "invoice")
        # credit_note.issued, invoice.paid, invoice.voided
        note = api.ok(
            api.client.post(
                f"/v1/invoices/{paid['id']}/credit-notes",
                json={"amount": "1.00", "reason": "one day unused"},
            ),
            201,
        )
        api.ok(api.client.post(f"/v1/invoices/{paid['id']}/mark-paid"))
        api.ok(api.client.post(f"/v1/invoices/{voided['id']}/void", json={"reason": "wrong"}))

        # The account's audit log of the webhook types: one message each is due.
        logged = api.ok(
            api.client.get(
                f"{base}/events", params={"type": list(WEBHOOK_EVENT_TYPES), "limit": 500}
            )
        )["data"]
        got = receiver.wait_for(len(logged), timeout=30)
        documents = api.ok(api.client.get(f"{base}/invoices", params={"limit": 500}))["data"]
        # the receiver answered the last ones a moment before the worker records them
        deadline = time.monotonic() + 10
        sent = deliveries(api, hook["id"], limit=500)
        while any(d["status"] == "pending" for d in sent):
            assert time.monotonic() < deadline, [d for d in sent if d["status"] == "pending"]
            time.sleep(0.05)
            sent = deliveries(api, hook["id"], limit=500)

    messages = [verify(g, hook["secret"]) for g in got]  # every one, by the library
    for g, message in zip(got, messages, strict=True):
        payload_schema(document, message["type"]).validate(json.loads(g.body))
    assert {m["type"] for m in messages} == set(WEBHOOK_EVENT_TYPES)
    ids = [g.webhook_id for g in got]
    assert len(set(ids)) == len(ids) == len(logged), Counter(ids).most_common(3)
    assert ids == [m["data"]["event_id"] for m in messages]

    # Each message is its audit entry, as the log keeps it.
    entries = {e["id"]: e for e in logged}
    assert set(ids) == set(entries)
    for message in messages:
        entry = entries[message["data"]["event_id"]]
        assert message["type"] == entry["type"]
        assert datetime.fromisoformat(message["timestamp"]) == datetime.fromisoformat(entry["at"])
        assert message["data"] == {
            "event_id": entry["id"],
            "account_id": account_id,
            **{k: entry[k] for k in ("position", "actor", "subject", "before", "after")},
            "request_id": entry["request_id"],
        }

    # ... and names what the requests changed.
    seat_a, seat_b = f"seat:{ada['id']}:console", f"seat:{bob['id']}:console"
    issued = [d["id"] for d in documents if d["type"] == "invoice"]
    assert {paid["id"], voided["id"]} < set(issued) and len(issued) == 3  # + the seat bought
    expected = Counter(
        {
            ("contract.created", f"contract:{contract['id']}"): 1,
            ("user.created", f"user:{ada['id']}"): 1,
            ("user.created", f"user:{bob['id']}"): 1,
            ("user.updated", f"user:{ada['id']}"): 1,
            ("user.deactivated", f"user:{ada['id']}"): 1,
            ("user.activated", f"user:{ada['id']}"): 1,
            ("user.deleted", f"user:{bob['id']}"): 1,
            ("seat.taken", seat_a): 2,
            ("seat.taken", seat_b): 1,
            ("seat.released", seat_a): 1,
            ("seat.released", seat_b): 1,
            ("seat_change.requested", f"seat_request:{approved['id']}"): 1,
            ("seat_change.requested", f"seat_request:{rejected['id']}"): 1,
            ("seat_change.approved", f"seat_request:{approved['id']}"): 1,
            ("seat_change.applied", f"seat_request:{approved['id']}"): 1,
            ("seat_change.rejected", f"seat_request:{rejected['id']}"): 1,
            **{("invoice.issued", f"invoice:{i}"): 1 for i in issued},
            ("invoice.paid", f"invoice:{paid['id']}"): 1,
            ("invoice.voided", f"invoice:{voided['id']}"): 1,
            ("credit_note.issued", f"credit_note:{note['id']}"): 1,
        }
    )
    limits = [m["data"] for m in messages if m["type"] == "seat.limit_reached"]
    received = Counter(
        (m["type"], m["data"]["subject"]) for m in messages if m["type"] != "seat.limit_reached"
    )
    assert received == expected
    # the pool filled twice: Bob took its last seat, then Ada (activated again) did
    assert sorted(d["after"]["user_id"] for d in limits) == sorted([ada["id"], bob["id"]])
    for data in limits:
        assert data["subject"] == f"pool:{data['after']['pool_id']}"
        assert (data["after"]["module"], data["after"]["in_use"], data["after"]["capacity"]) == (
            "console",
            2,
            2,
        )
    by_type = {m["type"]: m["data"] for m in messages}
    assert by_type["user.updated"]["after"]["first_name"] == "Augusta"
    assert by_type["user.updated"]["before"]["first_name"] == "Ada"
    assert by_type["seat_change.rejected"]["after"]["status"] == "rejected"
    assert by_type["invoice.paid"]["after"]["status"] == "paid"
    assert by_type["invoice.voided"]["after"]["status"] == "void"
    assert by_type["credit_note.issued"]["after"]["id"] == note["id"]

    # The server's deliveries say the same: each delivered once, at the first attempt.
    assert sorted(d["event_id"] for d in sent) == sorted(ids)
    assert {(d["status"], d["attempts"]) for d in sent} == {("delivered", 1)}
