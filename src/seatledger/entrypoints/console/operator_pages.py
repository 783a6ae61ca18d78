"""Console pages of the vendor's operators: accounts and their usage, seat
requests to approve or reject, billing runs, an account's test clock and
what-if pricing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from seatledger.domain.errors import DomainError, InvalidInput
from seatledger.domain.money import format_amount
from seatledger.domain.periods import BILLING_INTERVALS
from seatledger.domain.seat_policies import POLICIES
from seatledger.domain.seat_requests import EFFECTIVE_NOW, EFFECTIVE_RENEWAL, PENDING, SCHEDULED
from seatledger.entrypoints import billing_runs
from seatledger.entrypoints.console.session import Session, flash, form_of
from seatledger.entrypoints.console.web import (
    A,
    apply_once,
    errors_of,
    read,
    redirect,
    render,
    signed_in,
    status_of,
)
from seatledger.services import access, accounts, billing, seat_requests, what_if

router = APIRouter()

PAGE_SIZE = 100
ACCOUNTS = ("GET", "/v1/accounts")
ALL_REQUESTS = ("GET", "/v1/seat-requests")
APPROVE = ("POST", "/v1/seat-requests/{request_id}/approve")
REJECT = ("POST", "/v1/seat-requests/{request_id}/reject")
BILLING_RUN = ("POST", "/v1/billing-runs")
BILLING_RUN_RESULT = ("GET", "/v1/billing-runs/{run_id}")
RUN_WAIT_SECONDS = 10.0  # then the run's page shows how far it is
CLOCK = ("POST", f"{A}/clock")
WHAT_IF = ("POST", f"{A}/what-if")


def _principal(session: Session) -> Any:
    assert session.principal is not None
    return session.principal


def _instant(value: str, field: str) -> datetime:
    """A typed instant; without an offset it is UTC (what a datetime-local gives)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{field} is not a date and time (YYYY-MM-DDTHH:MM)", field=field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} is not a date (YYYY-MM-DD)", field=field) from None


@router.get("/operator")
async def accounts_page(
    request: Request, session: Annotated[Session, signed_in(ACCOUNTS)]
) -> Response:
    after = request.query_params.get("after") or None
    page = await read(request, access.list_accounts_usage, limit=PAGE_SIZE + 1, after=after)
    more = len(page) > PAGE_SIZE
    return render(
        request,
        session,
        "operator_accounts.html",
        title="Accounts",
        usage=page[:PAGE_SIZE],
        next_after=page[PAGE_SIZE - 1].account.id if more else None,
        now=request.app.state.clock.now(),
    )


@router.get("/operator/seat-requests")
async def requests_page(
    request: Request, session: Annotated[Session, signed_in(ALL_REQUESTS)]
) -> Response:
    pending = await read(request, seat_requests.list_seat_requests, status=PENDING, limit=PAGE_SIZE)
    scheduled = await read(
        request, seat_requests.list_seat_requests, status=SCHEDULED, limit=PAGE_SIZE
    )
    return render(
        request,
        session,
        "operator_requests.html",
        title="Seat requests",
        pending=sorted(pending, key=lambda r: r.created_at or datetime.min.replace(tzinfo=UTC)),
        scheduled=scheduled,
        now_and_renewal=(EFFECTIVE_NOW, EFFECTIVE_RENEWAL),
    )


async def _decide(request: Request, session: Session, use_case: Any, **kwargs: Any) -> Response:
    principal = _principal(session)
    try:
        decided = await apply_once(
            request,
            principal,
            use_case,
            request_id=request.path_params["request_id"],
            at=request.app.state.clock.now(),
            actor=principal.actor,
            **kwargs,
        )
    except DomainError as refusal:
        message = {"kind": "error", "text": refusal.message}
    else:
        reason = f" ({decided.reason})" if decided.reason else ""
        message = {
            "kind": "ok",
            "text": f"Seat request for {decided.module} ({decided.from_capacity} → "
            f"{decided.target_capacity}) of account {decided.account_id} is "
            f"{decided.status}{reason}.",
        }
    response = redirect(request, "/console/operator/seat-requests")
    flash(response, request, session.secret, message)
    return response


