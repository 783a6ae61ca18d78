"""An account's contract history as time: which version governs each day, the one
billing calendar, the trial, the term and its renewals (PRODUCT.md §1, §4 Terms, §5).

- The account's anchor is the first version's ``billing_anchor``, else its
  ``trial_end``, else its start; later versions keep it, and keep the interval and the
  term, except that a version changing ``billing_interval`` takes effect (all its terms
  with it) at the end of the period its start falls in.
- Days before the first version's ``trial_end`` are a trial: covered (seats count) but
  in no billing period.
- Terms: a fixed-term version's term runs to its ``end_date``; a version that continues
  it the next day renews it. An evergreen version's term is 12 months from the
  account's first period start (the anchor), renewing at each anniversary, on the
  first period start on or after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.periods import (
    Calendar,
    Period,
    Segment,
    add_months,
    interval_months,
    months_from,
)

TERM_MONTHS = 12
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Governed:
    """A version and the days it governs, ``[start, end)`` (``end`` None: evergreen)."""

    contract: Contract
    start: date
    end: date | None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class Timeline:
    governed: tuple[Governed, ...]
    calendar: Calendar
    charge_from: date  # the first day billed: the end of the trial, or the start
    term_start: date

    def governing(self, day: date) -> Governed | None:
        return next((g for g in self.governed if g.contains(day)), None)

    def version_on(self, day: date) -> Contract | None:
        g = self.governing(day)
        return g.contract if g else None

    def terms(self, module: str, day: date) -> PoolTerms | None:
        contract = self.version_on(day)
        return contract.pool(module) if contract else None

    def in_trial(self, day: date) -> bool:
        return day < self.charge_from

    def covered_spans(self) -> list[tuple[date, date | None]]:
        """The days some version governs, trial included, as gapless spans."""
        spans: list[tuple[date, date | None]] = []
        for g in self.governed:
            if spans and spans[-1][1] == g.start:
                spans[-1] = (spans[-1][0], g.end)
            else:
                spans.append((g.start, g.end))
        return spans

    def month_closes(self, after: date, until: date) -> list[tuple[date, Period]]:
        """(closing day, the month as covered) for each month closing in ``(after,
        until]``: at each month boundary of the grid, and at the end of a span."""
        out: list[tuple[date, Period]] = []
        calendar = self.calendar
        for span_start, span_end in self.covered_spans():
            if span_end is not None and span_end <= after:
                continue
            day = span_start
            if after > span_start:
                day = max(span_start, calendar.month_containing(after).start)
            while day <= until and (span_end is None or day < span_end):
                month = calendar.month_containing(day)
                close = month.end if span_end is None else min(month.end, span_end)
                if after < close <= until:
                    out.append((close, Period(day, close)))
                day = close
        return out

    def coverage_ends(self, after: date, until: date) -> list[date]:
        """Days in ``(after, until]`` on which a version ends with none continuing it
        (the final invoice of its arrears falls due then)."""
        out = []
        for i, g in enumerate(self.governed):
            nxt = self.governed[i + 1] if i + 1 < len(self.governed) else None
            continued = nxt is not None and nxt.start == g.end
            if g.end is not None and not continued and after < g.end <= until:
                out.append(g.end)
        return out

    def version_starts(self, after: date, until: date) -> list[Governed]:
        """Versions after the account's first (which is applied when it is recorded)
        taking effect in ``[after, until]``."""
        return [g for g in self.governed if g.contract.version > 1 and after <= g.start <= until]

    def renewals(self, after: date, until: date) -> list[date]:
        """Term renewals in ``(after, until]``: a fixed term continued by a new version
        the day after it ends, and an evergreen term's anniversaries."""
        out: set[date] = set()
        for i, g in enumerate(self.governed[1:], start=1):
            prev = self.governed[i - 1]
            end_date = prev.contract.end_date
            continues = end_date is not None and end_date + _DAY == g.start
            if continues and after < g.start <= until:
                out.add(g.start)
        k = max(1, months_from(self.term_start, after) // TERM_MONTHS)
        while True:
            anniversary = add_months(self.term_start, TERM_MONTHS * k)
            if anniversary > until:
                break
            period = self.calendar.period_containing(anniversary)
            day = anniversary if period is None or period.start == anniversary else period.end
            g = self.governing(day - _DAY)
            if (
                g is not None
                and g.contract.end_date is None
                and self.governing(day) is not None
                and after < day <= until
            ):
                out.add(day)
            k += 1
        return sorted(out)


def timeline(contracts: list[Contract]) -> Timeline | None:
    """The timeline of an account's versions (None before its first contract)."""
    versions = sorted(contracts, key=lambda c: c.version)
    if not versions:
        return None
    first = versions[0]
    anchor = first.billing_anchor or first.trial_end or first.start_date
    charge_from = first.trial_end or first.start_date
    segments = [Segment(first.start_date, 0, interval_months(first.billing_interval))]
    starts: list[tuple[Contract, date]] = [(first, first.start_date)]
    for version in versions[1:]:
        start = max(version.start_date, starts[-1][1])
        months = interval_months(version.billing_interval)
        if months != segments[-1].months:
            # NOTE: a new interval begins at a period boundary: the end of the period
            # its start falls in (or that start itself when it is a boundary).
            grid = Calendar(anchor, tuple(segments), ((first.start_date, None),))
            full, _ = grid.grid_period(start)
            start = start if full.start == start else full.end
            segments = [s for s in segments if s.start < start]
            segments.append(Segment(start, months_from(anchor, start), months))
        starts.append((version, start))
    governed: list[Governed] = []
    for i, (contract, start) in enumerate(starts):
        end = contract.end_date + _DAY if contract.end_date else None
        if i + 1 < len(starts):
            nxt = starts[i + 1][1]
            end = min(end, nxt) if end else nxt
        if end is not None and end <= start:
            continue  # replaced before it took effect
        governed.append(Governed(contract, start, end))
    covered = Timeline(tuple(governed), Calendar(anchor, tuple(segments), ()), charge_from, anchor)
    billed = tuple(
        (max(s, charge_from), e)
        for s, e in covered.covered_spans()
        if e is None or e > max(s, charge_from)
    )
    return Timeline(
        governed=tuple(governed),
        calendar=Calendar(anchor, tuple(segments), billed),
        charge_from=charge_from,
        term_start=anchor,
    )
