"""The demo: one account per seed document, configured with that document's
policy and the numbers of its worked example (docs/billing.md), each on a test
clock that then runs a whole contract year, so its invoices show the model."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from seatledger.domain.errors import NotFound
from seatledger.services import accounts, billing, invoices, seat_requests, settings, users
from seatledger.services.unit_of_work import UnitOfWork

DEMO_PREFIX = "Demo "
ACTOR = "demo"
# NOTE: made-up parties; their VAT ids pass their country's check digits only.
DEMO_SELLER: dict[str, object] = {
    "legal_name": "Seatledger Demo GmbH",
    "address_lines": ["Friedrichstraße 123"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE202601008",
    "email": "billing@seatledger.example",
}
Uow = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class DemoAccount:
    seed: str
    account_id: str
    name: str
    summary: str
    invoices: int = 0
    billed: str = ""


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


_FIRST = [
    "Zoë",
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Farah",
    "Giovanni",
    "Hana",
    "Ismaël",
    "Jürgen",
    "Kaito",
    "Lena",
    "Mateo",
]
_LAST = [
    "O'Brien-Smith",
    "Núñez",
    "Ødegård",
    "Dubois",
    "Ivanov",
    "Kim",
    "Haddad",
    "Rossi",
    "Novák",
    "Benali",
    "Müller",
    "Sato",
    "Berg",
    "Silva",
]


class Story:
    """One demo account moving through its year on its test clock."""

    def __init__(
        self,
        uow: Uow,
        *,
        seed: str,
        title: str,
        start: datetime,
        contract: dict[str, Any],
        billing: dict[str, object],
    ) -> None:
        self.uow, self.seed, self.next_person = uow, seed, 0
        self.name = f"{DEMO_PREFIX}seed {seed} ({title})"
        account = accounts.create_account(
            uow(),
            name=self.name,
            currency="EUR",
            test_clock=True,
            clock_start=start,
            billing=billing,
            at=start,
        )
        self.id = account.id
        accounts.create_contract(uow(), account_id=self.id, at=start, actor=ACTOR, **contract)

    def person(self, domain: str, **kwargs: Any) -> str:
        i = self.next_person
        self.next_person += 1
        first, last = _FIRST[i % len(_FIRST)], _LAST[i % len(_LAST)]
        email = f"{_ascii(first)}.{_ascii(last)}{i}@{domain}"
        return users.create_user(
            self.uow(),
            account_id=self.id,
            email=email,
            first_name=first,
            last_name=last,
            at=_utc(2000, 1, 1),
            actor=ACTOR,
            **kwargs,
        ).user.id

    def move(self, *when: int) -> None:
        billing.advance_clock(self.uow(), account_id=self.id, to=_utc(*when))

    def delete(self, user_id: str) -> None:
        users.delete_user(
            self.uow(), account_id=self.id, user_id=user_id, at=_utc(2000, 1, 1), actor=ACTOR
        )

    def result(self, summary: str) -> DemoAccount:
        docs = invoices.list_invoices(self.uow(), account_id=self.id, limit=1000)
        total = sum((d.total for d in docs if d.type == "invoice"), start=0)
        return DemoAccount(self.seed, self.id, self.name, summary, len(docs), f"{total:.2f} EUR")


def seed_demo(uow: Uow, *, at: datetime) -> list[DemoAccount]:
    """Creates the five demo accounts unless they exist, and runs each through
    a year of its model on its test clock."""
    existing = [
        a
        for a in accounts.list_accounts(uow(), limit=1000, after=None)
        if a.name.startswith(DEMO_PREFIX)
    ]
    if existing:
        return [DemoAccount(a.name.split()[2], a.id, a.name, "already created") for a in existing]
    try:
        settings.get_seller(uow())  # an operator's seller stays
    except NotFound:
        settings.put_seller(uow(), seller=DEMO_SELLER, at=at)
    return [_seed_001(uow), _seed_000(uow), _seed_002(uow), _seed_003(uow), _seed_004(uow)]


def _seed_001(uow: Uow) -> DemoAccount:
    # Yearly 2026 at 120.00 per seat per year, true_up, capacity 3, one signed up ("1/3").
    s = Story(
        uow,
        seed="001",
        title="true-up",
        start=_utc(2026, 1, 1),
        billing={
            "legal_name": "Autify Labs SAS",
            "address_lines": ["12 rue de la Paix"],
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
            "vat_id": "FR11123456782",
        },
        contract=dict(
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
            billing_interval="year",
            pools=[
                {"module": "console", "capacity": 3, "unit_price": "120.00", "policy": "true_up"}
            ],
        ),
    )
    s.person("autify.example", role="owner")
    s.move(2026, 3, 10)
    for _ in range(4):  # March: 5 of 3 → at March's close 2 × 120.00 × 10/12 = 200.00
        s.person("autify.example")
    s.move(2026, 4, 10)
    added = [s.person("autify.example") for _ in range(2)]
    for uid in added:  # April: +2 −2 nets out: no charge
        s.delete(uid)
    s.move(2026, 5, 10)
    added = [s.person("autify.example") for _ in range(4)]
    for uid in added[:2]:  # May: +4 −2 → 2 × 120.00 × 8/12 = 160.00 at May's close
        s.delete(uid)
    s.move(2027, 1, 1)
    return s.result("true_up: 200.00 at March's close, 160.00 at May's close")


def _seed_000(uow: Uow) -> DemoAccount:
    # Capacity 6, minimum 6, six active users, inactive_when_full, 30.00 EUR per month.
    s = Story(
        uow,
        seed="000",
        title="inactive when full",
        start=_utc(2026, 4, 1),
        billing={
            "legal_name": "AMFG Fertigung GmbH",
            "address_lines": ["Industriestraße 7", "Halle 3"],
            "postal_code": "70173",
            "city": "Stuttgart",
            "country": "DE",
        },
        contract=dict(
            start_date=date(2026, 4, 1),
            billing_interval="month",
            pools=[
                {
                    "module": "console",
                    "capacity": 6,
                    "minimum": 6,
                    "unit_price": "30.00",
                    "policy": "inactive_when_full",
                }
            ],
        ),
    )
    s.person("amfg.example", role="owner")
    for _ in range(5):
        s.person("amfg.example")
    s.person("amfg.example")  # a seventh: saved inactive, with the warning
    s.move(2026, 4, 16)
    s.person("amfg.example", add_license=True)  # day 16 of 30: 30.00 × 15/30 = 15.00
    s.move(2026, 5, 20)
    seat_requests.request_seat_change(
        uow(),
        account_id=s.id,
        module="console",
        target_capacity=8,
        at=_utc(2000, 1, 1),
        actor=ACTOR,
    )
    s.move(2027, 4, 1)
    return s.result("inactive_when_full: add_license on day 16 → 15.00; 7 → 8 in May")


def _seed_002(uow: Uow) -> DemoAccount:
    # case_management 5 and documents 3, block; a profile with both, one with none.
    s = Story(
        uow,
        seed="002",
        title="block per module",
        start=_utc(2026, 1, 1),
        billing={
            "legal_name": "AM System B.V.",
            "address_lines": ["Keizersgracht 100"],
            "postal_code": "1015 AA",
            "city": "Amsterdam",
            "country": "NL",
            "vat_id": "NL123456708B01",
        },
        contract=dict(
            start_date=date(2026, 1, 1),
            billing_interval="year",
            pools=[
                {
                    "module": "case_management",
                    "capacity": 5,
                    "unit_price": "100.00",
                    "policy": "block",
                },
                {"module": "documents", "capacity": 3, "unit_price": "60.00", "policy": "block"},
            ],
        ),
    )
    both = accounts.create_profile(
        uow(),
        account_id=s.id,
        name="Case and documents",
        modules=["case_management", "documents"],
        at=_utc(2026, 1, 1),
    )
    login_only = accounts.create_profile(
        uow(), account_id=s.id, name="Login only", modules=[], at=_utc(2026, 1, 1)
    )
    s.person("amsystem.example", role="admin", profile_id=both.id)
    for _ in range(2):
        s.person("amsystem.example", profile_id=both.id)
    s.person("amsystem.example", profile_id=login_only.id)
    s.move(2027, 1, 1)
    return s.result("block: case_management 3/5, documents 3/3; a 4th documents user is refused")


def _seed_003(uow: Uow) -> DemoAccount:
    # Metered, 10.00 EUR per active user per month; one administrator.
    s = Story(
        uow,
        seed="003",
        title="metered",
        start=_utc(2026, 4, 1),
        billing={
            "legal_name": "Provider Health Oy",
            "address_lines": ["Mannerheimintie 10"],
            "postal_code": "00100",
            "city": "Helsinki",
            "country": "FI",
            "vat_id": "FI20260109",
        },
        contract=dict(
            start_date=date(2026, 4, 1),
            billing_interval="month",
            pools=[{"module": "console", "unit_price": "10.00", "policy": "metered"}],
        ),
    )
    s.person("provider.example", role="admin")
    member = s.person("provider.example")
    s.move(2026, 4, 13)  # deactivated at the start of day 13: 30 + 12 = 42 seat-days → 14.00
    users.deactivate_user(uow(), account_id=s.id, user_id=member, at=_utc(2000, 1, 1), actor=ACTOR)
    s.move(2027, 4, 1)
    return s.result("metered: April 10.00 × 42/30 = 14.00, then 1 user per month")


def _seed_004(uow: Uow) -> DemoAccount:
    # Capacity 10, minimum 10, 8 users, auto_purchase at 30.00 per month.
    s = Story(
        uow,
        seed="004",
        title="auto purchase",
        start=_utc(2026, 4, 1),
        billing={
            "legal_name": "Units Ltd",
            "address_lines": ["1 Market Street"],
            "postal_code": "EH1 1AA",
            "city": "Edinburgh",
            "country": "GB",
            "vat_id": "GB202601036",
        },
        contract=dict(
            start_date=date(2026, 4, 1),
            billing_interval="month",
            pools=[
                {
                    "module": "console",
                    "capacity": 10,
                    "minimum": 10,
                    "unit_price": "30.00",
                    "policy": "auto_purchase",
                }
            ],
        ),
    )
    s.person("units.example", role="owner")
    for _ in range(7):
        s.person("units.example")  # 8 users: the period invoice bills 10 × 30.00 = 300.00
    s.move(2026, 4, 21)
    s.person("units.example")
    s.person("units.example")  # 10 of 10
    eleventh = s.person("units.example")  # day 21 of 30: 30.00 × 10/30 = 10.00 at once
    s.delete(eleventh)  # no refund
    s.person("units.example")  # reuses the freed seat: no charge
    s.move(2027, 4, 1)
    return s.result("auto_purchase: 300.00 per month, 11th seat on day 21 → 10.00, no refund")
