"""Credit notes through the services (PRODUCT.md §5), on SQLite and PostgreSQL:
numbering, storage, what is left of an invoice, refusals that store nothing,
concurrent credits, and the database refusing to change an issued document."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import Conflict, InvalidInput, NotFound
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services import accounts, billing, credit_notes, invoices
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
START = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
REAL_NOW = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)
OPERATOR = "operator:test"
D = Decimal


def _contract(uow: Uow, account_id: str) -> None:
    accounts.create_contract(
        uow(),
        account_id=account_id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 5, "unit_price": "30.00", "policy": "block"}],
        at=START,
        actor=OPERATOR,
    )


def clock_account_with_invoices(uow: Uow) -> tuple[str, list[IssuedInvoice]]:
    """A test-clock account at 20 % tax, moved to 1 February: two period
    invoices of 5 × 30.00 + 20 % = 180.00."""
    account = accounts.create_account(
        uow(),
        name="Acme",
        currency="EUR",
        tax_rate="20",
        test_clock=True,
        clock_start=START,
        at=START,
    )
    _contract(uow, account.id)
    issued = billing.advance_clock(uow(), account_id=account.id, to=FEB)
    return account.id, issued


def credit(
    uow: Uow,
    invoice_id: str,
    *,
    reason: str = "goodwill",
    at: datetime = REAL_NOW,
    **kwargs: object,
) -> IssuedInvoice:
    return credit_notes.create_credit_note(
        uow(), invoice_id=invoice_id, reason=reason, at=at, **kwargs
    )  # type: ignore[arg-type]


def stored(uow: Uow, account_id: str) -> list[IssuedInvoice]:
    with uow() as u:
        return u.invoices.all_for(account_id)


def test_a_gross_credit_is_numbered_stored_and_issued_on_the_account_clock(
    uow_factory: Uow,
) -> None:
    account_id, issued = clock_account_with_invoices(uow_factory)
    assert [i.total for i in issued] == [D("180.00"), D("180.00")]
    inv = issued[0]

    note = credit(uow_factory, inv.id, amount="60.00", reason="  seat never used  ")

    assert note.number == "TEST-CN-2026-000001"
    assert (note.type, note.kind, note.status) == ("credit_note", "ad_hoc", "issued")
    assert note.issued_at == FEB, "issued at the account's (test) clock, not the real one"
    assert note.credited_invoice_id == inv.id and note.reason == "seat never used"
    assert note.key.startswith("credit:")
    assert [(ln.kind, ln.amount) for ln in note.lines] == [
        ("credit", D("50.00")),
        ("tax", D("10.00")),
    ]
    assert (note.subtotal, note.tax, note.total) == (D("50.00"), D("10.00"), D("60.00"))
    assert (note.period_start, note.period_end) == (inv.period_start, inv.period_end)

    reread = invoices.get_invoice(uow_factory(), invoice_id=note.id)
    assert reread == note
    assert reread.total == D("60.00") and reread.lines == note.lines
    # the invoice itself never changes
    assert invoices.get_invoice(uow_factory(), invoice_id=inv.id) == inv
    assert sorted(i.number for i in stored(uow_factory, account_id)) == [
        "TEST-CN-2026-000001",
        "TEST-INV-2026-000001",
        "TEST-INV-2026-000002",
    ]


def test_credits_never_exceed_what_is_left_and_a_refusal_consumes_no_number(
    uow_factory: Uow,
) -> None:
    account_id, issued = clock_account_with_invoices(uow_factory)
    inv = issued[1]
    first = credit(uow_factory, inv.id, amount="100.00")
    second = credit(uow_factory, inv.id, lines=[{"description": "Seat fix", "amount": "50.00"}])
    assert [(ln.kind, ln.amount) for ln in second.lines] == [
        ("credit", D("50.00")),
        ("tax", D("10.00")),
    ]
    assert (first.number, second.number) == ("TEST-CN-2026-000001", "TEST-CN-2026-000002")
    # 180.00 − 100.00 − 60.00 = 20.00 left
    with pytest.raises(InvalidInput) as refused:
        credit(uow_factory, inv.id, amount="20.01")
    assert refused.value.field == "amount" and refused.value.extra["remaining"] == "20.00"
    with pytest.raises(InvalidInput) as refused_lines:
        credit(uow_factory, inv.id, lines=[{"description": "x", "amount": "16.68"}])
    assert refused_lines.value.field == "lines"  # 16.68 + 3.34 tax = 20.02 > 20.00

    last = credit(uow_factory, inv.id, amount="20.00")
    assert last.number == "TEST-CN-2026-000003", "gapless: the refusals took no number"
    with pytest.raises(InvalidInput):
        credit(uow_factory, inv.id, amount="0.01")
    with uow_factory() as u:
        assert u.invoices.credited_total(inv.id) == D("180.00")
    assert len(stored(uow_factory, account_id)) == 5


def test_refusals_store_nothing(uow_factory: Uow) -> None:
    account_id, issued = clock_account_with_invoices(uow_factory)
    inv = issued[0]
    note = credit(uow_factory, inv.id, amount="1.00")
    before = stored(uow_factory, account_id)

    with pytest.raises(Conflict):  # a credit note is not creditable
        credit(uow_factory, note.id, amount="1.00")
    with pytest.raises(NotFound):
        credit(uow_factory, "inv_doesnotexist", amount="1.00")
    for bad in ("0", "0.00", "1.001", "-1.00", "abc"):
        with pytest.raises(InvalidInput) as refused:
            credit(uow_factory, inv.id, amount=bad)
        assert refused.value.field == "amount"
    with pytest.raises(InvalidInput) as no_reason:
        credit(uow_factory, inv.id, amount="1.00", reason=" ")
    assert no_reason.value.field == "reason"

    other = issued[1]
    invoices.void_invoice(uow_factory(), invoice_id=other.id, reason="issued in error", at=FEB)
    with pytest.raises(Conflict):  # a void invoice cannot be credited
        credit(uow_factory, other.id, amount="1.00")

    after = stored(uow_factory, account_id)
    assert [(i.id, i.total, i.lines) for i in after] == [(i.id, i.total, i.lines) for i in before]


def test_a_credit_note_beyond_twenty_lines_or_its_text_bounds_is_refused_naming_the_field(
    uow_factory: Uow,
) -> None:
    # issue 6, item 7: 100 long lines in Hebrew and emoji took 55 s per PDF
    account_id, issued = clock_account_with_invoices(uow_factory)
    inv = issued[0]
    text = ("שלום 👋🏽 " * 40)[:200]
    short = {"description": "x", "amount": "1.00"}
    too_long = {"description": text + "!", "amount": "1.00"}
    before = stored(uow_factory, account_id)

    for field, kwargs in [
        ("lines", {"lines": [short] * 21}),
        ("lines[3].description", {"lines": [short] * 3 + [too_long]}),
        ("reason", {"amount": "1.00", "reason": "ר" * 501}),
    ]:
        with pytest.raises(InvalidInput) as refused:
            credit(uow_factory, inv.id, **kwargs)
        assert refused.value.field == field
    assert stored(uow_factory, account_id) == before

    # the longest note allowed: 20 lines of 200 characters, a reason of 500
    note = credit(
        uow_factory,
        inv.id,
        lines=[{"description": text, "amount": "1.00"}] * 20,
        reason="ר" * 500,
    )
    assert [ln.kind for ln in note.lines] == ["credit"] * 20 + ["tax"] * 20
    assert note.total == D("24.00")  # 20 × (1.00 + 20 % tax)


def test_an_invoice_with_credit_notes_cannot_be_voided_but_can_be_paid(uow_factory: Uow) -> None:
    _, issued = clock_account_with_invoices(uow_factory)
    inv = issued[0]
    credit(uow_factory, inv.id, amount="1.00")
    with pytest.raises(Conflict):
        invoices.void_invoice(uow_factory(), invoice_id=inv.id, reason="issued in error", at=FEB)
    assert invoices.mark_paid(uow_factory(), invoice_id=inv.id, at=FEB).status == "paid"
    # a paid invoice may still be credited
    assert credit(uow_factory, inv.id, amount="2.00").total == D("2.00")


def test_real_clock_accounts_use_the_live_sequence(uow_factory: Uow) -> None:
    live = accounts.create_account(
        uow_factory(), name="Live", currency="EUR", tax_rate="20", at=START
    )
    _contract(uow_factory, live.id)
    billing.run_billing(uow_factory, as_of=FEB, now=REAL_NOW)
    with uow_factory() as u:
        numbers = [d.number for d in u.invoices.all_for(live.id)]
    assert numbers == ["INV-2026-000001", "INV-2026-000002"]
    _, test_issued = clock_account_with_invoices(uow_factory)

    test_note = credit(uow_factory, test_issued[0].id, amount="5.00")
    live_invoice = stored(uow_factory, live.id)[0]
    live_note = credit(uow_factory, live_invoice.id, amount="5.00")

    assert test_note.number == "TEST-CN-2026-000001"
    assert live_note.number == "CN-2026-000001", "test clocks never consume live numbers"
    assert live_note.issued_at == REAL_NOW


def test_concurrent_credits_never_together_exceed_the_invoice(uow_factory: Uow) -> None:
    _, issued = clock_account_with_invoices(uow_factory)
    inv = issued[0]  # 180.00
    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(credit(uow_factory, inv.id, amount="60.00"))
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    notes = [o for o in outcomes if isinstance(o, IssuedInvoice)]
    refusals = [o for o in outcomes if not isinstance(o, IssuedInvoice)]
    assert len(notes) == 3 and len(refusals) == 1, outcomes
    assert isinstance(refusals[0], InvalidInput) and refusals[0].field == "amount"
    assert sorted(n.number for n in notes) == [
        "TEST-CN-2026-000001",
        "TEST-CN-2026-000002",
        "TEST-CN-2026-000003",
    ]
    with uow_factory() as u:
        assert u.invoices.credited_total(inv.id) == D("180.00")


@pytest.mark.parametrize("column", ["total", "subtotal", "tax"])
def test_the_database_refuses_to_change_an_issued_amount(uow_factory: Uow, column: str) -> None:
    _, issued = clock_account_with_invoices(uow_factory)
    note = credit(uow_factory, issued[0].id, amount="60.00")
    for doc in (issued[0], note):
        with pytest.raises(DBAPIError), uow_factory() as u:
            u.conn.execute(
                update(t.invoices).where(t.invoices.c.id == doc.id).values({column: D("0.01")})
            )
            u.commit()
        with pytest.raises(DBAPIError), uow_factory() as u:
            u.conn.execute(
                update(t.invoice_lines)
                .where(t.invoice_lines.c.invoice_id == doc.id)
                .values(amount=D("0.01"))
            )
            u.commit()
        assert invoices.get_invoice(uow_factory(), invoice_id=doc.id) == doc
    # status alone may still move (an operator marks an invoice paid)
    assert invoices.mark_paid(uow_factory(), invoice_id=issued[0].id, at=FEB).status == "paid"
