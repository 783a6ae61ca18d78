"""The audit log of the billing side (issue 10 part 1): accounts, contract
versions, workspaces and profiles, seat-change requests, pool capacities, billing
runs and clock moves, invoices and credit notes, through the services, on SQLite
and PostgreSQL.

Each change writes its entries in its own transaction: type, subject, actor
(the unit of work's: an operator's with its request id, or "system" for a
billing run nobody asked for), the account clock's time, before and after. A
refused change, a preview and a change of nothing write none. A billing run
writes its entries with a constant number of statements per account, however
many invoices it issues. Entries are read back as stored, never rebuilt by the
code under test."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from seatledger.domain.audit import SYSTEM, AuditEntry
from seatledger.domain.errors import InvalidInput, RuleRefusal
from seatledger.services import accounts, billing, credit_notes, invoices, seat_requests
from seatledger.services.audit import verify_audit
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # the real clock
CLOCK = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # the test-clock accounts' own time
OPERATOR = "operator:opk_test"
REQUEST_ID = "req_billing_1"

Uow = Callable[..., UnitOfWork]


@pytest.fixture
def uow(engine: Engine) -> Uow:
    """Units of work as the API makes them: an operator's, with a request id."""
    return lambda **kw: UnitOfWork(engine, actor=OPERATOR, request_id=REQUEST_ID, **kw)


def clock_account(uow: Uow, *, capacity: int = 5, interval: str = "month", **contract: Any) -> str:
    """A test-clock account reading CLOCK, with a contract from 1 January 2026."""
    account = accounts.create_account(
        uow(), name="Acme", currency="EUR", at=NOW, test_clock=True, clock_start=CLOCK
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval=interval,
        pools=[
            {"module": "console", "capacity": capacity, "policy": "block", "unit_price": "30.00"}
        ],
        at=NOW,
        actor=OPERATOR,
        **contract,
    )
    return account.id


def entries(uow: Uow, account_id: str, *, after: int = 0) -> list[AuditEntry]:
    with uow() as u:
        return u.audit_log.events(account_id, after=after, limit=10_000)


def head(uow: Uow, account_id: str) -> int:
    with uow() as u:
        return u.audit_log.heads(account_id)[account_id].position


def before_of(entry: AuditEntry) -> dict[str, Any]:
    assert entry.before is not None, entry
    return dict(json.loads(entry.before))


def after_of(entry: AuditEntry) -> dict[str, Any]:
    assert entry.after is not None, entry
    return dict(json.loads(entry.after))


def types(found: list[AuditEntry]) -> list[str]:
    return [e.type for e in found]


@pytest.fixture(autouse=True)
def _chains_stay_intact(engine: Engine) -> Iterator[None]:
    yield
    assert verify_audit(lambda **kw: UnitOfWork(engine, **kw)).breaks == []


# ------------------------------------------------------------------- accounts


def test_an_account_change_is_logged_with_before_and_after_and_a_change_of_nothing_is_not(uow):
    account_id = clock_account(uow)
    mark = head(uow, account_id)

    accounts.update_account(uow(), account_id=account_id, name="Acme GmbH", tax_rate="19", at=NOW)

    (entry,) = entries(uow, account_id, after=mark)
    assert (entry.type, entry.subject, entry.actor, entry.request_id) == (
        "account.updated",
        f"account:{account_id}",
        OPERATOR,
        REQUEST_ID,
    )
    assert entry.at == CLOCK  # the account's clock, not the real one
    assert (before_of(entry)["name"], before_of(entry)["tax_rate"]) == ("Acme", None)
    assert (after_of(entry)["name"], after_of(entry)["tax_rate"]) == ("Acme GmbH", "19")

    accounts.update_account(uow(), account_id=account_id, name="Acme GmbH", at=NOW)
    with pytest.raises(InvalidInput):
        accounts.update_account(uow(), account_id=account_id, locale="xx_NOPE", at=NOW)
    assert head(uow, account_id) == mark + 1


