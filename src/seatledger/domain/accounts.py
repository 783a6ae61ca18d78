"""Accounts (tenants), their workspaces and profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from seatledger.domain.errors import InvalidInput
from seatledger.domain.names import check_display_name
from seatledger.domain.parties import Party

PAYMENT_METHODS = ("invoice", "card")


@dataclass
class Account:
    id: str
    name: str
    currency: str
    tax_rate: Decimal | None = None
    payment_method: str = "invoice"
    billing_email: str | None = None
    payment_terms_days: int = 30  # due date = issue date + these days
    locale: str = "en"  # for documents: amounts and dates
    billing: Party | None = None  # the buyer on its documents
    test_clock: bool = False
    clock_now: datetime | None = None
    created_at: datetime | None = None

    def time_at(self, real_now: datetime) -> datetime:
        return account_time(self.test_clock, self.clock_now, real_now)


def account_time(test_clock: bool, clock_now: datetime | None, real_now: datetime) -> datetime:
    """§1 Time: an account on a test clock reads that clock for everything."""
    if test_clock:
        assert clock_now is not None, "a test-clock account always has a time"
        return clock_now
    return real_now


@dataclass
class Workspace:
    id: str
    account_id: str
    name: str
    is_default: bool = False
    external_id: str | None = None  # the identity provider's id (SCIM Groups)
    created_at: datetime | None = None
    updated_at: datetime | None = None  # the last rename or change of its members


@dataclass
class Profile:
    """A named set of modules. ``modules is None`` means "every module of the
    contract" (the account's default profile follows its contract)."""

    id: str
    account_id: str
    name: str
    modules: frozenset[str] | None = field(default=None)
    is_default: bool = False

    def grants(self, contract_modules: set[str]) -> set[str]:
        if self.modules is None:
            return set(contract_modules)
        return set(self.modules) & set(contract_modules)


def check_account_name(name: object) -> str:
    return check_display_name(name, field="name")


MAX_PAYMENT_TERMS_DAYS = 365


def check_payment_terms_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            "payment_terms_days must be a whole number of days", field="payment_terms_days"
        )
    if not 0 <= value <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(
            f"payment_terms_days must lie between 0 and {MAX_PAYMENT_TERMS_DAYS}",
            field="payment_terms_days",
        )
    return value


def check_payment_method(value: str) -> str:
    if value not in PAYMENT_METHODS:
        raise InvalidInput(
            f"payment_method must be one of {', '.join(PAYMENT_METHODS)}", field="payment_method"
        )
    return value
