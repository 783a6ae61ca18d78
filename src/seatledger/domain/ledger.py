"""The seat ledger: append-only events; counts are projections of it.

Kinds: ``seat_taken`` (+1 in use), ``seat_released`` (−1 in use) and
``capacity_changed`` (capacity ± delta). Each row records the pool's numbers
right after it (``in_use_after``, ``capacity_after``), written under the
account lock, so the ledger alone shows whether a limit was ever broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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
