"""Taking and releasing seats under the pool policies (PRODUCT.md §3).

Helpers for the use cases: they never commit, never issue a document (the seats
they buy are returned for the use case to charge), and they must run after
``uow.lock_account`` so that the pool numbers they read cannot move.

Each seat taken, released or bought and each pool that becomes full is
recorded for the audit log (``uow.record``) from the numbers the statements
that make the change return: no query of their own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from seatledger.adapters.db.repositories.seats import SeatTerms
from seatledger.domain.accounts import Profile
from seatledger.domain.contracts import check_seats_may_be_taken
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_AUTO_PURCHASE,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.pools import Pool
from seatledger.domain.seat_policies import (
    INACTIVE_WHEN_FULL,
    INACTIVE_WHEN_FULL_WARNING,
    METERED,
    plan_seat_take,
    refusal,
)
from seatledger.domain.users import INACTIVE, User
from seatledger.services.unit_of_work import UnitOfWork


def wanted_modules(
    uow: UnitOfWork,
    user: User,
    pools: dict[str, Pool],
    profiles: dict[str, Profile] | None = None,
) -> set[str]:
    """§1: seats in the pools its profile grants, when active and in a workspace.
    ``profiles``: the account's profiles by id, when the caller read them."""
    if not user.needs_seats or user.profile_id is None:
        return set()
    if profiles is not None:
        profile = profiles.get(user.profile_id)
    else:
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
    terms: SeatTerms | None = None,
    held: dict[str, str] | None = None,
) -> SeatSync:
    """Make the user's seats match what it should hold.

    Releases first, then takes every missing seat in one plan (all or
    nothing). A plan that says "save inactive" sets ``user.status`` to
    inactive (the caller saves the user). Refusals raise and, as nothing is
    committed, leave nothing behind. ``held``: the seats the user holds (module
    → pool id) when the caller read them with the user under this lock;
    ``terms``: the account's live pools, the user's profile and the contract's
    end when the caller read them (a contract version seating many users reads
    them once): the pools' ``in_use`` and ``capacity`` are kept as the seats
    taken and released leave them, so that the next user is planned on them.
    """
    held = uow.seats.held(user.id) if held is None else held
    wanted: set[str] = set()
    if user.needs_seats and user.profile_id is not None:
        if terms is None:
            terms = uow.pools.seat_terms(user.account_id, user.profile_id)
        wanted = terms.profile.grants(set(terms.pools)) if terms.profile else set()
    pools = terms.pools if terms is not None else {}

    def release(modules: set[str]) -> None:
        for module in sorted(modules):
            release_seat(
                uow,
                user=user,
                module=module,
                pool_id=held[module],
                at=at,
                actor=actor,
                cause=operation,
                pool=pools.get(module),
            )

    release(set(held) - wanted)
    missing = sorted(wanted - set(held))
    if not missing or terms is None:
        return SeatSync([], sorted(wanted))
    check_seats_may_be_taken(terms.contract_end, at.date())
    plan = plan_seat_take(
        [pools[m].state for m in missing], operation=operation, add_license=add_license
    )
    if plan.outcome == "save_inactive":
        for full in (pools[m] for m in missing):
            if full.policy == INACTIVE_WHEN_FULL and full.state.is_full:
                _record_limit_reached(
                    uow,
                    full,
                    in_use=full.in_use,
                    capacity=full.capacity,
                    user=user,
                    at=at,
                    actor=actor,
                    reason="saved_inactive",
                )
        user.status = INACTIVE
        release(wanted & set(held))
        return SeatSync(list(plan.warnings), [])
    purchases: list[LedgerEntry] = []
    for step in plan.steps:
        pool = pools[step.module]
        if step.grow:
            purchase = record_capacity_change(
                uow,
                pool=pool,
                delta=+1,
                at=at,
                actor=actor,
                cause=step.cause or "purchase",
                commit_floor=step.cause == CAUSE_AUTO_PURCHASE,
                purchased=True,
                user_id=user.id,
            )
            purchases.append(purchase)
        after = uow.pools.take_seat(pool.id)
        if after is None:  # pragma: no cover - the plan was made under the account lock
            raise refusal(pool.state, INACTIVE_WHEN_FULL_WARNING)
        pool.in_use, pool.capacity = after
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
            id_wanted=False,
        )
        uow.record(
            "seat.taken",
            subject=_seat_subject(user.id, pool.module),
            account_id=user.account_id,
            at=at,
            after=_seat(user, pool.module, pool.id, operation, in_use=after[0], capacity=after[1]),
            actor=actor,
        )
        # NOTE: a grown or over-capacity seat goes to a pool that was full already.
        became_full = not (step.grow or step.over_capacity) and after[0] >= after[1]
        if became_full and pool.policy != METERED:
            _record_limit_reached(
                uow,
                pool,
                in_use=after[0],
                capacity=after[1],
                user=user,
                at=at,
                actor=actor,
                reason="last_seat_taken",
            )
    return SeatSync(list(plan.warnings), sorted(wanted), purchases)


