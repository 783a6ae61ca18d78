"""Contracts and their license pools' terms (PRODUCT.md §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from seatledger.domain.errors import ContractEnded, InvalidInput
from seatledger.domain.seat_policies import POLICIES

MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
BILLING_INTERVALS = ("month", "year")
INCREASE_APPROVALS = ("automatic", "operator")
CHARGE_TIMINGS = ("immediate", "next_invoice")
PRORATIONS = ("day", "second")


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

    @property
    def modules(self) -> set[str]:
        return {p.module for p in self.pools}

    def ended_at(self, day: date) -> bool:
        """True after the last day (``end_date`` is inclusive)."""
        return self.end_date is not None and day > self.end_date


def check_module_name(module: object, *, field: str = "module") -> str:
    if not isinstance(module, str) or not MODULE_NAME.match(module) or len(module) > 64:
        raise InvalidInput(
            f"module {module!r} must match [a-z][a-z0-9_]* (at most 64 characters)", field=field
        )
    return module


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
        value = getattr(terms, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name} must be a whole number ≥ 0", field=f"{where}.{name}")
        if value > 1_000_000:
            raise InvalidInput(f"{name} must be at most 1000000", field=f"{where}.{name}")
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
) -> None:
    if end_date is not None and end_date < start_date:
        raise InvalidInput(
            f"end_date ({end_date}) must not precede start_date ({start_date})", field="end_date"
        )
    _one_of(billing_interval, BILLING_INTERVALS, field="billing_interval")
    _one_of(increase_approval, INCREASE_APPROVALS, field="increase_approval")
    seen: set[str] = set()
    for index, terms in enumerate(pools):
        check_pool_terms(terms, index=index)
        if terms.module in seen:
            raise InvalidInput(
                f"module {terms.module!r} appears twice", field=f"pools[{index}].module"
            )
        seen.add(terms.module)


def check_seats_may_be_taken(end_date: date | None, day: date) -> None:
    """After the newest version's ``end_date`` (inclusive), no seat can be taken."""
    if end_date is not None and day > end_date:
        raise ContractEnded(
            f"The contract ended on {end_date}: no seat can be taken.",
            field="contract",
            end_date=end_date.isoformat(),
        )
