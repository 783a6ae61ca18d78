"""Billing periods and month arithmetic, anchored on the contract start date.

PRODUCT.md §5: periods are half-open, ``[period_start, period_end)``; ``period_end`` is the
first day of the next period. They are anchored on the contract start; a start on the
29th–31st bills on the last day of shorter months (31 January → 28 February → 31 March).
A last period cut short by ``end_date`` (the last day, inclusive) ends the day after it.

PRODUCT.md §3 (true-up): months of the contract are anchored like its billing periods
(calendar months when it starts on the 1st).

Every date here is a UTC calendar date; a period starts at 00:00:00Z of its start date.
Nothing here reads the clock: every function takes the dates it needs.

Errors: a rule of form broken by input (an unknown interval, an end date before the start
date) is ``InvalidInput``; asking for a period outside the contract (a date before its start
or after its end) is a caller's mistake and raises ``ValueError``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from seatledger.domain.errors import InvalidInput

_INTERVAL_MONTHS = {"month": 1, "year": 12}
_ONE_DAY = timedelta(days=1)


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by ``months`` calendar months, its day clamped to the month's end.

    31 Jan 2026 + 1 → 28 Feb 2026; 31 Jan 2028 + 1 → 29 Feb 2028; 31 Jan 2026 + 2 → 31 Mar.

    !!! ALWAYS CALL THIS WITH THE ORIGINAL ANCHOR (the contract start) AND THE TOTAL NUMBER
    !!! OF MONTHS FROM IT — NEVER CHAIN IT ON ITS OWN RESULT.
    Clamping loses the anchor's day: chaining 31 Jan +1 → 28 Feb, then 28 Feb +1 → 28 Mar,
    then 28 Apr, ... drifts every later period to the 28th for the rest of the contract,
    while PRODUCT.md §5 requires 31 Jan → 28 Feb → 31 Mar → 30 Apr. Period n of a contract
    is therefore always ``add_months(contract_start, n × interval_months)``. Every invoice
    ever issued depends on this function: change it only with the tests of test_periods.py.
    """
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError(f"months must be an int, got {type(months).__name__}")
    zero_based = anchor.month - 1 + months
    year = anchor.year + zero_based // 12
    month = zero_based % 12 + 1
    if not date.min.year <= year <= date.max.year:
        raise ValueError(f"{anchor} + {months} months is out of the calendar's range")
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor.day, last_day))


@dataclass(frozen=True)
class Period:
    """A half-open span of UTC days ``[start, end)``: ``end`` is the first day NOT in it."""

    start: date
    end: date

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime) or not isinstance(value, date):
                raise TypeError(f"Period.{name} must be a date, got {type(value).__name__}")
        if self.end <= self.start:
            raise ValueError(f"a period ends after it starts: [{self.start}, {self.end})")

    @property
    def days(self) -> int:
        """Number of days in the period (``D`` of the proration formula)."""
        return (self.end - self.start).days

    def contains(self, d: date) -> bool:
        """Whether the UTC day ``d`` falls in ``[start, end)``."""
        if isinstance(d, datetime) or not isinstance(d, date):
            raise TypeError(f"contains() takes a date, got {type(d).__name__}")
        return self.start <= d < self.end

    def contains_instant(self, instant: datetime) -> bool:
        """Whether a timezone-aware instant falls in ``[start_instant, end_instant)``."""
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise ValueError(f"an instant must be a timezone-aware datetime, got {instant!r}")
        return self.start_instant <= instant < self.end_instant

    @property
    def start_instant(self) -> datetime:
        """00:00:00 UTC of the first day."""
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def end_instant(self) -> datetime:
        """00:00:00 UTC of the first day after the period (exclusive)."""
        return datetime.combine(self.end, time(0), tzinfo=UTC)


def interval_months(interval: str) -> int:
    """Months per billing period: ``"month"`` → 1, ``"year"`` → 12."""
    if not isinstance(interval, str) or interval not in _INTERVAL_MONTHS:
        raise InvalidInput(
            f"billing_interval must be 'month' or 'year', got {interval!r}",
            field="billing_interval",
        )
    return _INTERVAL_MONTHS[interval]


def validate_contract_dates(start: date, end: date | None) -> None:
    """A contract's ``end_date`` (its last day, inclusive) may not precede its start.

    A one-day contract (``end == start``) is valid; ``None`` means evergreen.
    """
    if end is not None and end < start:
        raise InvalidInput(
            f"end_date ({end}) must not be before start_date ({start})", field="end_date"
        )


def nth_period(
    contract_start: date, interval: str, n: int, contract_end: date | None = None
) -> Period:
    """The ``n``-th billing period of the contract (0 is the first).

    Raises ``ValueError`` for a negative ``n`` or a period starting after ``contract_end``.
    """
    validate_contract_dates(contract_start, contract_end)
    step = interval_months(interval)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"period index must be an int >= 0, got {n!r}")
    return _period(contract_start, step, n, contract_end)


