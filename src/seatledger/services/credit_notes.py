"""Use case: issuing a credit note against an invoice (PRODUCT.md §5).

The arithmetic is ``domain.credit_notes``; numbering and storage are
``services.charges.issue`` (CN-YYYY-NNNNNN, TEST-CN-… on a test clock). The
account lock serialises credit notes of one account, so two concurrent credits
can never together exceed what is left of an invoice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from seatledger.domain.credit_notes import CreditLineRequest, check_reason, credit_note
from seatledger.domain.errors import NotFound
from seatledger.domain.ids import new_id
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services.charges import issue
from seatledger.services.unit_of_work import UnitOfWork


def _load(uow: UnitOfWork, invoice_id: str) -> IssuedInvoice:
    invoice = uow.invoices.get(invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found", field="invoice_id")
    return invoice


def create_credit_note(
    uow: UnitOfWork,
    *,
    invoice_id: str,
    reason: object,
    at: datetime,
    amount: object = None,
    lines: Sequence[Mapping[str, object]] | None = None,
) -> IssuedInvoice:
    """Issues a credit note for ``invoice_id``: ``amount`` is gross (tax included),
    ``lines`` are net ``{description, amount}``; exactly one of them. Issued at the
    account's time (its test clock, if it has one)."""
    reason = check_reason(reason)
    with uow:
        account = uow.lock_account_of("invoice", invoice_id)
        invoice = _load(uow, invoice_id)
        draft = credit_note(
            invoice,
            credited=uow.invoices.credited_total(invoice.id),
            key=f"credit:{new_id('crd')}",
            issued_at=account.time_at(at),
            amount=amount,
            lines=None
            if lines is None
            else [
                CreditLineRequest(description=ln.get("description"), amount=ln.get("amount"))
                for ln in lines
            ],
        )
        # NOTE: its tax is the invoice's share, at the rate the invoice was issued with
        # (the account's, on an invoice issued before documents kept their rate).
        rate = invoice.tax_rate if invoice.tax_rate is not None else account.tax_rate
        note = issue(uow, account, draft, tax_rate=rate, credited_invoice=invoice, reason=reason)
        uow.commit()
    return uow.document(note.id)
