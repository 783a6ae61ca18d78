"""Routes: seat-change requests and the operator's approvals."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.schemas import (
    ApproveIn,
    Page,
    RejectIn,
    SeatRequestCreate,
    SeatRequestPublic,
)
from seatledger.services import seat_requests

router = APIRouter(prefix="/v1", tags=["seat requests"])


@router.post(
    "/accounts/{account_id}/seat-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=SeatRequestPublic,
)
def request_seat_change(
    account_id: str, body: SeatRequestCreate, uow: Uow, now: Now, principal: CurrentPrincipal
) -> JSONResponse | SeatRequestPublic:
    result = seat_requests.request_seat_change(
        uow,
        account_id=account_id,
        module=body.module,
        target_capacity=body.target_capacity,
        preview=body.preview,
        at=now,
        actor=principal.actor,
    )
    out = SeatRequestPublic.of(result.request, preview=not result.stored)
    if not result.stored:
        return JSONResponse(out.model_dump(mode="json"), status_code=200)
    return out


@router.get("/accounts/{account_id}/seat-requests", response_model=Page[SeatRequestPublic])
def list_account_seat_requests(
    account_id: str,
    uow: Uow,
    page: Paging,
    _: CurrentPrincipal,
    status_: Annotated[
        Literal["pending", "scheduled", "applied", "rejected"] | None, Query(alias="status")
    ] = None,
) -> dict:  # type: ignore[type-arg]
    items = seat_requests.list_seat_requests(
        uow, account_id=account_id, status=status_, limit=page.limit + 1, after=page.after
    )
    return page.respond([SeatRequestPublic.of(r) for r in items], [r.id for r in items])


@router.get("/seat-requests", response_model=Page[SeatRequestPublic])
def list_seat_requests(
    uow: Uow,
    page: Paging,
    _: CurrentPrincipal,
    status_: Annotated[
        Literal["pending", "scheduled", "applied", "rejected"] | None, Query(alias="status")
    ] = None,
) -> dict:  # type: ignore[type-arg]
    items = seat_requests.list_seat_requests(
        uow, status=status_, limit=page.limit + 1, after=page.after
    )
    return page.respond([SeatRequestPublic.of(r) for r in items], [r.id for r in items])


@router.post("/seat-requests/{request_id}/approve", response_model=SeatRequestPublic)
def approve_seat_request(
    request_id: str, uow: Uow, now: Now, principal: CurrentPrincipal, body: ApproveIn | None = None
) -> SeatRequestPublic:
    body = body or ApproveIn()
    return SeatRequestPublic.of(
        seat_requests.approve_seat_request(
            uow, request_id=request_id, effective=body.effective, at=now, actor=principal.actor
        )
    )


@router.post("/seat-requests/{request_id}/reject", response_model=SeatRequestPublic)
def reject_seat_request(
    request_id: str, body: RejectIn, uow: Uow, now: Now, principal: CurrentPrincipal
) -> SeatRequestPublic:
    return SeatRequestPublic.of(
        seat_requests.reject_seat_request(
            uow, request_id=request_id, reason=body.reason, at=now, actor=principal.actor
        )
    )