def period_containing(
    contract_start: date, interval: str, d: date, contract_end: date | None = None
) -> Period:
    """The billing period that contains the UTC day ``d``.

    Raises ``ValueError`` when ``d`` is before ``contract_start`` or after ``contract_end``.
    """
    validate_contract_dates(contract_start, contract_end)
    step = interval_months(interval)
    _require_within_contract(contract_start, d, contract_end)
    return _period(contract_start, step, _index_containing(contract_start, step, d), contract_end)


def periods_between(
    contract_start: date,
    interval: str,
    first_day: date,
    until: date,
    contract_end: date | None = None,
) -> list[Period]:
    """Every billing period that has at least one day in ``first_day..until`` (inclusive).

    That is every period with ``start <= until`` and ``end > first_day``, in order: the
    first one is the period containing ``first_day`` (it may start before it), the last the
    period containing ``until`` (it may end after it). Days outside the contract have no
    period: ``first_day`` before ``contract_start`` starts at the first period, ``until``
    after ``contract_end`` stops at the last (cut) one. An empty range (``until`` before
    ``first_day``, or no contract day in it) gives ``[]``.

    For a billing run up to ``as_of``: ``periods_between(start, interval, start,
    as_of.date())`` lists every period whose invoice is due (its start is at or before
    ``as_of``, since a period starts at 00:00:00Z of its start date).
    """
    validate_contract_dates(contract_start, contract_end)
    step = interval_months(interval)
    first_day = max(first_day, contract_start)
    if contract_end is not None:
        until = min(until, contract_end)
    if until < first_day:
        return []
    n = _index_containing(contract_start, step, first_day)
    periods: list[Period] = []
    while True:
        period = _period(contract_start, step, n, contract_end)
        if period.start > until:
            return periods
        periods.append(period)
        n += 1
        if contract_end is not None and period.end > contract_end:
            return periods


def month_containing(contract_start: date, d: date, contract_end: date | None = None) -> Period:
    """The contract month containing ``d`` (true-up months, PRODUCT.md §3).

    Contract months are anchored like monthly billing periods: calendar months for a start
    on the 1st, 31 Jan → 28 Feb → 31 Mar for a start on the 31st.
    """
    return period_containing(contract_start, "month", d, contract_end)


def months_left_in_period(
    period: Period,
    contract_start: date,
    month_start: date,
    *,
    interval: str | None = None,
) -> tuple[int, int]:
    """``(m, M)`` for a true-up line ``extra × unit_price × m / M`` (PRODUCT.md §3).

    ``M`` is the number of contract months in the billing period, ``m`` the months left in
    it counting the month of change: the contract month containing ``month_start`` (pass
    the first day of the month being closed — NOT the closing instant, which is already the
    next month's first day). A yearly period starting 1 Jan with a change in March gives
    ``(10, 12)``; a monthly period gives ``(1, 1)``.

    For a period cut short by the contract's end date, its months are those starting in it
    (a partial last month counts as one). Pass ``interval`` to keep ``M`` at the full
    interval's months (12 for a yearly contract), so that a yearly unit price is charged at
    ``m / 12`` rather than spread over the shortened period; without it, ``M`` counts the
    months of ``period`` as given.

    Raises ``ValueError`` when ``period`` does not start on a contract month or
    ``month_start`` is not in ``period``.
    """
    first = _index_containing(contract_start, 1, max(period.start, contract_start))
    if add_months(contract_start, first) != period.start:
        raise ValueError(f"{period} does not start on a month of a contract from {contract_start}")
    if not period.contains(month_start):
        raise ValueError(f"{month_start} is not in {period}")
    months_in_period = 0
    while add_months(contract_start, first + months_in_period) < period.end:
        months_in_period += 1
    changed = _index_containing(contract_start, 1, month_start)
    left = months_in_period - (changed - first)
    if interval is None:
        return left, months_in_period
    full = interval_months(interval)
    if months_in_period > full:
        raise ValueError(f"{period} has more than {full} months")
    return left, full


# --- helpers ---------------------------------------------------------------------------


def _period(contract_start: date, step: int, n: int, contract_end: date | None) -> Period:
    # Both ends from the ORIGINAL anchor (see add_months): never from the previous period.
    start = add_months(contract_start, n * step)
    end = add_months(contract_start, (n + 1) * step)
    if contract_end is not None:
        if start > contract_end:
            raise ValueError(
                f"period {n} starts on {start}, after the contract's end {contract_end}"
            )
        end = min(end, contract_end + _ONE_DAY)
    return Period(start, end)


def _index_containing(contract_start: date, step: int, d: date) -> int:
    """The index n of the period ``[add_months(s, n·step), add_months(s, (n+1)·step))``
    holding ``d`` (d >= contract_start)."""
    months = (d.year - contract_start.year) * 12 + (d.month - contract_start.month)
    n = months // step
    # Period n starts in d's month or earlier; it starts after d only when it starts in
    # d's month on a later day (the anchor's day is past d's day), then d is in period n-1.
    while n > 0 and add_months(contract_start, n * step) > d:
        n -= 1
    return n


def _require_within_contract(contract_start: date, d: date, contract_end: date | None) -> None:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}")
    if d < contract_start:
        raise ValueError(f"{d} is before the contract start {contract_start}")
    if contract_end is not None and d > contract_end:
        raise ValueError(f"{d} is after the contract end {contract_end}")