def test_a_contract_version_and_its_pools_capacity_workspaces_and_profiles_are_logged(uow):
    account_id = clock_account(uow)
    created, version, capacity = entries(uow, account_id)
    assert types([created, version, capacity]) == [
        "account.created",
        "contract.created",
        "pool.capacity_changed",
    ]
    assert version.subject.startswith("contract:ctr_") and after_of(version)["version"] == 1
    assert after_of(version)["pools"][0]["unit_price"] == "30.00"
    assert capacity.subject.startswith("pool:pool_")
    assert (before_of(capacity)["capacity"], after_of(capacity)["capacity"]) == (0, 5)
    assert after_of(capacity)["cause"] == "contract"
    # back-dated to 1 January, recorded at the account's time
    assert {e.at for e in (version, capacity)} == {CLOCK}
    assert {e.actor for e in (version, capacity)} == {OPERATOR}

    accounts.create_workspace(uow(), account_id=account_id, name="Sales", at=NOW)
    accounts.create_profile(
        uow(), account_id=account_id, name="Console", modules=["console"], at=NOW
    )
    workspace, profile = entries(uow, account_id, after=3)
    assert (workspace.type, after_of(workspace)["name"], workspace.at) == (
        "workspace.created",
        "Sales",
        CLOCK,
    )
    assert (profile.type, after_of(profile)["modules"]) == ("profile.created", ["console"])
    assert workspace.subject == f"workspace:{after_of(workspace)['id']}"


def test_a_later_version_is_logged_when_recorded_and_its_capacity_when_the_clock_reaches_it(uow):
    account_id = clock_account(uow)
    accounts.create_contract(
        uow(),
        account_id=account_id,
        start_date=date(2026, 4, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 8, "policy": "block", "unit_price": "30.00"}],
        at=NOW,
        actor=OPERATOR,
    )
    (version,) = entries(uow, account_id, after=3)
    assert (version.type, after_of(version)["version"]) == ("contract.created", 2)

    issued = billing.advance_clock(
        uow(), account_id=account_id, to=datetime(2026, 4, 15, tzinfo=UTC)
    )

    moved = entries(uow, account_id, after=4)
    (capacity,) = [e for e in moved if e.type == "pool.capacity_changed"]
    assert (before_of(capacity)["capacity"], after_of(capacity)["capacity"]) == (5, 8)
    assert capacity.at == datetime(2026, 4, 1, tzinfo=UTC)  # when the version took effect
    documents = [e for e in moved if e.type == "invoice.issued"]
    assert [e.subject for e in documents] == [f"invoice:{d.id}" for d in issued]
    assert [e.at for e in documents] == [d.issued_at for d in issued]
    assert [after_of(e)["number"] for e in documents] == [d.number for d in issued]
    clock = moved[-1]
    assert clock.type == "account.clock_moved" and clock.at == datetime(2026, 4, 15, tzinfo=UTC)
    assert before_of(clock)["clock_now"] == CLOCK.isoformat()
    assert after_of(clock)["clock_now"] == "2026-04-15T00:00:00+00:00"
    assert {e.actor for e in moved} == {OPERATOR}  # a clock move an operator asked for
    assert {e.request_id for e in moved} == {REQUEST_ID}


# --------------------------------------------------------------- seat requests


def test_an_automatic_increase_is_requested_applied_and_charged(uow):
    account_id = clock_account(uow)
    mark = head(uow, account_id)

    result = seat_requests.request_seat_change(
        uow(), account_id=account_id, module="console", target_capacity=8, at=NOW, actor=OPERATOR
    )

    found = entries(uow, account_id, after=mark)
    assert types(found) == [
        "seat_change.requested",
        "pool.capacity_changed",
        "seat_change.applied",
        "invoice.issued",
    ]
    requested, capacity, applied, invoice = found
    subject = f"seat_request:{result.request.id}"
    assert requested.subject == applied.subject == subject
    assert (after_of(requested)["target_capacity"], after_of(applied)["status"]) == (8, "applied")
    assert (before_of(capacity)["capacity"], after_of(capacity)["capacity"]) == (5, 8)
    assert (after_of(capacity)["cause"], after_of(capacity)["purchased"]) == (
        "seat_request",
        True,
    )
    assert after_of(invoice)["kind"] == "ad_hoc"
    assert {e.at for e in found} == {CLOCK}


def test_an_increase_approved_by_an_operator_is_logged_as_requested_approved_and_applied(uow):
    account_id = clock_account(uow, increase_approval="operator")
    mark = head(uow, account_id)
    asked = seat_requests.request_seat_change(
        uow(), account_id=account_id, module="console", target_capacity=7, at=NOW, actor="user:u"
    ).request
    (requested,) = entries(uow, account_id, after=mark)
    assert (requested.type, after_of(requested)["status"]) == ("seat_change.requested", "pending")

    seat_requests.approve_seat_request(uow(), request_id=asked.id, at=NOW, actor=OPERATOR)

    found = entries(uow, account_id, after=mark + 1)
    assert types(found) == [
        "seat_change.approved",
        "pool.capacity_changed",
        "seat_change.applied",
        "invoice.issued",
    ]
    approved, _, applied, _ = found
    assert before_of(approved)["status"] == "pending" and before_of(approved)["decided_at"] is None
    assert after_of(approved)["status"] == after_of(applied)["status"] == "applied"


