"""A pool's capacity changed by a contract version, a seat-change request or a
billing run: in the seat ledger and in the audit log (helper, no commit)."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from seatledger.domain.ledger import LedgerEntry
from seatledger.domain.pools import Pool
from seatledger.services.seats import record_capacity_change
from seatledger.services.unit_of_work import UnitOfWork


def change_capacity(
    uow: UnitOfWork,
    *,
    pool: Pool,
    delta: int,
    at: datetime,
    actor: str,
    cause: str,
    recorded_at: datetime | None = None,
    commit_floor: bool = False,
    purchased: bool = False,
) -> LedgerEntry:
    """``seats.record_capacity_change``, recorded as ``pool.capacity_changed``
    (the pool before, and after with why: ``cause`` and ``purchased``; capacity
    and seats in use as the ledger has them).
    ``at``: when the change takes effect (the ledger's time); ``recorded_at``: the
    account's time when it is made, if another (a back-dated contract version)."""
    before = replace(pool)
    entry = record_capacity_change(
        uow,
        pool=pool,
        delta=delta,
        at=at,
        actor=actor,
        cause=cause,
        commit_floor=commit_floor,
        purchased=purchased,
    )
    in_use = entry.in_use_after
    after = replace(
        pool,
        capacity=entry.capacity_after,
        in_use=in_use,
        committed_capacity=entry.capacity_after if commit_floor else pool.committed_capacity,
    )
    uow.record(
        "pool.capacity_changed",
        subject=f"pool:{pool.id}",
        account_id=pool.account_id,
        at=recorded_at or at,
        before=replace(before, capacity=entry.capacity_after - entry.delta, in_use=in_use),
        after={**asdict(after), "cause": cause, "purchased": purchased},
    )
    return entry
