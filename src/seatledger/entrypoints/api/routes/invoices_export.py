"""Routes: invoice documents — credit notes, and the PDF and CSV renderings.

``GET /v1/invoices/{id}`` and ``GET /v1/accounts/{id}/invoices`` live in
``billing.py``; they hand over to ``invoice_pdf_response`` / ``invoices_csv_response``
here when the client asks for ``application/pdf`` / ``text/csv`` (``Accept`` or,
for the list, ``?format=csv``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response, status

from seatledger.adapters.csv_export import invoices_csv
from seatledger.adapters.pdf import pdf_filename, render_invoice_pdf
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Uow
from seatledger.entrypoints.api.schemas import CreditNoteCreate, InvoicePublic
from seatledger.services import credit_notes, invoice_documents

router = APIRouter(prefix="/v1", tags=["billing"])

PDF = "application/pdf"
CSV = "text/csv"
PDF_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {PDF: {}},
        "description": "The invoice; `Accept: application/pdf` gives the printable PDF "
        "(PDF/A-3 with the document's EN 16931 Factur-X XML embedded, except in "
        "currencies of more than 2 minor units), rendered once and kept.",
    }
}
CSV_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {CSV: {}},
        "description": "`Accept: text/csv` or `?format=csv`: every "
        "issued document, one row per line.",
    }
}


def _accepted(request: Request) -> dict[str, float]:
    """media type → q from the Accept header (no Accept: nothing explicit)."""
    out: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out[media.lower()] = max(q, out.get(media.lower(), 0.0))
    return out


def wants(request: Request, media_type: str) -> bool:
    """The client named ``media_type`` explicitly and prefers it to JSON."""
    accepted = _accepted(request)
    q = accepted.get(media_type, 0.0)
    return q > 0 and q >= accepted.get("application/json", 0.0)


def invoice_pdf_response(uow: Uow, invoice: IssuedInvoice, now: datetime) -> Response:
    """The document's PDF as first rendered (kept then, never rendered again)."""
    pdf = invoice_documents.invoice_pdf(
        uow, invoice_id=invoice.id, render=render_invoice_pdf, at=now
    )
    return Response(
        pdf,
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{pdf_filename(invoice)}"'},
    )


def invoices_csv_response(uow: Uow, account_id: str) -> Response:
    """Every issued invoice and credit note of the account (the export is not paged)."""
    items = invoice_documents.invoices_for_export(uow, account_id=account_id)
    return Response(
        invoices_csv(items),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="invoices-{account_id}.csv"'},
    )


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoicePublic,
)
def create_credit_note(
    invoice_id: str, body: CreditNoteCreate, uow: Uow, now: Now, _: CurrentPrincipal
) -> InvoicePublic:
    """`amount` (gross) or `lines` (net, tax added at the invoice's rate); never more
    than what is left of the invoice. Credit amounts are positive; `type` is
    `credit_note`."""
    note = credit_notes.create_credit_note(
        uow,
        invoice_id=invoice_id,
        reason=body.reason,
        at=now,
        amount=body.amount,
        lines=None if body.lines is None else [ln.model_dump() for ln in body.lines],
    )
    return InvoicePublic.of(note)
