"""The five seat policies of PRODUCT.md §3, as they act on seats.

``plan_seat_take`` is the one decision: given the pools a user needs (their
state read under the account lock) it answers what happens, all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seatledger.domain.errors import SeatLimitReached

BLOCK = "block"
INACTIVE_WHEN_FULL = "inactive_when_full"
TRUE_UP = "true_up"
AUTO_PURCHASE = "auto_purchase"
METERED = "metered"
POLICIES = (BLOCK, INACTIVE_WHEN_FULL, TRUE_UP, AUTO_PURCHASE, METERED)
# NOTE: under these two policies in_use ≤ capacity, always (a CHECK in the database too).
CAPPED_POLICIES = (BLOCK, INACTIVE_WHEN_FULL)

INACTIVE_WHEN_FULL_WARNING = (
    "Not enough available user licenses to add new active user. You can still create a "
    "user but it will be inactive until you free up the license"
)

# Operations that give a user seats (§3). Only these two may fall back to
# saving the user inactive under `inactive_when_full`.
SAVE_INACTIVE_OPERATIONS = ("create", "accept")


@dataclass(frozen=True)
class PoolState:
    module: str
    policy: str
    capacity: int
    minimum: int
    in_use: int
    committed_capacity: int = 0

    @property
    def is_full(self) -> bool:
        # NOTE: a metered pool is never full; true_up and auto_purchase pools may be
        # "full" but never refuse.
        return self.policy != METERED and self.in_use >= self.capacity

    @property
    def available(self) -> int | None:
        if self.policy == METERED:
            return None
        return max(0, self.capacity - self.in_use)

    @property
    def additional(self) -> int:
        """Plan view (seed 004): seats bought beyond the commitment."""
        if self.policy == METERED:
            return 0
        return max(0, self.capacity - self.minimum)


@dataclass(frozen=True)
class SeatStep:
    """Take one seat in ``module``; ``grow`` raises capacity by one first
    (``cause`` says why: ``add_license`` or ``auto_purchase``, a purchased,
    non-refundable seat); ``over_capacity`` marks a true-up seat."""

    module: str
    grow: bool = False
    cause: str | None = None
    over_capacity: bool = False


@dataclass(frozen=True)
class TakePlan:
    outcome: str  # "take" | "save_inactive"
    steps: tuple[SeatStep, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def true_up_warning(pool: PoolState) -> str:
    return (
        f"Pool {pool.module!r} now has {pool.in_use + 1} seats in use for {pool.capacity} "
        "purchased: the extra seats will be billed at the month's close (true-up)."
    )


def refusal(pool: PoolState, message: str | None = None) -> SeatLimitReached:
    return SeatLimitReached(
        message
        or (
            f"No free seat in pool {pool.module!r}: {pool.in_use} of {pool.capacity} in use. "
            "Raise the capacity first."
        ),
        module=pool.module,
        capacity=pool.capacity,
        in_use=pool.in_use,
        available=pool.available,
        policy=pool.policy,
    )


def plan_seat_take(
    pools: list[PoolState], *, operation: str, add_license: bool = False
) -> TakePlan:
    """Decide how a user takes one seat in each of ``pools`` (all or nothing).

    - any full ``block`` pool: refused (SeatLimitReached), nothing changes;
    - else a full ``inactive_when_full`` pool without ``add_license``: a create or
      accept is saved inactive with the warning; any other operation is refused
      with the same sentence;
    - else every seat is taken, each pool acting by its policy.
    """
    ordered = sorted(pools, key=lambda p: p.module)
    for pool in ordered:
        if pool.policy == BLOCK and pool.is_full:
            raise refusal(pool)
    for pool in ordered:
        if pool.policy == INACTIVE_WHEN_FULL and pool.is_full and not add_license:
            if operation in SAVE_INACTIVE_OPERATIONS:
                return TakePlan(outcome="save_inactive", warnings=(INACTIVE_WHEN_FULL_WARNING,))
            raise refusal(pool, INACTIVE_WHEN_FULL_WARNING)

    steps: list[SeatStep] = []
    warnings: list[str] = []
    for pool in ordered:
        if not pool.is_full:
            steps.append(SeatStep(pool.module))
        elif pool.policy == INACTIVE_WHEN_FULL:  # add_license was asked for
            steps.append(SeatStep(pool.module, grow=True, cause="add_license"))
        elif pool.policy == AUTO_PURCHASE:
            # NOTE: freed seats are reused first: growth only when in_use ≥ capacity.
            steps.append(SeatStep(pool.module, grow=True, cause="auto_purchase"))
        elif pool.policy == TRUE_UP:
            steps.append(SeatStep(pool.module, over_capacity=True))
            warnings.append(true_up_warning(pool))
        else:  # pragma: no cover - every full policy is handled above
            raise AssertionError(pool.policy)
    return TakePlan(outcome="take", steps=tuple(steps), warnings=tuple(warnings))


def purchase_message(step: SeatStep, charge: str | None, *, priced: bool) -> str:
    """What a seat bought on the way (a ``grow`` step) says before it is bought:
    "+1 user license will be added to pool 'console': 15.00 EUR now" (``charge``,
    from the proration that will invoice it; None: nothing is charged, e.g. in a
    trial). ``priced`` False (someone who sees no prices, PRODUCT.md §2 rule 5):
    that a charge follows, without its amount."""
    what = (
        "seat will be bought in" if step.cause == AUTO_PURCHASE else "user license will be added to"
    )
    text = f"+1 {what} pool {step.module!r}"
    refund = " (not refundable)" if step.cause == AUTO_PURCHASE else ""
    if charge is None:
        return text + refund
    if not priced:
        return f"{text}, and charged{refund}"
    return f"{text}: {charge}{refund}"