@router.post("/operator/seat-requests/{request_id}/approve")
async def approve_request(
    request: Request, request_id: str, session: Annotated[Session, signed_in(APPROVE)]
) -> Response:
    effective = (await form_of(request)).get("effective") or EFFECTIVE_RENEWAL
    return await _decide(request, session, seat_requests.approve_seat_request, effective=effective)


@router.post("/operator/seat-requests/{request_id}/reject")
async def reject_request(
    request: Request, request_id: str, session: Annotated[Session, signed_in(REJECT)]
) -> Response:
    reason = (await form_of(request)).get("reason")
    return await _decide(request, session, seat_requests.reject_seat_request, reason=reason)


@router.get("/operator/billing-runs")
async def billing_runs_page(
    request: Request, session: Annotated[Session, signed_in(BILLING_RUN)]
) -> Response:
    now = request.app.state.clock.now()
    return render(
        request,
        session,
        "operator_runs.html",
        title="Billing runs",
        result=None,
        values={"as_of": now.strftime("%Y-%m-%dT%H:%M")},
    )


@router.post("/operator/billing-runs")
async def run_billing(
    request: Request, session: Annotated[Session, signed_in(BILLING_RUN)]
) -> Response:
    """Starts a run as the API does (entrypoints/billing_runs.py: the workers' job
    queue on PostgreSQL when one is alive, else this process), waits a little,
    then shows the run's page. A run bills what is due up to ``as_of`` once: every
    document it writes is keyed, so sending the form again issues nothing twice."""
    principal = _principal(session)
    form = await form_of(request)
    engine = request.app.state.engine
    now = request.app.state.clock.now()
    values = {"as_of": form.get("as_of")}
    try:
        as_of = _instant(form.get("as_of"), "as_of") if form.get("as_of").strip() else now
        started = await run_in_threadpool(
            partial(
                billing_runs.start,
                engine,
                as_of=as_of,
                now=now,
                actor=principal.actor,
                request_id=getattr(request.state, "request_id", None),
            )
        )
    except DomainError as refusal:
        return render(
            request,
            session,
            "operator_runs.html",
            title="Billing runs",
            status=status_of(refusal),
            result=None,
            values=values,
            errors=errors_of(refusal),
        )
    billing_runs.bill_here(engine, started, at=now, background=True)
    run = await run_in_threadpool(
        partial(billing_runs.wait, engine, started.run.id, timeout=RUN_WAIT_SECONDS)
    )
    return redirect(request, f"/console/operator/billing-runs/{run.id}")


@router.get("/operator/billing-runs/{run_id}")
async def billing_run_page(
    request: Request, run_id: str, session: Annotated[Session, signed_in(BILLING_RUN_RESULT)]
) -> Response:
    """A run's progress and, once done, its result."""
    run = await read(request, billing.get_run, run_id=run_id)
    now = request.app.state.clock.now()
    return render(
        request,
        session,
        "operator_runs.html",
        title="Billing runs",
        result=run,
        values={"as_of": now.strftime("%Y-%m-%dT%H:%M")},
    )


# --- one account: its test clock, what-if pricing ------------------------------------


def _what_if_values(account: Any, contract: Any, today: date) -> dict[str, str]:
    """The what-if form prefilled with the contract in force."""
    start = contract.start_date if contract else today.replace(month=1, day=1)
    values = {
        "from": start.isoformat(),
        "to": today.isoformat(),
        "contract.billing_interval": contract.billing_interval if contract else "month",
        "contract.end_date": contract.end_date.isoformat()
        if contract and contract.end_date
        else "",
        "contract.minimum_spend": format_amount(contract.minimum_spend, account.currency)
        if contract and contract.minimum_spend is not None
        else "",
    }
    for index, pool in enumerate(contract.pools if contract else []):
        where = f"contract.pools[{index}]"
        values |= {
            f"{where}.module": pool.module,
            f"{where}.capacity": str(pool.capacity),
            f"{where}.minimum": str(pool.minimum),
            f"{where}.unit_price": format_amount(pool.unit_price, account.currency),
            f"{where}.policy": pool.policy,
            f"{where}.charge_timing": pool.charge_timing,
            f"{where}.proration": pool.proration,
        }
    return values


