"""Seat-change requests: the Billing tab (PRODUCT.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.contracts import check_seat_count
from seatledger.domain.errors import RuleRefusal
from seatledger.domain.seat_policies import CAPPED_POLICIES, METERED, PoolState

PENDING, SCHEDULED, APPLIED, REJECTED = "pending", "scheduled", "applied", "rejected"
EFFECTIVE_NOW, EFFECTIVE_RENEWAL = "now", "renewal"

BELOW_MINIMUM = "The number of licenses cannot be less than the minimum set for your account"


@dataclass
class SeatRequest:
    id: str
    account_id: str
    module: str
    from_capacity: int
    target_capacity: int
    delta: int
    status: str
    message: str
    effective: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    decided_at: datetime | None = None


def change_message(delta: int, charge: str | None = None) -> str:
    """ "+1 seat will be requested", "+3 seats…", "−2 seats…"; then the charge
    where there is one ("+1 seat will be requested: 15.00 EUR now")."""
    sign = "+" if delta > 0 else "\u2212"
    noun = "seat" if abs(delta) == 1 else "seats"
    text = f"{sign}{abs(delta)} {noun} will be requested"
    return f"{text}: {charge}" if charge else text


def check_target(pool: PoolState, target: object, *, at_renewal: bool = False) -> int:
    """The rules that refuse a request at once (422, nothing stored), and that
    are checked again when a decrease is approved or reaches its renewal.
    A target is a seat count like a contract's capacity (at most ``MAX_CAPACITY``).
    ``at_renewal``: the request may wait for the renewal (a new request, an approval
    for the renewal), so the capacity added this term does not refuse it."""
    target = check_seat_count(target, field="target_capacity")
    if pool.policy == METERED:
        raise RuleRefusal(
            f"Pool {pool.module!r} is metered: it has no capacity to change.",
            field="module",
        )
    if target == pool.capacity:
        raise RuleRefusal(
            f"Pool {pool.module!r} already has {pool.capacity} seats.", field="target_capacity"
        )
    if target < pool.minimum:
        raise RuleRefusal(BELOW_MINIMUM, field="target_capacity", minimum=pool.minimum)
    if pool.policy in CAPPED_POLICIES and target < pool.in_use:
        raise RuleRefusal(
            f"{pool.in_use} seats of pool {pool.module!r} are in use: remove users first "
            f"before reducing the licenses to {target}.",
            field="target_capacity",
            in_use=pool.in_use,
        )
    # NOTE: seats added this term by true-up or auto_purchase may be reduced only
    # at the renewal: such a request is accepted (pending) and approvable for it.
    if not at_renewal and target < pool.committed_capacity:
        raise RuleRefusal(
            f"Seats added this term cannot be reduced during the contract: pool "
            f"{pool.module!r} keeps at least {pool.committed_capacity} until the renewal.",
            field="target_capacity",
            committed_capacity=pool.committed_capacity,
        )
    return target


def check_direction(request: SeatRequest, pool: PoolState) -> int:
    """A request keeps the direction it was made in: checked against the
    capacity now (at approval, at the renewal), a decrease that no longer
    decreases, or an increase that no longer increases, is refused, never
    inverted. Returns the change from the capacity now."""
    delta = request.target_capacity - pool.capacity
    if delta * request.delta <= 0:
        kind = "decrease" if request.delta < 0 else "increase"
        raise RuleRefusal(
            f"Pool {pool.module!r} has {pool.capacity} seats now: the {kind} from "
            f"{request.from_capacity} to {request.target_capacity} seats no longer {kind}s it.",
            field="target_capacity",
            capacity=pool.capacity,
        )
    return delta


def initial_status(delta: int, *, increase_approval: str) -> str:
    """An increase is applied at once under ``automatic`` approval; anything
    else waits for an operator."""
    if delta > 0 and increase_approval == "automatic":
        return APPLIED
    return PENDING
