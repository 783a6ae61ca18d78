"""The seat ledger: append-only events; counts are projections of it.

Kinds: ``seat_taken`` (+1 in use), ``seat_released`` (−1 in use) and
``capacity_changed`` (capacity ± delta). Each row records the pool's numbers
right after it (``in_use_after``, ``capacity_after``), written under the
account lock, so the ledger alone shows whether a limit was ever broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

SEAT_TAKEN = "seat_taken"
SEAT_RELEASED = "seat_released"
CAPACITY_CHANGED = "capacity_changed"

# causes of capacity changes
CAUSE_CONTRACT = "contract"
CAUSE_ADD_LICENSE = "add_license"
CAUSE_AUTO_PURCHASE = "auto_purchase"
CAUSE_SEAT_REQUEST = "seat_request"
CAUSE_TRUE_UP = "true_up"
CAUSE_RENEWAL = "renewal"


@dataclass(frozen=True)
class LedgerEntry:
    account_id: str
    module: str
    kind: str
    delta: int
    in_use_after: int
    capacity_after: int
    at: datetime
    actor: str
    cause: str
    user_id: str | None = None
    purchased: bool = False
    id: int | None = None


@dataclass
class PoolCount:
    in_use: int = 0
    capacity: int = 0


def replay(entries: Iterable[LedgerEntry]) -> dict[str, PoolCount]:
    """Recount every pool from the ledger (entries in append order)."""
    counts: dict[str, PoolCount] = {}
    for e in entries:
        count = counts.setdefault(e.module, PoolCount())
        if e.kind == SEAT_TAKEN:
            count.in_use += 1
        elif e.kind == SEAT_RELEASED:
            count.in_use -= 1
        elif e.kind == CAPACITY_CHANGED:
            count.capacity += e.delta
    return counts


def limit_breaches(entries: Iterable[LedgerEntry], capped_modules: set[str]) -> list[LedgerEntry]:
    """Entries after which a capped pool (block / inactive_when_full) had more
    seats in use than capacity, replaying the ledger itself (not trusting the
    recorded ``*_after`` numbers), plus entries whose recorded numbers disagree
    with the replay."""
    bad: list[LedgerEntry] = []
    counts: dict[str, PoolCount] = {}
    for e in entries:
        count = counts.setdefault(e.module, PoolCount())
        if e.kind == SEAT_TAKEN:
            count.in_use += 1
        elif e.kind == SEAT_RELEASED:
            count.in_use -= 1
        elif e.kind == CAPACITY_CHANGED:
            count.capacity += e.delta
        over = e.module in capped_modules and count.in_use > count.capacity
        drift = (count.in_use, count.capacity) != (e.in_use_after, e.capacity_after)
        if over or drift or count.in_use < 0:
            bad.append(e)
    return bad


@dataclass(frozen=True)
class UsagePoint:
    """A pool's numbers from ``at`` on (until the next point)."""

    at: datetime
    in_use: int
    capacity: int


def usage_series(
    start: datetime,
    end: datetime,
    before: Iterable[LedgerEntry],
    entries: Iterable[LedgerEntry],
) -> dict[str, list[UsagePoint]]:
    """Per module, seats in use and capacity from ``start`` to ``end`` as steps: a
    point at ``start`` (the numbers after the module's last entry before it, in
    ``before``), one after each instant of ``entries`` (those in ``[start, end]``,
    in append order; of several at one instant, the last counts) and one at ``end``.
    A module with no entry before ``start`` begins at its first entry."""
    series: dict[str, list[UsagePoint]] = {
        e.module: [UsagePoint(start, e.in_use_after, e.capacity_after)] for e in before
    }
    for e in entries:
        if not start <= e.at <= end:
            continue
        points = series.setdefault(e.module, [])
        point = UsagePoint(e.at, e.in_use_after, e.capacity_after)
        if points and points[-1].at == e.at:
            points[-1] = point
        else:
            points.append(point)
    for points in series.values():
        if points[-1].at < end:
            points.append(replace(points[-1], at=end))
    return series