def _contract_of(values: dict[str, str], count: int) -> dict[str, Any]:
    """The what-if contract body, as the API's what-if takes it."""
    pools = []
    for index in range(count):
        where = f"contract.pools[{index}]"
        capacity = values.get(f"{where}.capacity", "").strip()
        pools.append(
            {
                "module": values.get(f"{where}.module", ""),
                "capacity": int(capacity) if capacity.isdigit() else capacity or None,
                "minimum": int(values[f"{where}.minimum"])
                if values.get(f"{where}.minimum", "").strip().isdigit()
                else values.get(f"{where}.minimum") or None,
                "unit_price": values.get(f"{where}.unit_price", ""),
                "policy": values.get(f"{where}.policy", ""),
                "charge_timing": values.get(f"{where}.charge_timing") or None,
                "proration": values.get(f"{where}.proration") or None,
            }
        )
    end = values.get("contract.end_date", "").strip()
    spend = values.get("contract.minimum_spend", "").strip()
    return {
        "billing_interval": values.get("contract.billing_interval", ""),
        "end_date": _day(end, "contract.end_date") if end else None,
        "minimum_spend": spend or None,
        "pools": pools,
    }


async def _account_page(
    request: Request,
    session: Session,
    account_id: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    result: Any = None,
) -> Response:
    account = await read(request, accounts.get_account, account_id=account_id)
    contracts = await read(request, accounts.list_contracts, account_id=account_id)
    pools = await read(request, access.list_pools, account_id=account_id)
    today = account.time_at(request.app.state.clock.now()).date()
    contract = contracts[-1] if contracts else None
    values = values or _what_if_values(account, contract, today)
    return render(
        request,
        session,
        "operator_account.html",
        title=f"Account {account.name}",
        status=status,
        account=account,
        contract=contract,
        pools=pools,
        values=values,
        errors=errors or {},
        result=result,
        pool_count=len(contract.pools) if contract else 0,
        interval_options=[(i, i.replace("_", " ")) for i in BILLING_INTERVALS],
        policy_options=[(p, p.replace("_", " ")) for p in POLICIES],
        clock_value=account.clock_now.strftime("%Y-%m-%dT%H:%M") if account.clock_now else "",
    )


@router.get("/operator/accounts/{account_id}")
async def account_page(
    request: Request, account_id: str, session: Annotated[Session, signed_in(WHAT_IF)]
) -> Response:
    return await _account_page(request, session, account_id)


@router.post("/operator/accounts/{account_id}/what-if")
async def price_what_if(
    request: Request, account_id: str, session: Annotated[Session, signed_in(WHAT_IF)]
) -> Response:
    form = await form_of(request)
    values = {k: v for k, v in form.pairs}
    count = len([k for k in values if k.startswith("contract.pools[") and k.endswith("].module")])
    try:
        result = await read(
            request,
            what_if.what_if,
            account_id=account_id,
            start=_day(values.get("from", ""), "from"),
            end=_day(values.get("to", ""), "to"),
            contract=_contract_of(values, count),
            at=request.app.state.clock.now(),
        )
    except DomainError as refusal:
        return await _account_page(
            request,
            session,
            account_id,
            status=status_of(refusal),
            values=values,
            errors=errors_of(refusal),
        )
    return await _account_page(request, session, account_id, values=values, result=result)


@router.post("/operator/accounts/{account_id}/clock")
async def move_clock(
    request: Request, account_id: str, session: Annotated[Session, signed_in(CLOCK)]
) -> Response:
    form = await form_of(request)
    try:
        to = _instant(form.get("now"), "now")
        issued = await apply_once(
            request, _principal(session), billing.advance_clock, account_id=account_id, to=to
        )
    except DomainError as refusal:
        return await _account_page(
            request,
            session,
            account_id,
            status=status_of(refusal),
            errors=errors_of(refusal),
        )
    numbers = ", ".join(i.number for i in issued)
    text = f"The clock reads {to:%Y-%m-%d %H:%M} UTC: {len(issued)} documents issued"
    text += f" ({numbers})." if numbers else "."
    response = redirect(request, f"/console/operator/accounts/{account_id}")
    flash(response, request, session.secret, {"kind": "ok", "text": text})
    return response
