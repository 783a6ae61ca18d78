"""The demo: one account per seed document, configured with that document's
policy and the numbers of its worked example (PRODUCT.md §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
import unicodedata

from seatledger.services import accounts, users
from seatledger.services.unit_of_work import UnitOfWork

DEMO_PREFIX = "Demo "
ACTOR = "demo"


@dataclass(frozen=True)
class DemoAccount:
    seed: str
    account_id: str
    name: str
    summary: str


def _people(n: int, domain: str) -> list[tuple[str, str, str]]:
    first = ["Zoë", "Ana", "Björn", "Chloé", "Dmitri", "Eun-ji", "Farah", "Giovanni", "Hana",
             "Ismaël", "Jürgen", "Kaito"]
    last = ["O'Brien-Smith", "Núñez", "Ødegård", "Dubois", "Ivanov", "Kim", "Haddad", "Rossi",
            "Novák", "Benali", "Müller", "Sato"]
    return [(f"{_ascii(first[i])}.{_ascii(last[i])}@{domain}", first[i], last[i])
            for i in range(n)]


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _account(uow: Callable[[], UnitOfWork], *, name: str, clock: datetime, contract: dict[str, Any]) -> str:
    account = accounts.create_account(uow(), name=name, currency="EUR", test_clock=True,
                                      clock_start=clock, at=clock)
    accounts.create_contract(uow(), account_id=account.id, at=clock, actor=ACTOR, **contract)
    return account.id


def seed_demo(uow: Callable[[], UnitOfWork], *, at: datetime) -> list[DemoAccount]:
    """Creates the five demo accounts unless they exist. Each runs on a test
    clock set to its example's date, so the numbers match PRODUCT.md §6."""
    existing = [a for a in accounts.list_accounts(uow(), limit=1000, after=None)
                if a.name.startswith(DEMO_PREFIX)]
    if existing:
        return [DemoAccount(a.name.split()[2], a.id, a.name, "") for a in existing]
    out: list[DemoAccount] = []

    # seed 001 — true_up: yearly 2026 at 120.00 per seat per year, capacity 3, one signed up.
    t = datetime(2026, 1, 1, tzinfo=UTC)
    acc = _account(uow, name=f"{DEMO_PREFIX}seed 001 (true-up)", clock=t, contract=dict(
        start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), billing_interval="year",
        pools=[{"module": "console", "capacity": 3, "unit_price": "120.00", "policy": "true_up"}]))
    users.create_user(uow(), account_id=acc, email="owner@autify.example", first_name="Ana",
                      last_name="Núñez", role="owner", at=t, actor=ACTOR)
    out.append(DemoAccount("001", acc, f"{DEMO_PREFIX}seed 001 (true-up)",
                           "true_up, capacity 3, usage 1/3; over the limit is allowed with a warning"))

    # seed 000 — inactive_when_full: capacity 6, minimum 6, six active users, 30.00 EUR / month.
    t = datetime(2026, 4, 1, tzinfo=UTC)
    acc = _account(uow, name=f"{DEMO_PREFIX}seed 000 (inactive when full)", clock=t, contract=dict(
        start_date=date(2026, 4, 1), billing_interval="month",
        pools=[{"module": "console", "capacity": 6, "minimum": 6, "unit_price": "30.00",
                "policy": "inactive_when_full"}]))
    for i, (email, first, last) in enumerate(_people(6, "amfg.example")):
        users.create_user(uow(), account_id=acc, email=email, first_name=first, last_name=last,
                          role="owner" if i == 0 else "member", at=t, actor=ACTOR)
    out.append(DemoAccount("000", acc, f"{DEMO_PREFIX}seed 000 (inactive when full)",
                           "inactive_when_full, 6 of 6 in use; a seventh is saved inactive unless add_license"))

    # seed 002 — block: case_management 5, documents 3; a profile with both, one with none.
    t = datetime(2026, 1, 1, tzinfo=UTC)
    acc = _account(uow, name=f"{DEMO_PREFIX}seed 002 (block per module)", clock=t, contract=dict(
        start_date=date(2026, 1, 1), billing_interval="year",
        pools=[{"module": "case_management", "capacity": 5, "unit_price": "100.00", "policy": "block"},
               {"module": "documents", "capacity": 3, "unit_price": "60.00", "policy": "block"}]))
    both = accounts.create_profile(uow(), account_id=acc, name="Case and documents",
                                   modules=["case_management", "documents"], at=t)
    accounts.create_profile(uow(), account_id=acc, name="Login only", modules=[], at=t)
    for i, (email, first, last) in enumerate(_people(3, "amsystem.example")):
        users.create_user(uow(), account_id=acc, email=email, first_name=first, last_name=last,
                          role="admin" if i == 0 else "member", profile_id=both.id, at=t,
                          actor=ACTOR)
    out.append(DemoAccount("002", acc, f"{DEMO_PREFIX}seed 002 (block per module)",
                           "block: case_management 3/5, documents 3/3; a fourth documents user is refused"))

    # seed 003 — metered: 10.00 EUR per active user per month; one administrator.
    t = datetime(2026, 6, 1, tzinfo=UTC)
    acc = _account(uow, name=f"{DEMO_PREFIX}seed 003 (metered)", clock=t, contract=dict(
        start_date=date(2026, 6, 1), billing_interval="month",
        pools=[{"module": "console", "unit_price": "10.00", "policy": "metered"}]))
    for i, (email, first, last) in enumerate(_people(2, "provider.example")):
        users.create_user(uow(), account_id=acc, email=email, first_name=first, last_name=last,
                          role="admin" if i == 0 else "member", at=t, actor=ACTOR)
    out.append(DemoAccount("003", acc, f"{DEMO_PREFIX}seed 003 (metered)",
                           "metered: 2 active users, billed per user-day in arrears"))

    # seed 004 — auto_purchase: capacity 10, minimum 10, 8 users, 30.00 EUR / month.
    t = datetime(2026, 6, 1, tzinfo=UTC)
    acc = _account(uow, name=f"{DEMO_PREFIX}seed 004 (auto purchase)", clock=t, contract=dict(
        start_date=date(2026, 6, 1), billing_interval="month",
        pools=[{"module": "console", "capacity": 10, "minimum": 10, "unit_price": "30.00",
                "policy": "auto_purchase"}]))
    for i, (email, first, last) in enumerate(_people(8, "units.example")):
        users.create_user(uow(), account_id=acc, email=email, first_name=first, last_name=last,
                          role="owner" if i == 0 else "member", at=t, actor=ACTOR)
    out.append(DemoAccount("004", acc, f"{DEMO_PREFIX}seed 004 (auto purchase)",
                           "auto_purchase, 8 of 10 (minimum 10); an 11th seat is bought and charged"))
    return out
