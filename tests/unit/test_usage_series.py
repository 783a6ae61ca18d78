"""domain.ledger.usage_series: the Plan chart's steps from the seat ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    SEAT_TAKEN,
    LedgerEntry,
    UsagePoint,
    usage_series,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(module: str, days: float, kind: str, in_use: int, capacity: int) -> LedgerEntry:
    return LedgerEntry(
        account_id="acc",
        module=module,
        kind=kind,
        delta=1,
        in_use_after=in_use,
        capacity_after=capacity,
        at=T0 + timedelta(days=days),
        actor="system",
        cause="test",
    )


def test_steps_begin_at_the_numbers_before_the_range_and_end_at_its_end() -> None:
    start, end = T0 + timedelta(days=10), T0 + timedelta(days=20)
    before = [entry("console", 3, SEAT_TAKEN, 2, 5)]
    inside = [
        entry("console", 1, SEAT_TAKEN, 1, 5),  # before the range: ignored
        entry("console", 12, SEAT_TAKEN, 3, 5),
        entry("console", 15, SEAT_TAKEN, 4, 5),
        entry("console", 15, CAPACITY_CHANGED, 4, 6),  # same instant: the last counts
        entry("console", 25, SEAT_TAKEN, 5, 6),  # after the range: ignored
    ]
    assert usage_series(start, end, before, inside) == {
        "console": [
            UsagePoint(start, 2, 5),
            UsagePoint(T0 + timedelta(days=12), 3, 5),
            UsagePoint(T0 + timedelta(days=15), 4, 6),
            UsagePoint(end, 4, 6),
        ]
    }


def test_a_module_without_history_before_begins_at_its_first_entry() -> None:
    start, end = T0, T0 + timedelta(days=5)
    series = usage_series(start, end, [], [entry("documents", 2, SEAT_TAKEN, 1, 1)])
    assert series == {
        "documents": [UsagePoint(T0 + timedelta(days=2), 1, 1), UsagePoint(end, 1, 1)]
    }
    assert usage_series(start, end, [], []) == {}
