"""Use cases (read, and the one write of a PDF kept): what the PDF and CSV
renderings of invoices need."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from seatledger.domain.accounts import Account
from seatledger.domain.errors import NotFound
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services.unit_of_work import UnitOfWork

# (the document, its account, the invoice a credit note credits) -> the PDF
RenderPdf = Callable[[IssuedInvoice, Account, IssuedInvoice | None], bytes]


def invoice_pdf(uow: UnitOfWork, *, invoice_id: str, render: RenderPdf, at: datetime) -> bytes:
    """A document's PDF, rendered once and kept (PRODUCT.md §5 Documents): the one
    kept when there is one, byte for byte, whatever changed since (seller settings,
    billing details, status). Otherwise it is rendered and kept; when another request
    kept one meanwhile, that one is returned, so every request gets the same bytes.

    Rendering takes a second and holds no transaction: the document is read in
    one, the PDF kept in another (on SQLite a read transaction held across the
    rendering could not then write once anyone else had)."""
    with uow:
        kept = uow.invoice_pdfs.get(invoice_id)
        if kept is not None:
            return kept
        invoice = uow.invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(f"invoice {invoice_id} not found", field="invoice_id")
        account = uow.read_account(invoice.account_id)
        credited = (
            uow.invoices.get(invoice.credited_invoice_id) if invoice.credited_invoice_id else None
        )
    pdf = render(invoice, account, credited)
    with uow:
        kept = uow.invoice_pdfs.keep(invoice_id, pdf, at=at)
        uow.commit()
    return kept


def invoices_for_export(uow: UnitOfWork, *, account_id: str | None = None) -> list[IssuedInvoice]:
    """Every issued invoice and credit note (of one account, or of all), in
    issue order (issued_at, then number)."""
    with uow:
        if account_id is not None:
            uow.read_account(account_id)
        return uow.invoices.all_for(account_id)
