"""Issuing documents: numbering, and the charges of seats bought (helpers, no commit)."""

from __future__ import annotations

from decimal import Decimal

from seatledger.domain.accounts import Account
from seatledger.domain.ids import new_id
from seatledger.domain.invoicing import (
    DraftInvoice,
    IssuedInvoice,
    charge_invoice,
    charge_phrase,
    due_date,
    proration_line,
    sequence_name,
)
from seatledger.domain.ledger import LedgerEntry
from seatledger.domain.timeline import Timeline, timeline
from seatledger.services.unit_of_work import UnitOfWork


def issue(
    uow: UnitOfWork,
    account: Account,
    draft: DraftInvoice,
    *,
    tax_rate: Decimal | None,
    credited_invoice: IssuedInvoice | None = None,
    reason: str | None = None,
) -> IssuedInvoice:
    """Stores a document, numbered when the transaction commits (the returned
    draft's number is its id; ``uow.document(id)`` is the numbered one after the
    commit). UNIQUE(account_id, key) refuses a second issue of the same document,
    whatever the code around it does.

    §5 Documents: it keeps the seller (the settings as they are now) and the buyer
    (the account's billing details), the payment method and terms, the locale and
    ``tax_rate``, the rate its tax was computed at (no tax: 0), as they are when it
    is issued; its due date is the issue date + the payment terms. Logged as
    ``invoice.issued`` or ``credit_note.issued`` at its issue instant."""
    document_id = new_id("inv" if draft.type == "invoice" else "cn")
    invoice = IssuedInvoice(
        id=document_id,
        account_id=account.id,
        number=document_id,  # a draft's: numbered by the commit (UnitOfWork.add_document)
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
        credited_invoice_id=credited_invoice.id if credited_invoice else None,
        credited_invoice_number=credited_invoice.number if credited_invoice else None,
        reason=reason,
        seller=uow.seller(),
        buyer=account.billing,
        due_date=due_date(draft.issued_at, account.payment_terms_days),
        payment_method=account.payment_method,
        payment_terms_days=account.payment_terms_days,
        locale=account.locale,
        tax_rate=tax_rate if tax_rate is not None else Decimal(0),
    )
    uow.add_document(
        invoice,
        sequence=sequence_name(kind=draft.type, year=draft.issued_at.year, test=account.test_clock),
    )
    return invoice


def _timeline(uow: UnitOfWork, account_id: str) -> Timeline | None:
    return timeline(uow.contracts.all(account_id))


def issue_charges(
    uow: UnitOfWork, account: Account, purchases: list[LedgerEntry]
) -> list[IssuedInvoice]:
    """The seats bought by a use case (add_license, auto_purchase, an approved
    increase) in ``immediate`` pools: an ad-hoc invoice each, in its transaction."""
    if not purchases:
        return []
    tl = _timeline(uow, account.id)
    if tl is None:
        return []
    drafts = [charge_invoice(e, tl, account.currency, account.tax_rate) for e in purchases]
    return [issue(uow, account, d, tax_rate=account.tax_rate) for d in drafts if d is not None]


def preview_charge(uow: UnitOfWork, account: Account, entry: LedgerEntry) -> str | None:
    """The charge part of a seat-change message for a purchase made now
    ("15.00 EUR now"), from the same proration that will invoice it."""
    tl = _timeline(uow, account.id)
    if tl is None:
        return None
    terms = tl.terms(entry.module, entry.at.date())
    timing = terms.charge_timing if terms else "immediate"
    return charge_phrase(proration_line(entry, tl, account.currency), account.currency, timing)