def _seat_subject(user_id: str, module: str) -> str:
    return f"seat:{user_id}:{module}"


def _seat(
    user: User, module: str, pool_id: str, cause: str, *, in_use: int, capacity: int
) -> dict[str, object]:
    """A seat as the audit log shows it, with its pool's numbers while it is held."""
    return {
        "user_id": user.id,
        "module": module,
        "pool_id": pool_id,
        "cause": cause,
        "in_use": in_use,
        "capacity": capacity,
    }


def _record_limit_reached(
    uow: UnitOfWork,
    pool: Pool,
    *,
    in_use: int,
    capacity: int,
    user: User,
    at: datetime,
    actor: str,
    reason: str,
) -> None:
    """``reason``: ``last_seat_taken`` (``user`` took it) or ``saved_inactive``
    (``user`` was saved inactive because the pool is full)."""
    uow.record(
        "seat.limit_reached",
        subject=f"pool:{pool.id}",
        account_id=pool.account_id,
        at=at,
        after={
            "pool_id": pool.id,
            "module": pool.module,
            "policy": pool.policy,
            "capacity": capacity,
            "in_use": in_use,
            "reason": reason,
            "user_id": user.id,
        },
        actor=actor,
    )


def release_seat(
    uow: UnitOfWork,
    *,
    user: User,
    module: str,
    pool_id: str,
    at: datetime,
    actor: str,
    cause: str,
    pool: Pool | None = None,
) -> None:
    """``pool``: the pool in memory, if the caller keeps it (its numbers follow)."""
    in_use, capacity = uow.pools.release_seat(pool_id)
    if pool is not None:
        pool.in_use, pool.capacity = in_use, capacity
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
        id_wanted=False,
    )
    uow.record(
        "seat.released",
        subject=_seat_subject(user.id, module),
        account_id=user.account_id,
        at=at,
        before=_seat(user, module, pool_id, cause, in_use=in_use + 1, capacity=capacity),
        actor=actor,
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
    user_id: str | None = None,
    recorded_at: datetime | None = None,
) -> LedgerEntry:
    """Appends the change to the seat ledger and records ``pool.capacity_changed``
    (the pool before and after, and why: ``cause``, ``purchased``, ``user_id``),
    and returns the ledger entry: a purchased increase, with its id, is for the
    use case to charge (its charge is keyed by it); any other change's entry has
    no id read back (it is sent without waiting on PostgreSQL). ``user_id``: the
    user whose seat bought it. ``at``: when the change takes effect (the
    ledger's time); ``recorded_at``: the account's time when it is made, if
    another (a back-dated contract version)."""
    before = replace(pool)
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
        user_id=user_id,
        purchased=purchased,
    )
    entry_id = (
        uow.ledger.append(entry, pool_id=pool.id)
        if purchased
        else uow.ledger.append(entry, pool_id=pool.id, id_wanted=False)
    )
    pool.capacity = capacity
    after = replace(
        pool,
        in_use=in_use,
        committed_capacity=capacity if commit_floor else pool.committed_capacity,
    )
    uow.record(
        "pool.capacity_changed",
        subject=f"pool:{pool.id}",
        account_id=pool.account_id,
        at=recorded_at or at,
        before=replace(before, capacity=capacity - delta, in_use=in_use),
        after={**asdict(after), "cause": cause, "purchased": purchased, "user_id": user_id},
    )
    return replace(entry, id=entry_id)
