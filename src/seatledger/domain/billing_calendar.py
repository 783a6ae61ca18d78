"""When things fall due: contract coverage, billing periods, month closes,
renewals, contract ends (PRODUCT.md §4 Terms, §5).

What falls due at one instant happens in this order: the month close
(true-up), then the renewal (scheduled decreases, new contract version), then
the period invoice, then a contract's final invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from seatledger.domain.contracts import Contract
from seatledger.domain.periods import Period, add_months, interval_months
from seatledger.domain.seat_policies import TRUE_UP

MONTH_CLOSE, RENEWAL, PERIOD, FINAL = 0, 1, 2, 3
TERM_MONTHS = 12


def instant(day: date) -> datetime:
    """Every day boundary is 00:00:00Z (§1 Time)."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Coverage:
    """The days a contract version governs: ``[start, end)``; ``end`` None is evergreen."""

    contract: Contract
    start: date
    end: date | None

    @property
    def last_day(self) -> date | None:
        return self.end - timedelta(days=1) if self.end else None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def periods(self, until: date) -> list[tuple[Period, int]]:
        """Billing periods starting on or before ``until``, each with the number of
        days of its full (uncut) length, for prorating a period cut by the end."""
        out: list[tuple[Period, int]] = []
        step = interval_months(self.contract.billing_interval)
        n = 0
        while True:
            start = add_months(self.start, n * step)
            full_end = add_months(self.start, (n + 1) * step)
            if start > until or (self.end is not None and start >= self.end):
                return out
            end = min(full_end, self.end) if self.end else full_end
            out.append((Period(start, end), (full_end - start).days))
            n += 1

    def period_containing(self, day: date) -> tuple[Period, int]:
        step = interval_months(self.contract.billing_interval)
        n = 0
        while True:
            start = add_months(self.start, n * step)
            full_end = add_months(self.start, (n + 1) * step)
            if day < full_end:
                end = min(full_end, self.end) if self.end else full_end
                return Period(start, end), (full_end - start).days
            n += 1

    def month_closes(self, until: date) -> list[tuple[date, Period]]:
        """(closing day, the contract month that closes) for each month whose
        end (the next month's first day) is ≤ ``until``; the last month is closed
        at the end of the coverage."""
        out: list[tuple[date, Period]] = []
        n = 0
        while True:
            start = add_months(self.start, n)
            end = add_months(self.start, n + 1)
            if self.end is not None:
                if start >= self.end:
                    return out
                end = min(end, self.end)
            if end > until:
                return out
            out.append((end, Period(start, end)))
            n += 1

    def renewals(self, until: date) -> list[date]:
        """Term anniversaries inside the coverage (an evergreen contract renews each year)."""
        out: list[date] = []
        k = 1
        while True:
            day = add_months(self.start, TERM_MONTHS * k)
            if day > until or (self.end is not None and day >= self.end):
                return out
            out.append(day)
            k += 1


def coverages(contracts: list[Contract]) -> list[Coverage]:
    """Each version governs from its start until the next version's start or
    the day after its ``end_date``, whichever comes first."""
    ordered = sorted(contracts, key=lambda c: c.version)
    out: list[Coverage] = []
    for i, c in enumerate(ordered):
        end = c.end_date + timedelta(days=1) if c.end_date else None
        later = [n.start_date for n in ordered[i + 1 :]]
        if later:
            nxt = min(later)
            end = min(end, nxt) if end else nxt
        if end is not None and end <= c.start_date:
            continue
        out.append(Coverage(c, c.start_date, end))
    return out


def coverage_on(covs: list[Coverage], day: date) -> Coverage | None:
    for cov in covs:
        if cov.contains(day):
            return cov
    return None


@dataclass(frozen=True, order=True)
class DueEvent:
    at: datetime
    order: int
    key: str
    contract_id: str = ""


def due_events(contracts: list[Contract], until: datetime) -> list[DueEvent]:
    """Everything that falls due at or before ``until``, in processing order.
    Keys are what makes each exactly-once (a marker or an invoice key)."""
    if until.utcoffset() is None:
        raise ValueError(f"until must be a timezone-aware instant, got {until!r}")
    # NOTE: every day boundary is UTC (§1 Time): an instant given with another
    # offset (23:00-02:00 is 01:00Z the next day) is read on the UTC calendar.
    until = until.astimezone(UTC)
    covs = coverages(contracts)
    until_day = until.date()
    events: list[DueEvent] = []
    for i, cov in enumerate(covs):
        c = cov.contract
        if i > 0 or c.version > 1:
            events.append(DueEvent(instant(cov.start), RENEWAL, f"version:{c.id}", c.id))
        if any(p.policy == TRUE_UP for p in c.pools):
            for day, _month in cov.month_closes(until_day):
                events.append(DueEvent(instant(day), MONTH_CLOSE, f"month_close:{day}", c.id))
        for day in cov.renewals(until_day):
            events.append(DueEvent(instant(day), RENEWAL, f"renewal:{day}", c.id))
        for period, _full in cov.periods(until_day):
            events.append(DueEvent(instant(period.start), PERIOD, f"period:{period.start}", c.id))
        # NOTE: a coverage that no newer version continues the next day (the last
        # one, or one followed by a gap) ends with a final invoice for its arrears;
        # otherwise the next version's first period invoice carries them.
        continued = i + 1 < len(covs) and covs[i + 1].start == cov.end
        if not continued and cov.end is not None and cov.end <= until_day:
            events.append(DueEvent(instant(cov.end), FINAL, f"final:{cov.end}", c.id))
    return sorted(e for e in events if e.at <= until)


def arrears_carried_at(covs: list[Coverage], day: date) -> bool:
    """Whether a period invoice or a final invoice falls due at 00:00Z of ``day``
    and so carries the arrears closing then (the true-up of a month close): a
    billing period starts that day, or a contract ends then with no version
    continuing it. Otherwise a non-zero true-up is an ad-hoc invoice (§5)."""
    cov = coverage_on(covs, day)
    if cov is not None:
        return cov.period_containing(day)[0].start == day
    return any(c.end == day for c in covs)
