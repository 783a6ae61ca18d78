"""Use cases: reading issued invoices and credit notes, and their status."""

from __future__ import annotations

from datetime import datetime

from seatledger.domain.credit_notes import check_reason
from seatledger.domain.errors import Conflict, InvalidInput, NotFound
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services.unit_of_work import UnitOfWork


def _load(uow: UnitOfWork, invoice_id: str, account_id: str | None = None) -> IssuedInvoice:
    invoice = uow.invoices.get(invoice_id)
    if invoice is None or (account_id is not None and invoice.account_id != account_id):
        raise NotFound(f"invoice {invoice_id} not found", field="invoice_id")
    return invoice


def get_invoice(uow: UnitOfWork, *, invoice_id: str) -> IssuedInvoice:
    with uow:
        return _load(uow, invoice_id)


def account_of_invoice(uow: UnitOfWork, *, invoice_id: str) -> str | None:
    """The account an invoice or credit note belongs to; None for no such document."""
    with uow:
        invoice = uow.invoices.get(invoice_id)
        return invoice.account_id if invoice else None


def list_invoices(
    uow: UnitOfWork, *, account_id: str, limit: int = 100, after: str | None = None
) -> list[IssuedInvoice]:
    """Invoices and credit notes in the order of issue. ``after`` is the
    ``page_key`` of the last one seen."""
    with uow:
        uow.read_account(account_id)
        return uow.invoices.list(account_id, limit=limit, after=_parse_page_key(after))


def page_key(invoice: IssuedInvoice) -> str:
    return f"{invoice.issued_at.isoformat()}|{invoice.id}"


def _parse_page_key(key: str | None) -> tuple[datetime, str] | None:
    if not key:
        return None
    try:
        issued, _, invoice_id = key.partition("|")
        return datetime.fromisoformat(issued), invoice_id
    except ValueError:
        raise InvalidInput("cursor is not valid", field="cursor") from None


_STATUS_EVENTS = {"paid": "invoice.paid", "void": "invoice.voided"}


def _set_status(
    uow: UnitOfWork, *, invoice_id: str, at: datetime, target: str, reason: str | None = None
) -> IssuedInvoice:
    with uow:
        account = uow.lock_account_of("invoice", invoice_id)
        invoice = _load(uow, invoice_id)
        if invoice.type != "invoice":
            raise Conflict("only invoices have a payment status", field="invoice_id")
        if invoice.status != "issued":
            raise Conflict(f"invoice {invoice.number} is {invoice.status}", field="status")
        if target == "void" and uow.invoices.credited_total(invoice.id):
            raise Conflict(
                f"invoice {invoice.number} has credit notes; it cannot be voided", field="status"
            )
        uow.invoices.set_status(invoice.id, target, at=at, reason=reason)
        updated = _load(uow, invoice_id)
        uow.record(
            _STATUS_EVENTS[target],
            subject=f"invoice:{invoice.id}",
            account_id=account.id,
            at=account.time_at(at),
            before=invoice,
            after=updated,
        )
        uow.commit()
    return updated


def mark_paid(uow: UnitOfWork, *, invoice_id: str, at: datetime) -> IssuedInvoice:
    return _set_status(uow, invoice_id=invoice_id, at=at, target="paid")


def void_invoice(
    uow: UnitOfWork, *, invoice_id: str, reason: object, at: datetime
) -> IssuedInvoice:
    """Only while unpaid; lines and amounts never change. The reason is kept with the
    invoice (set once: the database refuses to change it)."""
    return _set_status(
        uow, invoice_id=invoice_id, at=at, target="void", reason=check_reason(reason, why="void")
    )
