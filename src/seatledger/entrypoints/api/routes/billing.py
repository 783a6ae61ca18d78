"""Routes: billing runs, test clocks, invoices."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from seatledger.domain.billing_runs import DONE
from seatledger.entrypoints import billing_runs
from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.routes import invoices_export
from seatledger.entrypoints.api.schemas import (
    MAX_BILLING_RUN_WAIT,
    BillingRunIn,
    BillingRunOut,
    ClockIn,
    ClockOut,
    InvoicePublic,
    Page,
    VoidIn,
)
from seatledger.services import billing, invoices

router = APIRouter(prefix="/v1", tags=["billing"])


DEFAULT_BILLING_RUN_WAIT = 30.0
_RUNNING = {
    202: {
        "model": BillingRunOut,
        "description": "The run is not done after `wait` seconds: it goes on; "
        "GET /v1/billing-runs/{run_id} reports its progress and, once done, its result.",
    }
}


@router.post("/billing-runs", response_model=BillingRunOut, responses=_RUNNING)  # type: ignore[arg-type]
def start_billing_run(
    request: Request,
    uow: Uow,
    now: Now,
    _: CurrentPrincipal,
    body: BillingRunIn | None = None,
    wait: float | None = Query(
        None, ge=0, le=MAX_BILLING_RUN_WAIT, description="seconds to wait (default 30)"
    ),
) -> BillingRunOut | JSONResponse:
    """Bills every account due up to ``as_of``; answers with the result when the run
    is done within ``wait`` seconds, else 202 with the run as it stands."""
    as_of = (body.as_of if body else None) or now
    waited = body.wait if body and body.wait is not None else wait
    engine = request.app.state.engine
    # NOTE: every change is logged as the caller's, with the request id
    started = billing_runs.start(
        engine, as_of=as_of, now=now, actor=uow.actor, request_id=uow.request_id
    )
    billing_runs.bill_here(engine, started, at=now, background=True)
    run = billing_runs.wait(
        engine, started.run.id, timeout=DEFAULT_BILLING_RUN_WAIT if waited is None else waited
    )
    if run.status != DONE:
        return JSONResponse(BillingRunOut.of(run).model_dump(mode="json"), status_code=202)
    return BillingRunOut.of(run)


@router.get("/billing-runs/{run_id}", response_model=BillingRunOut)
def get_billing_run(run_id: str, uow: Uow, _: CurrentPrincipal) -> BillingRunOut:
    """A run's progress (batches and accounts done so far) and, once done, its result."""
    return BillingRunOut.of(billing.get_run(uow, run_id=run_id))


@router.post("/accounts/{account_id}/clock", response_model=ClockOut)
def move_clock(account_id: str, body: ClockIn, uow: Uow, _: CurrentPrincipal) -> ClockOut:
    issued = billing.advance_clock(uow, account_id=account_id, to=body.now)
    return ClockOut(
        account_id=account_id,
        now=body.now,
        invoices_issued=len(issued),
        invoices=[InvoicePublic.of(i) for i in issued],
    )


@router.get(
    "/accounts/{account_id}/invoices",
    response_model=Page[InvoicePublic],
    responses=invoices_export.CSV_RESPONSES,
)
def list_invoices(
    account_id: str,
    uow: Uow,
    page: Paging,
    _: CurrentPrincipal,
    request: Request,
    format: Literal["json", "csv"] | None = Query(None),
) -> dict | Response:  # type: ignore[type-arg]
    # ?format=csv, or Accept: text/csv: every document, one row per line (not paged).
    if format == "csv" or (format is None and invoices_export.wants(request, invoices_export.CSV)):
        return invoices_export.invoices_csv_response(uow, account_id)
    items = invoices.list_invoices(
        uow, account_id=account_id, limit=page.limit + 1, after=page.after
    )
    return page.respond([InvoicePublic.of(i) for i in items], [invoices.page_key(i) for i in items])


@router.get("/accounts/{account_id}/invoices/upcoming", response_model=InvoicePublic | None)
def get_upcoming_invoice(
    account_id: str, uow: Uow, now: Now, _: CurrentPrincipal
) -> InvoicePublic | JSONResponse:
    draft = billing.upcoming(uow, account_id=account_id, at=now)
    if draft is None:
        return JSONResponse(None, status_code=200)
    return InvoicePublic.of(draft, account_id=account_id)


@router.get(
    "/invoices/{invoice_id}", response_model=InvoicePublic, responses=invoices_export.PDF_RESPONSES
)
def get_invoice(
    invoice_id: str, uow: Uow, now: Now, _: CurrentPrincipal, request: Request
) -> InvoicePublic | Response:
    # roles.py has answered another account's invoice 404 already.
    invoice = invoices.get_invoice(uow, invoice_id=invoice_id)
    if invoices_export.wants(request, invoices_export.PDF):
        return invoices_export.invoice_pdf_response(uow, invoice, now)
    return InvoicePublic.of(invoice)


@router.post("/invoices/{invoice_id}/mark-paid", response_model=InvoicePublic)
def mark_invoice_paid(invoice_id: str, uow: Uow, now: Now, _: CurrentPrincipal) -> InvoicePublic:
    return InvoicePublic.of(invoices.mark_paid(uow, invoice_id=invoice_id, at=now))


@router.post("/invoices/{invoice_id}/void", response_model=InvoicePublic)
def void_invoice(
    invoice_id: str, body: VoidIn, uow: Uow, now: Now, _: CurrentPrincipal
) -> InvoicePublic:
    """Only while unpaid; the reason is kept with the invoice and shown with it."""
    return InvoicePublic.of(
        invoices.void_invoice(uow, invoice_id=invoice_id, reason=body.reason, at=now)
    )
