"""Use cases: seat-change requests (PRODUCT.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from seatledger.domain.errors import Conflict, InvalidInput, NotFound, RuleRefusal
from seatledger.domain.ids import new_id
from seatledger.domain.ledger import CAPACITY_CHANGED, CAUSE_SEAT_REQUEST, LedgerEntry
from seatledger.domain.seat_requests import (
    APPLIED,
    EFFECTIVE_NOW,
    EFFECTIVE_RENEWAL,
    PENDING,
    REJECTED,
    SCHEDULED,
    SeatRequest,
    change_message,
    check_direction,
    check_target,
    initial_status,
)
from seatledger.services.charges import issue_charges, preview_charge
from seatledger.services.seats import record_capacity_change
from seatledger.services.unit_of_work import UnitOfWork


@dataclass
class SeatRequestResult:
    request: SeatRequest
    stored: bool


def record_request_change(
    uow: UnitOfWork,
    event: str,
    request: SeatRequest,
    *,
    at: datetime,
    before: SeatRequest | None = None,
) -> None:
    """``seat_change.*`` in the audit log: the request as it was and as it is now."""
    uow.record(
        event,
        subject=f"seat_request:{request.id}",
        account_id=request.account_id,
        at=at,
        before=before,
        after=replace(request),
    )


def _pool(uow: UnitOfWork, account_id: str, module: str):  # type: ignore[no-untyped-def]
    pool = uow.pools.live(account_id).get(module)
    if pool is None:
        raise InvalidInput(
            f"unknown module {module!r}: no pool of the account's contract names it", field="module"
        )
    return pool


def request_seat_change(
    uow: UnitOfWork,
    *,
    account_id: str,
    module: str,
    target_capacity: int,
    at: datetime,
    actor: str,
    preview: bool = False,
) -> SeatRequestResult:
    """Refusals are 422 and store nothing; a preview stores nothing either.
    An increase under ``automatic`` approval is applied at once."""
    with uow:
        account = uow.lock_account(account_id)
        at = account.time_at(at)
        pool = _pool(uow, account_id, module)
        check_target(pool.state, target_capacity, at_renewal=True)
        contract = uow.contracts.in_force(account_id)
        approval = contract.increase_approval if contract else "automatic"
        delta = target_capacity - pool.capacity
        status = initial_status(delta, increase_approval=approval)
        charge = None
        if status == APPLIED:
            charge = preview_charge(
                uow,
                account,
                LedgerEntry(
                    account_id=account_id,
                    module=module,
                    kind=CAPACITY_CHANGED,
                    delta=delta,
                    in_use_after=pool.in_use,
                    capacity_after=target_capacity,
                    at=at,
                    actor=actor,
                    cause=CAUSE_SEAT_REQUEST,
                    purchased=True,
                ),
            )
        request = SeatRequest(
            id=new_id("sreq"),
            account_id=account_id,
            module=module,
            from_capacity=pool.capacity,
            target_capacity=target_capacity,
            delta=delta,
            status=status,
            message=change_message(delta, charge),
            created_at=at,
            effective=EFFECTIVE_NOW if status == APPLIED else None,
            decided_at=at if status == APPLIED else None,
        )
        if preview:
            return SeatRequestResult(request, stored=False)
        uow.seat_requests.add(request, pool_id=pool.id, requested_by=actor)
        record_request_change(uow, "seat_change.requested", request, at=at)
        if status == APPLIED:
            purchase = record_capacity_change(
                uow,
                pool=pool,
                delta=delta,
                at=at,
                actor=actor,
                cause=CAUSE_SEAT_REQUEST,
                purchased=True,
            )
            record_request_change(uow, "seat_change.applied", request, at=at)
            issue_charges(uow, account, [purchase])
        uow.commit()
    return SeatRequestResult(request, stored=True)


def _load_request(uow: UnitOfWork, request_id: str) -> SeatRequest:
    request = uow.seat_requests.get(request_id)
    if request is None:
        raise NotFound(f"seat request {request_id} not found", field="request_id")
    return request


def approve_seat_request(
    uow: UnitOfWork,
    *,
    request_id: str,
    at: datetime,
    actor: str,
    effective: str = EFFECTIVE_RENEWAL,
) -> SeatRequest:
    """An operator approves: an increase applies now; a decrease applies now
    (checked again against the rules) or is scheduled for the renewal. A
    request that no longer goes its way from the capacity now (another
    approval, a contract version or a purchase moved it) becomes ``rejected``
    with the reason, and nothing else changes."""
    if effective not in (EFFECTIVE_NOW, EFFECTIVE_RENEWAL):
        raise InvalidInput("effective must be 'now' or 'renewal'", field="effective")
    with uow:
        account = uow.lock_account_of("seat_request", request_id)
        account_id = account.id
        at = account.time_at(at)
        request = _load_request(uow, request_id)
        if request.status != PENDING:
            raise Conflict(
                f"seat request {request_id} is {request.status}, not pending", field="status"
            )
        pool = _pool(uow, account_id, request.module)
        before = replace(request)
        request.decided_at = at
        try:
            delta = check_direction(request, pool.state)
        except RuleRefusal as lost:
            request.status, request.reason = REJECTED, lost.message
            record_request_change(uow, "seat_change.rejected", request, at=at, before=before)
        else:
            request.effective = EFFECTIVE_NOW if delta > 0 else effective
            check_target(
                pool.state,
                request.target_capacity,
                at_renewal=request.effective == EFFECTIVE_RENEWAL,
            )
            if request.effective == EFFECTIVE_NOW:
                request.status = APPLIED
                record_request_change(uow, "seat_change.approved", request, at=at, before=before)
                change = record_capacity_change(
                    uow,
                    pool=pool,
                    delta=delta,
                    at=at,
                    actor=actor,
                    cause=CAUSE_SEAT_REQUEST,
                    purchased=delta > 0,
                )
                record_request_change(uow, "seat_change.applied", request, at=at, before=before)
                if delta > 0:
                    issue_charges(uow, account, [change])
            else:
                request.status = SCHEDULED
                record_request_change(uow, "seat_change.approved", request, at=at, before=before)
        uow.seat_requests.save(request)
        uow.commit()
    return request


def reject_seat_request(
    uow: UnitOfWork, *, request_id: str, reason: str, at: datetime, actor: str
) -> SeatRequest:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a rejection needs a reason", field="reason")
    with uow:
        at = uow.lock_account_of("seat_request", request_id).time_at(at)
        request = _load_request(uow, request_id)
        if request.status not in (PENDING, SCHEDULED):
            raise Conflict(f"seat request {request_id} is {request.status}", field="status")
        before = replace(request)
        request.status, request.reason, request.decided_at = REJECTED, reason.strip(), at
        uow.seat_requests.save(request)
        record_request_change(uow, "seat_change.rejected", request, at=at, before=before)
        uow.commit()
    return request


def list_seat_requests(
    uow: UnitOfWork,
    *,
    account_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> list[SeatRequest]:
    with uow:
        if account_id:
            uow.read_account(account_id)
        return uow.seat_requests.list(
            account_id=account_id, status=status, limit=limit, after=after
        )


def get_seat_request(uow: UnitOfWork, *, request_id: str) -> SeatRequest:
    with uow:
        return _load_request(uow, request_id)


def account_of_request(uow: UnitOfWork, *, request_id: str) -> str | None:
    """The account a seat request belongs to; None for no such request."""
    with uow:
        request = uow.seat_requests.get(request_id)
        return request.account_id if request else None
