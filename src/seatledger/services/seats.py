"""Taking and releasing seats under the pool policies (PRODUCT.md §3).

Helpers for the use cases: they never commit, never issue a document (the seats
they buy are returned for the use case to charge), and they must run after
``uow.lock_account`` so that the pool numbers they read cannot move.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from seatledger.domain.contracts import check_seats_may_be_taken
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_AUTO_PURCHASE,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.pools import Pool
from seatledger.domain.seat_policies import INACTIVE_WHEN_FULL_WARNING, plan_seat_take, refusal
from seatledger.domain.users import INACTIVE, User
from seatledger.services.unit_of_work import UnitOfWork


def wanted_modules(uow: UnitOfWork, user: User, pools: dict[str, Pool]) -> set[str]:
    """§1: seats in the pools its profile grants, when active and in a workspace."""
    if not user.needs_seats or user.profile_id is None:
        return set()
    profile = uow.profiles.get(user.account_id, user.profile_id)
    if profile is None:
        return set()
    return profile.grants(set(pools))


@dataclass(frozen=True)
class SeatSync:
    warnings: list[str]
    seats: list[str]  # modules held afterwards
    purchases: list[LedgerEntry] = field(default_factory=list)  # seats bought: to charge


def sync_seats(
    uow: UnitOfWork,
    *,
    user: User,
    operation: str,
    at: datetime,
    actor: str,
    add_license: bool = False,
    pools: dict[str, Pool] | None = None,
) -> SeatSync:
    """Make the user's seats match what it should hold.

    Releases first, then takes every missing seat in one plan (all or
    nothing). A plan that says "save inactive" sets ``user.status`` to
    inactive (the caller saves the user). Refusals raise and, as nothing is
    committed, leave nothing behind.
    """
    held = uow.seats.held(user.id)
    wanted: set[str] = set()
    if user.needs_seats and user.profile_id is not None:
        pools = pools if pools is not None else uow.pools.live(user.account_id)
        wanted = wanted_modules(uow, user, pools)
    for module in sorted(set(held) - wanted):
        release_seat(
            uow, user=user, module=module, pool_id=held[module], at=at, actor=actor, cause=operation
        )
    missing = sorted(wanted - set(held))
    if not missing or pools is None:
        return SeatSync([], sorted(wanted))
    check_seats_may_be_taken(uow.contracts.latest_end(user.account_id)[1], at.date())
    plan = plan_seat_take(
        [pools[m].state for m in missing], operation=operation, add_license=add_license
    )
    if plan.outcome == "save_inactive":
        user.status = INACTIVE
        for module in sorted(wanted & set(held)):
            release_seat(
                uow,
                user=user,
                module=module,
                pool_id=held[module],
                at=at,
                actor=actor,
                cause=operation,
            )
        return SeatSync(list(plan.warnings), [])
    purchases: list[LedgerEntry] = []
    for step in plan.steps:
        pool = pools[step.module]
        if step.grow:
            in_use, capacity = uow.pools.change_capacity(
                pool.id, +1, commit_floor=step.cause == CAUSE_AUTO_PURCHASE
            )
            purchase = LedgerEntry(
                account_id=user.account_id,
                module=pool.module,
                kind=CAPACITY_CHANGED,
                delta=+1,
                in_use_after=in_use,
                capacity_after=capacity,
                at=at,
                actor=actor,
                cause=step.cause or "purchase",
                user_id=user.id,
                purchased=True,
            )
            entry_id = uow.ledger.append(purchase, pool_id=pool.id)
            purchases.append(replace(purchase, id=entry_id))
        after = uow.pools.take_seat(pool.id)
        if after is None:  # pragma: no cover - the plan was made under the account lock
            raise refusal(pool.state, INACTIVE_WHEN_FULL_WARNING)
        uow.seats.add(
            user_id=user.id, module=pool.module, pool_id=pool.id, account_id=user.account_id, at=at
        )
        uow.ledger.append(
            LedgerEntry(
                account_id=user.account_id,
                module=pool.module,
                kind=SEAT_TAKEN,
                delta=+1,
                in_use_after=after[0],
                capacity_after=after[1],
                at=at,
                actor=actor,
                cause=operation,
                user_id=user.id,
            ),
            pool_id=pool.id,
        )
    return SeatSync(list(plan.warnings), sorted(wanted), purchases)


def release_seat(
    uow: UnitOfWork,
    *,
    user: User,
    module: str,
    pool_id: str,
    at: datetime,
    actor: str,
    cause: str,
) -> None:
    in_use, capacity = uow.pools.release_seat(pool_id)
    uow.seats.remove(user.id, module)
    uow.ledger.append(
        LedgerEntry(
            account_id=user.account_id,
            module=module,
            kind=SEAT_RELEASED,
            delta=-1,
            in_use_after=in_use,
            capacity_after=capacity,
            at=at,
            actor=actor,
            cause=cause,
            user_id=user.id,
        ),
        pool_id=pool_id,
    )


def record_capacity_change(
    uow: UnitOfWork,
    *,
    pool: Pool,
    delta: int,
    at: datetime,
    actor: str,
    cause: str,
    commit_floor: bool = False,
    purchased: bool = False,
) -> LedgerEntry:
    """Appends the change and returns it (with its id): a purchased increase is for
    the use case to charge."""
    in_use, capacity = uow.pools.change_capacity(pool.id, delta, commit_floor=commit_floor)
    entry = LedgerEntry(
        account_id=pool.account_id,
        module=pool.module,
        kind=CAPACITY_CHANGED,
        delta=delta,
        in_use_after=in_use,
        capacity_after=capacity,
        at=at,
        actor=actor,
        cause=cause,
        purchased=purchased,
    )
    entry_id = uow.ledger.append(entry, pool_id=pool.id)
    pool.capacity = capacity
    return replace(entry, id=entry_id)