def test_a_decrease_scheduled_for_the_renewal_is_applied_by_the_billing_run_as_system(
    engine: Engine, uow
):
    """A real-clock account: the run that reaches the renewal is nobody's request."""
    account = accounts.create_account(uow(), name="Real", currency="EUR", at=NOW)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="year",
        pools=[{"module": "console", "capacity": 5, "policy": "block", "unit_price": "120.00"}],
        at=NOW,
        actor=OPERATOR,
    )
    asked = seat_requests.request_seat_change(
        uow(), account_id=account.id, module="console", target_capacity=3, at=NOW, actor=OPERATOR
    ).request
    seat_requests.approve_seat_request(
        uow(), request_id=asked.id, at=NOW, actor=OPERATOR, effective="renewal"
    )
    approved = entries(uow, account.id)[-1]
    assert (approved.type, after_of(approved)["status"]) == ("seat_change.approved", "scheduled")
    mark = head(uow, account.id)

    renewal = datetime(2027, 1, 1, tzinfo=UTC)
    run = billing.run_billing(lambda: UnitOfWork(engine), as_of=renewal, now=renewal)

    found = entries(uow, account.id, after=mark)
    (capacity,) = [e for e in found if e.type == "pool.capacity_changed"]
    (applied,) = [e for e in found if e.type.startswith("seat_change.")]
    assert found.index(capacity) < found.index(applied)
    assert (before_of(capacity)["capacity"], after_of(capacity)["capacity"]) == (5, 3)
    assert after_of(capacity)["cause"] == "renewal"
    assert applied.type == "seat_change.applied" and applied.at == renewal
    assert (before_of(applied)["status"], after_of(applied)["status"]) == ("scheduled", "applied")
    issued = [e for e in found if e.type == "invoice.issued"]
    with UnitOfWork(engine) as u:
        stored = {d.id: d.number for d in u.invoices.all_for(account.id)}
    assert len(issued) == run.invoices_issued
    assert [after_of(e)["number"] for e in issued] == [stored[after_of(e)["id"]] for e in issued]
    assert {(e.actor, e.request_id) for e in found} == {(SYSTEM, None)}


def test_a_scheduled_decrease_the_renewal_refuses_is_logged_rejected_with_the_reason(uow):
    account_id = clock_account(uow, capacity=10, interval="year")
    to_eight = seat_requests.request_seat_change(
        uow(), account_id=account_id, module="console", target_capacity=8, at=NOW, actor=OPERATOR
    ).request
    seat_requests.approve_seat_request(
        uow(), request_id=to_eight.id, at=NOW, actor=OPERATOR, effective="renewal"
    )
    to_six = seat_requests.request_seat_change(
        uow(), account_id=account_id, module="console", target_capacity=6, at=NOW, actor=OPERATOR
    ).request
    seat_requests.approve_seat_request(
        uow(), request_id=to_six.id, at=NOW, actor=OPERATOR, effective="now"
    )
    mark = head(uow, account_id)

    billing.advance_clock(uow(), account_id=account_id, to=datetime(2027, 1, 1, tzinfo=UTC))

    (rejected,) = [e for e in entries(uow, account_id, after=mark) if e.type.startswith("seat_")]
    assert (rejected.type, rejected.subject) == (
        "seat_change.rejected",
        f"seat_request:{to_eight.id}",
    )
    assert before_of(rejected)["status"] == "scheduled"
    assert "no longer decreases" in after_of(rejected)["reason"]


def test_a_rejection_is_logged_with_its_reason_and_a_preview_or_a_refusal_writes_nothing(uow):
    account_id = clock_account(uow)
    asked = seat_requests.request_seat_change(
        uow(), account_id=account_id, module="console", target_capacity=3, at=NOW, actor=OPERATOR
    ).request
    mark = head(uow, account_id)

    seat_requests.reject_seat_request(
        uow(), request_id=asked.id, reason="  not this quarter ", at=NOW, actor=OPERATOR
    )

    (rejected,) = entries(uow, account_id, after=mark)
    assert rejected.type == "seat_change.rejected" and rejected.at == CLOCK
    assert before_of(rejected)["status"] == "pending"
    assert (after_of(rejected)["status"], after_of(rejected)["reason"]) == (
        "rejected",
        "not this quarter",
    )

    seat_requests.request_seat_change(
        uow(),
        account_id=account_id,
        module="console",
        target_capacity=9,
        at=NOW,
        actor=OPERATOR,
        preview=True,
    )
    with pytest.raises((InvalidInput, RuleRefusal)):
        seat_requests.request_seat_change(
            uow(), account_id=account_id, module="console", target_capacity=-1, at=NOW, actor="x"
        )
    assert head(uow, account_id) == mark + 1


