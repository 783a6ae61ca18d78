"""THE billing calendar: periods and month arithmetic, anchored on the account's anchor.

PRODUCT.md §5: periods are half-open, ``[period_start, period_end)``; ``period_end`` is the
first day of the next period. They last 1, 3, 6 or 12 months and are anchored on the
billing anchor; a day of the 29th–31st bills on the last day of shorter months
(31 January → 28 February → 31 March). A start before the anchor gives a first period cut
short, ``[start, anchor)``; an end gives a last period cut short. A cut period is prorated
by days against the full period it is cut from.

PRODUCT.md §3 (true-up): months are anchored like the billing periods (calendar months
when the anchor is a 1st).

A version that changes the interval starts a new *segment* of the grid at a period
boundary; every boundary of every segment is ``add_months(anchor, n)`` for some whole n,
so the anchor's day is never lost.

Every date here is a UTC calendar date; a period starts at 00:00:00Z of its start date.
Nothing here reads the clock: every function takes the dates it needs.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from seatledger.domain.errors import InvalidInput

INTERVAL_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
BILLING_INTERVALS = tuple(INTERVAL_MONTHS)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


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
    day = anchor.day
    if day > 28:
        day = min(day, _days_in_month(year, month))
    return date(year, month, day)


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
    """Months per billing period: month 1, quarter 3, half_year 6, year 12."""
    if not isinstance(interval, str) or interval not in INTERVAL_MONTHS:
        raise InvalidInput(
            f"billing_interval must be one of {', '.join(BILLING_INTERVALS)}, got {interval!r}",
            field="billing_interval",
        )
    return INTERVAL_MONTHS[interval]


def instant(day: date) -> datetime:
    """Every day boundary is 00:00:00Z (§1 Time)."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def months_from(anchor: date, day: date) -> int:
    """The largest n with ``add_months(anchor, n) <= day`` (n may be negative)."""
    n = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    while add_months(anchor, n) > day:
        n -= 1
    return n


@dataclass(frozen=True)
class BillingPeriod:
    """A billing period as billed (``start``, ``end``: cut by a contract's start or end)
    and the full period of the grid it lies in (``full``), for prorating a cut one:
    a cut period's recurring amount is × ``days / full_days``."""

    start: date
    end: date
    full: Period
    months: int  # M: the interval's months

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def full_days(self) -> int:
        return self.full.days

    @property
    def start_instant(self) -> datetime:
        return instant(self.start)

    @property
    def end_instant(self) -> datetime:
        return instant(self.end)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


@dataclass(frozen=True)
class Segment:
    """From ``start`` on, periods of ``months`` months at ``add_months(anchor, offset + k ×
    months)``. The first segment also governs the days before the anchor."""

    start: date
    offset: int
    months: int


@dataclass(frozen=True)
class Calendar:
    """Billing periods over ``spans`` (half-open day ranges billed, without gaps inside;
    ``end`` None is evergreen) on the grid of ``segments``; months on ``anchor``."""

    anchor: date
    segments: tuple[Segment, ...]
    spans: tuple[tuple[date, date | None], ...]

    def _segment(self, day: date) -> Segment:
        found = self.segments[0]
        for segment in self.segments[1:]:
            if segment.start <= day:
                found = segment
        return found

    def grid_period(self, day: date) -> tuple[Period, int]:
        """The full (uncut) period of the grid that holds ``day``, and its months."""
        seg = self._segment(day)
        n = (months_from(self.anchor, day) - seg.offset) // seg.months
        first = seg.offset + n * seg.months
        start = add_months(self.anchor, first)
        end = add_months(self.anchor, first + seg.months)
        return Period(start, end), seg.months

    def span_of(self, day: date) -> tuple[date, date | None] | None:
        for start, end in self.spans:
            if start <= day and (end is None or day < end):
                return start, end
        return None

    def period_containing(self, day: date) -> BillingPeriod | None:
        """The billing period holding ``day``; None outside every span (a trial, a gap,
        before the start or after the end)."""
        span = self.span_of(day)
        if span is None:
            return None
        full, months = self.grid_period(day)
        start = max(full.start, span[0])
        end = full.end if span[1] is None else min(full.end, span[1])
        return BillingPeriod(start, end, full, months)

    def periods(self, first: date, until: date) -> list[BillingPeriod]:
        """Every billing period that starts in ``[first, until]``, in order."""
        out: list[BillingPeriod] = []
        for span_start, span_end in self.spans:
            if span_end is not None and span_end <= first:
                continue
            if span_start > until:
                break
            at = self.period_containing(max(first, span_start))
            assert at is not None
            day = at.end if at.start < first else at.start
            while day <= until and (span_end is None or day < span_end):
                period = self.period_containing(day)
                assert period is not None and period.start == day
                out.append(period)
                day = period.end
        return out

    def month_containing(self, day: date) -> Period:
        """The month of the grid holding ``day`` (true-up months, §3)."""
        n = months_from(self.anchor, day)
        return Period(add_months(self.anchor, n), add_months(self.anchor, n + 1))

    def months_left(self, period: BillingPeriod, month_day: date) -> tuple[int, int]:
        """``(m, M)`` of a true-up line ``extra × unit_price × m / M`` (§3): M the
        interval's months, m the months of the period as billed left counting the
        month of ``month_day`` (a period cut by the end has fewer months left)."""
        n = months_from(self.anchor, month_day)
        m = 0
        while add_months(self.anchor, n + m) < period.end:
            m += 1
        return min(m, period.months), period.months
