"""Contracts and their license pools' terms (PRODUCT.md §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from seatledger.domain.errors import ContractEnded, InvalidInput
from seatledger.domain.periods import BILLING_INTERVALS, add_months, interval_months
from seatledger.domain.seat_policies import POLICIES

MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RENEWAL_CAPACITIES = ("carry", "in_use")
INCREASE_APPROVALS = ("automatic", "operator")
CHARGE_TIMINGS = ("immediate", "next_invoice")
PRORATIONS = ("day", "second")
# The most seats a pool may have: a contract's capacity and minimum, and a
# seat-change request's target, are each at most this.
MAX_CAPACITY = 1_000_000
MAX_POOLS = 100
# NOTE: the largest unit price, derived from what storage holds. Amounts are stored as
# NUMERIC(24, 6) on PostgreSQL (adapters/db/types.py): |amount| < 10**18. Every line is
# q × unit_price × f with f ≤ 1 (a period's days / its full days, the time left of a
# proration, a true-up's m / M, the metered seat-days / D). While a pool's capacity stays
# within MAX_CAPACITY (contracts and seat-change requests; seats bought one by one may
# pass it), an invoice bills a pool for at most its capacity at the period start
# (recurring) plus the seats added in the period just ended (prorations, true-up):
# q ≤ 2 × MAX_CAPACITY. With MAX_POOLS pools and tax at most 100 % of the subtotal
# (money.parse_percentage):
#     total ≤ 2 × MAX_POOLS × 2 × MAX_CAPACITY × MAX_UNIT_PRICE = 4 × 10**17 < 10**18,
# with a factor 2.5 to spare for seats bought past MAX_CAPACITY and metered users.
# One line is at most MAX_CAPACITY × MAX_UNIT_PRICE = 10**15.
MAX_UNIT_PRICE = Decimal(1_000_000_000)
# NOTE: a contract's first billing runs every period since its start in one transaction,
# under the account lock, as a clock move does: it may start at most this many years
# before the account's now (a test clock's now), the reach of one clock move.
MAX_YEARS_BEFORE_NOW = 10


@dataclass(frozen=True)
class PoolTerms:
    module: str
    capacity: int
    minimum: int
    unit_price: Decimal
    policy: str
    charge_timing: str = "immediate"
    proration: str = "day"


@dataclass
class Contract:
    id: str
    account_id: str
    version: int
    start_date: date
    end_date: date | None
    billing_interval: str
    increase_approval: str
    pools: list[PoolTerms] = field(default_factory=list)
    billing_anchor: date | None = None
    trial_end: date | None = None
    renewal_capacity: str = "carry"  # carry | in_use
    minimum_spend: Decimal | None = None  # per billing period
    recorded_at: datetime | None = None  # when the version was entered
    applied: bool = False  # the pools have its terms

    @property
    def modules(self) -> set[str]:
        return {p.module for p in self.pools}

    def pool(self, module: str) -> PoolTerms | None:
        return next((p for p in self.pools if p.module == module), None)

    def ended_at(self, day: date) -> bool:
        """True after the last day (``end_date`` is inclusive)."""
        return self.end_date is not None and day > self.end_date


def check_module_name(module: object, *, field: str = "module") -> str:
    if not isinstance(module, str) or not MODULE_NAME.match(module) or len(module) > 64:
        raise InvalidInput(
            f"module {module!r} must match [a-z][a-z0-9_]* (at most 64 characters)", field=field
        )
    return module


def check_seat_count(value: object, *, field: str) -> int:
    """A number of seats: a whole number from 0 to ``MAX_CAPACITY``."""
    name = field.rsplit(".", 1)[-1]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a whole number ≥ 0", field=field)
    if value > MAX_CAPACITY:
        raise InvalidInput(f"{name} must be at most {MAX_CAPACITY}", field=field)
    return value


# NOTE: a commitment line tops a period up to at most the minimum spend: bounded like
# the largest recurring line, so that an invoice still fits the money columns.
MAX_MINIMUM_SPEND = MAX_CAPACITY * MAX_UNIT_PRICE


def check_minimum_spend(value: Decimal) -> Decimal:
    if value < 0 or value > MAX_MINIMUM_SPEND:
        raise InvalidInput(
            f"minimum_spend must lie between 0 and {MAX_MINIMUM_SPEND} per billing period",
            field="minimum_spend",
        )
    return value


def _one_of(value: str, allowed: tuple[str, ...], *, field: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


def check_pool_terms(terms: PoolTerms, *, index: int) -> PoolTerms:
    """Form rules of one pool. ``unit_price`` is already parsed for the currency."""
    where = f"pools[{index}]"
    check_module_name(terms.module, field=f"{where}.module")
    _one_of(terms.policy, POLICIES, field=f"{where}.policy")
    _one_of(terms.charge_timing, CHARGE_TIMINGS, field=f"{where}.charge_timing")
    _one_of(terms.proration, PRORATIONS, field=f"{where}.proration")
    for name in ("capacity", "minimum"):
        check_seat_count(getattr(terms, name), field=f"{where}.{name}")
    if terms.unit_price > MAX_UNIT_PRICE:
        raise InvalidInput(
            f"unit_price must be at most {MAX_UNIT_PRICE} per seat and billing interval",
            field=f"{where}.unit_price",
        )
    if terms.policy == "metered":
        if terms.capacity != 0:
            raise InvalidInput(
                "a metered pool has no capacity (leave it out or give 0)", field=f"{where}.capacity"
            )
    elif terms.minimum > terms.capacity:
        raise InvalidInput(
            f"minimum ({terms.minimum}) must not exceed capacity ({terms.capacity})",
            field=f"{where}.minimum",
        )
    return terms


def check_contract(
    *,
    start_date: date,
    end_date: date | None,
    billing_interval: str,
    increase_approval: str,
    pools: list[PoolTerms],
    today: date,
    billing_anchor: date | None = None,
    trial_end: date | None = None,
    renewal_capacity: str = "carry",
) -> None:
    """Form rules of a contract version; ``today`` is the account's day (its clock)."""
    earliest = earliest_start_date(today)
    if start_date < earliest:
        raise InvalidInput(
            f"start_date ({start_date}) is more than {MAX_YEARS_BEFORE_NOW} years before the "
            f"account's today ({today}): the earliest start is {earliest}",
            field="start_date",
            earliest_start_date=earliest.isoformat(),
        )
    if end_date is not None and end_date < start_date:
        raise InvalidInput(
            f"end_date ({end_date}) must not precede start_date ({start_date})", field="end_date"
        )
    _one_of(billing_interval, BILLING_INTERVALS, field="billing_interval")
    _one_of(increase_approval, INCREASE_APPROVALS, field="increase_approval")
    if len(pools) > MAX_POOLS:
        raise InvalidInput(f"a contract has at most {MAX_POOLS} pools", field="pools")
    _one_of(renewal_capacity, RENEWAL_CAPACITIES, field="renewal_capacity")
    if trial_end is not None:
        if trial_end <= start_date:
            raise InvalidInput(
                f"trial_end ({trial_end}) must come after start_date ({start_date})",
                field="trial_end",
            )
        if end_date is not None and trial_end > end_date:
            raise InvalidInput(
                f"trial_end ({trial_end}) must not come after end_date ({end_date})",
                field="trial_end",
            )
    if billing_anchor is not None:
        # NOTE: the anchor lies in the first period: [first day billed, + one interval).
        first = trial_end or start_date
        limit = add_months(first, interval_months(billing_interval))
        if not first <= billing_anchor < limit:
            raise InvalidInput(
                f"billing_anchor ({billing_anchor}) must fall within the first billing "
                f"period, on or after {first} and before {limit}",
                field="billing_anchor",
            )
    seen: set[str] = set()
    for index, terms in enumerate(pools):
        check_pool_terms(terms, index=index)
        if terms.module in seen:
            raise InvalidInput(
                f"module {terms.module!r} appears twice", field=f"pools[{index}].module"
            )
        seen.add(terms.module)


def earliest_start_date(today: date) -> date:
    """``today`` MAX_YEARS_BEFORE_NOW years earlier (29 February gives 28 February)."""
    year = today.year - MAX_YEARS_BEFORE_NOW
    if year < date.min.year:
        return date.min
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February, in a common year
        return today.replace(year=year, day=28)


def check_seats_may_be_taken(end_date: date | None, day: date) -> None:
    """After the newest version's ``end_date`` (inclusive), no seat can be taken."""
    if end_date is not None and day > end_date:
        raise ContractEnded(
            f"The contract ended on {end_date}: no seat can be taken.",
            field="contract",
            end_date=end_date.isoformat(),
        )