# ------------------------------------------------------------------ documents


def test_invoices_paid_voided_and_credited_are_logged(uow):
    account_id = clock_account(uow)
    moved = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    first, second, *_ = billing.advance_clock(uow(), account_id=account_id, to=moved)
    mark = head(uow, account_id)

    invoices.mark_paid(uow(), invoice_id=first.id, at=NOW)
    invoices.void_invoice(uow(), invoice_id=second.id, reason="sent twice", at=NOW)
    third = billing.advance_clock(
        uow(), account_id=account_id, to=datetime(2026, 4, 1, tzinfo=UTC)
    )[0]
    mark_after_move = head(uow, account_id)
    note = credit_notes.create_credit_note(
        uow(), invoice_id=third.id, reason="one seat unused", amount="10.00", at=NOW
    )

    paid, voided = entries(uow, account_id, after=mark)[:2]
    assert (paid.type, paid.subject, paid.at) == ("invoice.paid", f"invoice:{first.id}", moved)
    assert (before_of(paid)["status"], after_of(paid)["status"]) == ("issued", "paid")
    assert (voided.type, after_of(voided)["status"], after_of(voided)["reason"]) == (
        "invoice.voided",
        "void",
        "sent twice",
    )
    (credited,) = entries(uow, account_id, after=mark_after_move)
    assert (credited.type, credited.subject) == ("credit_note.issued", f"credit_note:{note.id}")
    assert after_of(credited)["credited_invoice_id"] == third.id
    assert credited.at == datetime(2026, 4, 1, tzinfo=UTC)  # the clock as it reads now
    assert {e.actor for e in (paid, voided, credited)} == {OPERATOR}


# --------------------------------------------------------- the cost of the log


@contextmanager
def statements_per_account(engine: Engine) -> Iterator[tuple[Callable[[str, int], None], dict]]:
    """Counts the statements a billing run sends, per account (``on_account``)."""
    buckets: dict[str, Counter[str]] = {}
    current: Counter[str] = Counter()

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        text_ = " ".join(sql.split()).lower()
        current["all"] += 1
        if "audit_" in text_ or "webhook_endpoints" in text_ or "pg_notify" in text_:
            current["audit"] += 1
        if text_.startswith("insert into audit_events"):
            current["audit inserts"] += 1

    def on_account(account_id: str, issued: int) -> None:
        nonlocal current
        buckets[account_id] = current + Counter(invoices=issued)
        current = Counter()

    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield on_account, buckets
    finally:
        event.remove(engine, "before_cursor_execute", statement)


def test_a_billing_run_logs_every_invoice_of_a_batch_in_a_constant_number_of_statements(
    engine: Engine, uow, backend: str
):
    def real(start: date) -> str:
        account = accounts.create_account(uow(), name="Real", currency="EUR", at=NOW)
        accounts.create_contract(
            uow(),
            account_id=account.id,
            start_date=start,
            billing_interval="month",
            pools=[{"module": "console", "capacity": 2, "policy": "block", "unit_price": "9.00"}],
            at=NOW,
            actor=OPERATOR,
        )
        return account.id

    one, six = real(date(2026, 6, 1)), real(date(2026, 1, 1))
    with statements_per_account(engine) as (on_account, counted):
        run = billing.run_billing(
            lambda: UnitOfWork(engine), as_of=NOW, now=NOW, on_account=on_account
        )
        on_account("the batch's end", 0)

    assert run.batches_total == 1  # both accounts in one batch, one transaction
    assert (counted[one]["invoices"], counted[six]["invoices"]) == (1, 6)
    # the log is written once for the batch, whatever its accounts and invoices:
    # the heads moved, the entries in one insert, the heads' hashes, the webhook
    # endpoints read (and on PostgreSQL the notifications, in one statement)
    at_end = counted["the batch's end"]
    assert counted[one]["audit"] == counted[six]["audit"] == 0
    assert at_end["audit"] <= (5 if backend == "postgres" else 4)
    assert at_end["audit inserts"] == 1
    issued = [e for e in entries(uow, six) if e.type == "invoice.issued"]
    assert len(issued) == 6 and {e.actor for e in issued} == {SYSTEM}
