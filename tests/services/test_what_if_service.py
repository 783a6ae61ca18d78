"""What-if pricing through the services (PRODUCT.md §5 "The pricing of a contract can
be tried on history"), on SQLite and PostgreSQL: the account's real seat ledger over a
past range, billed under other terms by the same planner; nothing stored, no lock, no
number."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from seatledger.adapters.db import tables as t
from seatledger.domain.contracts import Contract
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoicing import DraftInvoice, IssuedInvoice
from seatledger.domain.money import format_amount
from seatledger.services import accounts, billing, credit_notes, invoices, users, what_if
from seatledger.services.demo import seed_demo
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
REAL_NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
OPERATOR = "operator:test"
SEED_001 = dict(
    start_date=date(2026, 1, 1),
    end_date=date(2026, 12, 31),
    billing_interval="year",
    pools=[{"module": "console", "capacity": 3, "unit_price": "120.00", "policy": "true_up"}],
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def contract_body(c: Contract) -> dict[str, Any]:
    """A real contract version (of a EUR account) as the body of a new one: the same
    terms."""
    return {
        "start_date": c.start_date,
        "end_date": c.end_date,
        "billing_interval": c.billing_interval,
        "billing_anchor": c.billing_anchor,
        "trial_end": c.trial_end,
        "renewal_capacity": c.renewal_capacity,
        "minimum_spend": None if c.minimum_spend is None else format_amount(c.minimum_spend, "EUR"),
        "increase_approval": c.increase_approval,
        "pools": [
            {
                "module": p.module,
                "capacity": p.capacity,
                "minimum": p.minimum,
                "unit_price": format_amount(p.unit_price, "EUR"),
                "policy": p.policy,
                "charge_timing": p.charge_timing,
                "proration": p.proration,
            }
            for p in c.pools
        ],
    }


def with_policy(body: dict[str, Any], policy: str) -> dict[str, Any]:
    return {**body, "pools": [{**p, "policy": policy} for p in body["pools"]]}


def document(d: IssuedInvoice | DraftInvoice) -> tuple[Any, ...]:
    """What a document bills: when, what and how much (not its number or id)."""
    return (d.issued_at, d.type, d.kind, d.period_start, d.period_end, d.lines, d.total)


def seed_001(uow: Uow) -> str:
    """PRODUCT.md §6.1 on a test clock, the seats at these instants (each sign-up one
    request, in this order):
    - 2026-01-01T00:00Z: the contract (yearly 2026, true_up, capacity 3) and 1 user;
    - 2026-03-10T00:00Z: 4 more (5 held);
    - 2026-04-10T00:00Z: 2 more, then 2 of them deleted (5 held);
    - 2026-05-10T00:00Z: 4 more, then 2 of them deleted (7 held);
    the clock then runs to 2027-01-01. Really issued: 360.00 on 1 January, the true-up
    200.00 on 1 April and 160.00 on 1 June."""
    start = utc(2026, 1, 1)
    account = accounts.create_account(
        uow(), name="Seed 001", currency="EUR", test_clock=True, clock_start=start, at=REAL_NOW
    )
    accounts.create_contract(uow(), account_id=account.id, at=REAL_NOW, actor=OPERATOR, **SEED_001)
    count = 0

    def sign_up() -> str:
        nonlocal count
        count += 1
        return users.create_user(
            uow(),
            account_id=account.id,
            email=f"user{count}@example.com",
            first_name="Grace",
            last_name="Hopper",
            at=REAL_NOW,
            actor=OPERATOR,
        ).user.id

    def delete(user_id: str) -> None:
        users.delete_user(uow(), account_id=account.id, user_id=user_id, at=REAL_NOW, actor="t")

    sign_up()
    billing.advance_clock(uow(), account_id=account.id, to=utc(2026, 3, 10))
    for _ in range(4):
        sign_up()
    billing.advance_clock(uow(), account_id=account.id, to=utc(2026, 4, 10))
    april = [sign_up() for _ in range(2)]
    for user_id in april:
        delete(user_id)
    billing.advance_clock(uow(), account_id=account.id, to=utc(2026, 5, 10))
    may = [sign_up() for _ in range(4)]
    for user_id in may[:2]:
        delete(user_id)
    billing.advance_clock(uow(), account_id=account.id, to=utc(2027, 1, 1))
    return account.id


def run(uow: Uow, account_id: str, body: dict[str, Any], start: date, end: date) -> Any:
    return what_if.what_if(
        uow(), account_id=account_id, start=start, end=end, contract=body, at=REAL_NOW
    )


# ------------------------------------------------------------------------------ tests


def test_a_what_if_under_the_real_terms_gives_the_documents_issued_and_a_difference_of_0_00(
    uow_factory: Uow,
) -> None:
    """The five demo accounts (one per seed: inactive_when_full with add_license and an
    approved increase, true_up, block over two pools, metered, auto_purchase), each
    replayed over its whole history under its own contract."""
    demo = seed_demo(uow_factory, at=REAL_NOW)
    for seeded in demo:
        account = accounts.get_account(uow_factory(), account_id=seeded.account_id)
        (real,) = accounts.list_contracts(uow_factory(), account_id=account.id)
        assert account.clock_now is not None
        end = account.clock_now.date()  # the clock reads 00:00Z of that day
        result = run(uow_factory, account.id, contract_body(real), real.start_date, end)
        # everything issued before the account's now, up to and excluding ``end``
        issued = invoices.list_invoices(uow_factory(), account_id=account.id, limit=1000)
        assert [d.id for d in result.actual] == [
            d.id for d in issued if d.issued_at < account.clock_now
        ], seeded.seed
        assert result.actual, seeded.seed
        assert [document(d) for d in result.what_if] == [document(d) for d in result.actual]
        assert result.difference == Decimal("0.00"), seeded.seed


def test_seed_001_history_under_auto_purchase_buys_each_seat_at_once_prorated_by_days(
    uow_factory: Uow,
) -> None:
    account_id = seed_001(uow_factory)
    result = run(
        uow_factory,
        account_id,
        with_policy(SEED_001, "auto_purchase"),
        date(2026, 1, 1),
        date(2027, 1, 1),
    )
    # Really issued: 360.00 + 200.00 + 160.00 = 720.00.
    assert [(d.issued_at, d.total) for d in result.actual] == [
        (utc(2026, 1, 1), Decimal("360.00")),
        (utc(2026, 4, 1), Decimal("200.00")),
        (utc(2026, 6, 1), Decimal("160.00")),
    ]
    # Under auto_purchase (capacity 3, 120.00 per seat per year, the period
    # [2026-01-01, 2027-01-01) of D = 365 days), each seat taken with none free is bought
    # at once, an ad-hoc invoice of 120.00 × (D − d + 1)/D for day d of the period:
    # - 1 January: the period invoice, 3 × 120.00 = 360.00 (1 of 3 held);
    # - 10 March (d = 31 + 28 + 10 = 69): the 4th and 5th seats,
    #   120.00 × 297/365 = 97.6438… → 97.64 each (5 of 5);
    # - 10 April (d = 69 + 31 = 100): 2 more sign up before 2 are deleted: 2 seats,
    #   120.00 × 266/365 = 87.4520… → 87.45 each (7 of 7, then 5 of 7);
    # - 10 May (d = 100 + 30 = 130): 4 sign up, the first 2 take freed seats, 2 are
    #   bought, 120.00 × 236/365 = 77.5890… → 77.59 each (9 of 9, then 7 of 9);
    # no true-up, no other document.
    assert [
        (d.issued_at, d.kind, [(ln.kind, ln.quantity, ln.amount) for ln in d.lines])
        for d in result.what_if
    ] == [
        (utc(2026, 1, 1), "period", [("recurring", 3, Decimal("360.00"))]),
        (utc(2026, 3, 10), "ad_hoc", [("proration", 1, Decimal("97.64"))]),
        (utc(2026, 3, 10), "ad_hoc", [("proration", 1, Decimal("97.64"))]),
        (utc(2026, 4, 10), "ad_hoc", [("proration", 1, Decimal("87.45"))]),
        (utc(2026, 4, 10), "ad_hoc", [("proration", 1, Decimal("87.45"))]),
        (utc(2026, 5, 10), "ad_hoc", [("proration", 1, Decimal("77.59"))]),
        (utc(2026, 5, 10), "ad_hoc", [("proration", 1, Decimal("77.59"))]),
    ]
    assert all(ln.period_end == date(2027, 1, 1) for d in result.what_if for ln in d.lines)
    # 360.00 + 2 × (97.64 + 87.45 + 77.59) = 885.36; 885.36 − 720.00 = 165.36
    assert result.difference == Decimal("165.36")


def test_a_what_if_keeps_only_the_documents_issued_in_its_range(uow_factory: Uow) -> None:
    account_id = seed_001(uow_factory)
    # [1 April, 1 June): really the true-up of 1 April (200.00); the 160.00 of 1 June is
    # outside. Under auto_purchase: the seats of 10 April and 10 May, 2 × (87.45 + 77.59).
    result = run(
        uow_factory,
        account_id,
        with_policy(SEED_001, "auto_purchase"),
        date(2026, 4, 1),
        date(2026, 6, 1),
    )
    assert [d.total for d in result.actual] == [Decimal("200.00")]
    assert [d.total for d in result.what_if] == [
        Decimal(x) for x in ("87.45",) * 2 + ("77.59",) * 2
    ]
    assert result.difference == Decimal("330.08") - Decimal("200.00")


def _table_contents(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in t.metadata.sorted_tables
        }
        sequences = sorted(tuple(r) for r in conn.execute(select(t.number_sequences)))
    return {"counts": counts, "number_sequences": sequences}


def test_a_what_if_stores_nothing_and_consumes_no_number(uow_factory: Uow, engine: Engine) -> None:
    account_id = seed_001(uow_factory)
    before = _table_contents(engine)
    assert before["number_sequences"]  # the real documents took numbers
    result = run(
        uow_factory,
        account_id,
        with_policy(SEED_001, "auto_purchase"),
        date(2026, 1, 1),
        date(2027, 1, 1),
    )
    assert len(result.what_if) == 7
    assert all(isinstance(d, DraftInvoice) for d in result.what_if)  # no id, no number
    assert _table_contents(engine) == before


def test_a_what_if_takes_no_write_lock(uow_factory: Uow) -> None:
    """It answers while another transaction holds the account lock."""
    account_id = seed_001(uow_factory)
    answered: list[Decimal] = []
    with uow_factory() as holder:
        holder.lock_account(account_id)
        thread = threading.Thread(
            target=lambda: answered.append(
                run(
                    uow_factory, account_id, SEED_001, date(2026, 1, 1), date(2027, 1, 1)
                ).difference
            )
        )
        thread.start()
        thread.join(timeout=20)
        locked_meanwhile = thread.is_alive()
    thread.join()
    assert not locked_meanwhile and answered == [Decimal("0.00")]


def test_credit_notes_count_negative_and_void_invoices_not_at_all(uow_factory: Uow) -> None:
    account_id = seed_001(uow_factory)
    period, true_up, _ = invoices.list_invoices(uow_factory(), account_id=account_id)
    # issued at the account's now, 2027-01-01T00:00Z: the range ends a day later
    credit_notes.create_credit_note(
        uow_factory(), invoice_id=period.id, reason="goodwill", amount="10.00", at=REAL_NOW
    )
    billing.advance_clock(uow_factory(), account_id=account_id, to=utc(2027, 1, 2))
    invoices.void_invoice(uow_factory(), invoice_id=true_up.id, reason="sent twice", at=REAL_NOW)
    result = run(uow_factory, account_id, SEED_001, date(2026, 1, 1), date(2027, 1, 2))
    # really billed: 360.00 − 10.00 + 160.00 (the 200.00 is void) = 510.00; the same
    # terms would bill 720.00.
    assert [(d.type, d.status, d.total) for d in result.actual] == [
        ("invoice", "issued", Decimal("360.00")),
        ("invoice", "void", Decimal("200.00")),
        ("invoice", "issued", Decimal("160.00")),
        ("credit_note", "issued", Decimal("10.00")),
    ]
    assert result.difference == Decimal("720.00") - Decimal("510.00")


POOL = SEED_001["pools"][0]  # type: ignore[index]
BAD_RANGES = [
    (date(2026, 1, 1), date(2027, 1, 2), "after the account's now"),
    (date(2026, 6, 1), date(2026, 6, 1), "must come after from"),
    (date(2026, 6, 1), date(2026, 5, 1), "must come after from"),
    (date(2021, 12, 31), date(2027, 1, 1), "at most 5 years"),
]
BAD_CONTRACTS = [
    ({"billing_interval": "week"}, "contract.billing_interval"),
    ({"end_date": date(2025, 12, 31)}, "contract.end_date"),
    ({"start_date": date(2016, 12, 31)}, "contract.start_date"),  # > 10 years back
    ({"minimum_spend": "-1"}, "contract.minimum_spend"),
    ({"pools": [{**POOL, "policy": "free"}]}, "contract.pools[0].policy"),
    ({"pools": [{**POOL, "unit_price": "1.001"}]}, "contract.pools[0].unit_price"),
    ({"pools": [{**POOL, "minimum": 4}]}, "contract.pools[0].minimum"),
    ({"pools": [POOL, POOL]}, "contract.pools[1].module"),
]


def test_a_range_in_the_future_empty_or_over_5_years_is_refused_naming_to(
    uow_factory: Uow, engine: Engine
) -> None:
    account_id = seed_001(uow_factory)  # its clock reads 2027-01-01T00:00Z
    before = _table_contents(engine)
    for start, end, why in BAD_RANGES:
        with pytest.raises(InvalidInput, match=why) as refused:
            run(uow_factory, account_id, SEED_001, start, end)
        assert refused.value.field == "to", (start, end)
    # up to the account's now, and exactly 5 years, are allowed
    assert run(uow_factory, account_id, SEED_001, date(2022, 1, 1), date(2027, 1, 1)).what_if
    assert _table_contents(engine) == before


def test_a_what_if_contract_invalid_as_a_contract_is_refused_naming_its_field(
    uow_factory: Uow, engine: Engine
) -> None:
    account_id = seed_001(uow_factory)
    before = _table_contents(engine)
    for change, field in BAD_CONTRACTS:
        with pytest.raises(InvalidInput) as refused:
            run(uow_factory, account_id, {**SEED_001, **change}, date(2026, 1, 1), date(2027, 1, 1))
        assert refused.value.field == field, change
    assert _table_contents(engine) == before
