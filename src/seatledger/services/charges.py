"""Issuing documents: numbering and immediate charges (helpers, no commit)."""

from __future__ import annotations

from seatledger.domain.accounts import Account
from seatledger.domain.ids import new_id
from seatledger.domain.invoicing import (
    BillingInputs,
    DraftInvoice,
    IssuedInvoice,
    charge_invoice,
    charge_phrase,
    document_number,
    proration_line,
    sequence_name,
)
from seatledger.domain.ledger import LedgerEntry
from seatledger.services.unit_of_work import UnitOfWork


def billing_inputs(uow: UnitOfWork, account: Account, *, with_ledger: bool = True) -> BillingInputs:
    return BillingInputs(
        currency=account.currency,
        tax_rate=account.tax_rate,
        contracts=uow.contracts.all(account.id),
        ledger=uow.ledger.entries(account.id) if with_ledger else [],
    )


def issue(
    uow: UnitOfWork,
    account: Account,
    draft: DraftInvoice,
    *,
    credited_invoice_id: str | None = None,
    reason: str | None = None,
) -> IssuedInvoice:
    """Numbers and stores a document. UNIQUE(account_id, key) refuses a second
    issue of the same document, whatever the code around it does."""
    year = draft.issued_at.year
    seq = uow.invoices.next_sequence(
        sequence_name(kind=draft.type, year=year, test=account.test_clock)
    )
    invoice = IssuedInvoice(
        id=new_id("inv" if draft.type == "invoice" else "cn"),
        account_id=account.id,
        number=document_number(kind=draft.type, year=year, sequence=seq, test=account.test_clock),
        key=draft.key,
        type=draft.type,
        kind=draft.kind,
        status="issued",
        issued_at=draft.issued_at,
        currency=draft.currency,
        lines=draft.lines,
        subtotal=draft.subtotal,
        tax=draft.tax,
        total=draft.total,
        period_start=draft.period_start,
        period_end=draft.period_end,
        credited_invoice_id=credited_invoice_id,
        reason=reason,
    )
    uow.invoices.add(invoice)
    return invoice


def charge_purchase(uow: UnitOfWork, account: Account, entry: LedgerEntry) -> IssuedInvoice | None:
    """A purchase (add_license, auto_purchase, approved increase) of an
    ``immediate`` pool: an ad-hoc invoice of its own, in the same transaction."""
    draft = charge_invoice(entry, billing_inputs(uow, account, with_ledger=False))
    return issue(uow, account, draft) if draft else None


def preview_charge(uow: UnitOfWork, account: Account, entry: LedgerEntry) -> str | None:
    """The charge part of a seat-change message for a purchase made now
    ("15.00 EUR now"), from the same proration that will invoice it."""
    inputs = billing_inputs(uow, account, with_ledger=False)
    found = inputs.terms(entry.module, entry.at.date())
    timing = found[1].charge_timing if found else "immediate"
    return charge_phrase(proration_line(entry, inputs), account.currency, timing)
