"""Use cases (read only): what the PDF and CSV renderings of invoices need."""

from __future__ import annotations

from dataclasses import dataclass

from seatledger.domain.accounts import Account
from seatledger.domain.errors import NotFound
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class InvoiceDocument:
    """An issued document with what its printed form shows besides itself."""

    invoice: IssuedInvoice
    account: Account
    credited_number: str | None  # the invoice a credit note credits


def invoice_document(uow: UnitOfWork, *, invoice_id: str) -> InvoiceDocument:
    with uow:
        invoice = uow.invoices.get(invoice_id)
        if invoice is None:
            raise NotFound(f"invoice {invoice_id} not found", field="invoice_id")
        account = uow.read_account(invoice.account_id)
        credited = (
            uow.invoices.get(invoice.credited_invoice_id) if invoice.credited_invoice_id else None
        )
        return InvoiceDocument(invoice, account, credited.number if credited else None)


def invoices_for_export(uow: UnitOfWork, *, account_id: str | None = None) -> list[IssuedInvoice]:
    """Every issued invoice and credit note (of one account, or of all), in
    issue order (issued_at, then number)."""
    with uow:
        if account_id is not None:
            uow.read_account(account_id)
        return uow.invoices.all_for(account_id)
