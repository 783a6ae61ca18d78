"""A document's PDF is rendered once and kept (PRODUCT.md §5 Documents), on SQLite
and PostgreSQL: the kept bytes are returned without rendering; a PDF kept by another
request while this one rendered wins; the database refuses to change or delete a
kept PDF (insert-only, migration 0005)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from seatledger.adapters.db import tables as t
from seatledger.domain.accounts import Account
from seatledger.domain.errors import NotFound
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services import accounts, billing, invoice_documents
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
START = datetime(2026, 1, 1, tzinfo=UTC)
RENDERED_AT = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
OPERATOR = "operator:test"


def issued_invoice(uow: Uow) -> IssuedInvoice:
    """The period invoice of January 2026 of a test-clock account."""
    account = accounts.create_account(
        uow(), name="Acme", currency="EUR", test_clock=True, clock_start=START, at=START
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 5, "unit_price": "30.00", "policy": "block"}],
        at=START,
        actor=OPERATOR,
    )
    (january,) = billing.advance_clock(uow(), account_id=account.id, to=START)
    return january


def renderer(pdf: bytes, calls: list[str]) -> invoice_documents.RenderPdf:
    def render(invoice: IssuedInvoice, account: Account, credited: IssuedInvoice | None) -> bytes:
        calls.append(invoice.number)
        return pdf

    return render


def kept_rows(uow: Uow, invoice_id: str) -> list[tuple[bytes, datetime]]:
    with uow() as u:
        rows = u.conn.execute(
            select(t.invoice_pdfs.c.pdf, t.invoice_pdfs.c.rendered_at).where(
                t.invoice_pdfs.c.invoice_id == invoice_id
            )
        )
        return [(bytes(r.pdf), r.rendered_at) for r in rows]


def test_the_first_request_renders_and_keeps_the_pdf_and_later_ones_get_it_unrendered(
    uow_factory: Uow,
) -> None:
    january = issued_invoice(uow_factory)
    calls: list[str] = []

    first = invoice_documents.invoice_pdf(
        uow_factory(),
        invoice_id=january.id,
        render=renderer(b"%PDF-first", calls),
        at=RENDERED_AT,
    )
    again = invoice_documents.invoice_pdf(
        uow_factory(),
        invoice_id=january.id,
        render=renderer(b"%PDF-would-differ", calls),
        at=datetime(2026, 3, 1, tzinfo=UTC),
    )

    assert first == again == b"%PDF-first"
    assert calls == [january.number], "rendered once"
    assert kept_rows(uow_factory, january.id) == [(b"%PDF-first", RENDERED_AT)]


def test_a_pdf_kept_by_another_request_while_this_one_rendered_is_the_one_returned(
    uow_factory: Uow,
) -> None:
    """The other request keeps its PDF during this one's rendering (so this one's
    read found none); this one's INSERT meets the primary key and the kept bytes
    win, for both requests."""
    january = issued_invoice(uow_factory)
    calls: list[str] = []
    answered_meanwhile: list[bytes] = []

    def slow_render(invoice: IssuedInvoice, account: Account, credited: object) -> bytes:
        answered_meanwhile.append(
            invoice_documents.invoice_pdf(
                uow_factory(),
                invoice_id=invoice.id,
                render=renderer(b"%PDF-kept-first", calls),
                at=RENDERED_AT,
            )
        )
        return b"%PDF-rendered-second"

    answer = invoice_documents.invoice_pdf(
        uow_factory(), invoice_id=january.id, render=slow_render, at=RENDERED_AT
    )

    assert answered_meanwhile == [b"%PDF-kept-first"]
    assert answer == b"%PDF-kept-first"
    assert kept_rows(uow_factory, january.id) == [(b"%PDF-kept-first", RENDERED_AT)]


def test_an_unknown_invoice_has_no_pdf_and_nothing_is_rendered(uow_factory: Uow) -> None:
    calls: list[str] = []
    with pytest.raises(NotFound):
        invoice_documents.invoice_pdf(
            uow_factory(), invoice_id="inv_unknown", render=renderer(b"x", calls), at=START
        )
    assert calls == []


def test_the_database_refuses_to_change_or_delete_a_kept_pdf(uow_factory: Uow) -> None:
    january = issued_invoice(uow_factory)
    invoice_documents.invoice_pdf(
        uow_factory(), invoice_id=january.id, render=renderer(b"%PDF-1", []), at=RENDERED_AT
    )
    pdfs = t.invoice_pdfs
    for statement in (
        update(pdfs).where(pdfs.c.invoice_id == january.id).values(pdf=b"%PDF-forged"),
        update(pdfs).where(pdfs.c.invoice_id == january.id).values(rendered_at=START),
        delete(pdfs).where(pdfs.c.invoice_id == january.id),
    ):
        with pytest.raises(DBAPIError, match="insert-only"), uow_factory() as u:
            u.conn.execute(statement)
            u.commit()
    assert kept_rows(uow_factory, january.id) == [(b"%PDF-1", RENDERED_AT)]
