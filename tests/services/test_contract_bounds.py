"""The bounds of a contract's terms (issue 6, items 4 and 8), on SQLite and PostgreSQL:
every amount a valid contract can bill fits the money columns (NUMERIC(24, 6) on
PostgreSQL: below 10^18), anything larger is refused naming its field, and a contract
starts at most ten years before the account's now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from seatledger.domain.errors import InvalidInput
from seatledger.services import accounts, billing, seat_requests
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
OPERATOR = "operator:test"
CREATED = datetime(2025, 12, 1, tzinfo=UTC)
REAL_NOW = datetime(2026, 2, 15, 9, 30, tzinfo=UTC)
D = Decimal


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def pool(module: str = "console", **terms: Any) -> dict[str, Any]:
    return {"module": module, "capacity": 5, "policy": "block", "unit_price": "30.00", **terms}


def new_account(uow: Uow, **kwargs: Any) -> str:
    return accounts.create_account(uow(), name="Acme", currency="EUR", at=CREATED, **kwargs).id


def contract(uow: Uow, account_id: str, *pools: dict[str, Any], **kwargs: Any) -> Any:
    return accounts.create_contract(
        uow(),
        account_id=account_id,
        start_date=kwargs.pop("start_date", date(2026, 1, 1)),
        billing_interval=kwargs.pop("billing_interval", "month"),
        pools=list(pools or (pool(),)),
        at=kwargs.pop("at", CREATED),
        actor=OPERATOR,
        **kwargs,
    )


def stored(uow: Uow, account_id: str) -> dict[str, Any]:
    with uow() as u:
        return {
            "contracts": u.contracts.all(account_id),
            "pools": u.pools.all(account_id),
            "invoices": u.invoices.all_for(account_id),
        }


# ------------------------------------------------------------------ item 4: unit_price


@pytest.mark.parametrize("unit_price", ["999999999999999.00", "1000000000.01"])
def test_a_unit_price_above_one_billion_is_refused_naming_unit_price_and_nothing_is_written(
    uow_factory, unit_price
):
    # the case: capacity 1,000,000 at 999999999999999.00 overflowed the money
    # column on PostgreSQL at the first billing run
    account_id = new_account(uow_factory)
    before = stored(uow_factory, account_id)
    with pytest.raises(InvalidInput) as refused:
        contract(
            uow_factory,
            account_id,
            pool("docs"),
            pool("console", capacity=1_000_000, unit_price=unit_price),
        )
    assert refused.value.field == "pools[1].unit_price"
    assert "at most 1000000000" in refused.value.message
    assert stored(uow_factory, account_id) == before


def test_a_contract_of_more_than_one_hundred_pools_is_refused_naming_pools(uow_factory):
    account_id = new_account(uow_factory)
    with pytest.raises(InvalidInput) as refused:
        contract(uow_factory, account_id, *(pool(f"m{n}") for n in range(101)))
    assert refused.value.field == "pools"
    assert stored(uow_factory, account_id)["contracts"] == []


def test_the_largest_contract_allowed_bills_without_overflowing_the_money_columns(uow_factory):
    # 100 pools at the largest unit price and seat counts, tax at 100 %:
    # 98 block pools of 1,000,000 seats, a metered pool with a minimum of 1,000,000,
    # and a pool raised from 1 to 1,000,000 seats on its first day, charged on the
    # next invoice. Each line is at most 1,000,000 × 1,000,000,000.00 = 10^15.
    top = "1000000000.00"
    account_id = new_account(uow_factory, tax_rate="100")
    contract(
        uow_factory,
        account_id,
        *(pool(f"block{n:02}", capacity=1_000_000, unit_price=top) for n in range(98)),
        pool("metered", capacity=0, minimum=1_000_000, policy="metered", unit_price=top),
        pool("grown", capacity=1, charge_timing="next_invoice", unit_price=top),
    )
    seat_requests.request_seat_change(
        uow_factory(),
        account_id=account_id,
        module="grown",
        target_capacity=1_000_000,
        at=utc(2026, 1, 1),
        actor=OPERATOR,
    )

    result = billing.run_billing(uow_factory, as_of=utc(2026, 2, 1), now=REAL_NOW)

    assert result.failures == [] and result.invoices_issued == 2
    line = D(10**15)
    january, february = stored(uow_factory, account_id)["invoices"]
    # January: 98 × 10^15 + 1 × 10^15 ("grown": one seat in force at the start) → tax
    assert january.subtotal == 98 * line + D(top)
    # February: 99 recurring lines, January's metered minimum and the 999,999 seats
    # added on 1 January (31/31 of the month): 10^17 + 999,999 × 10^9
    assert february.subtotal == 100 * line + 999_999 * D(top)
    assert february.tax == february.subtotal and february.total == 2 * february.subtotal
    assert february.total < D(10**18)
    assert max(ln.amount for ln in february.lines if ln.kind != "tax") == line


# ------------------------------------------------------------------ item 8: start_date


def test_a_contract_starting_more_than_ten_years_before_the_accounts_now_is_refused(uow_factory):
    # the case: a start in 1900 billed 1,524 periods in one transaction
    account_id = new_account(uow_factory)
    for start in (date(1900, 1, 1), date(2015, 11, 30)):
        with pytest.raises(InvalidInput) as refused:
            contract(uow_factory, account_id, start_date=start, at=CREATED)
        assert refused.value.field == "start_date"
        assert refused.value.extra["earliest_start_date"] == "2015-12-01"
    assert stored(uow_factory, account_id)["contracts"] == []
    # exactly ten years back is allowed
    assert contract(uow_factory, account_id, start_date=date(2015, 12, 1)).version == 1


def test_how_far_back_a_contract_may_start_is_read_on_the_accounts_test_clock(uow_factory):
    # the real clock reads 2026; the account's own clock reads 1 March 1990
    on_clock = new_account(uow_factory, test_clock=True, clock_start=utc(1990, 3, 1))
    assert contract(uow_factory, on_clock, start_date=date(1980, 3, 1), at=REAL_NOW).version == 1
    with pytest.raises(InvalidInput) as refused:
        contract(uow_factory, on_clock, start_date=date(1980, 2, 29), at=REAL_NOW)
    assert refused.value.field == "start_date"


def test_ten_years_before_29_february_is_28_february(uow_factory):
    account_id = new_account(uow_factory, test_clock=True, clock_start=utc(2028, 2, 29, 12))
    with pytest.raises(InvalidInput) as refused:
        contract(uow_factory, account_id, start_date=date(2018, 2, 27), at=REAL_NOW)
    assert refused.value.extra["earliest_start_date"] == "2018-02-28"
    assert contract(uow_factory, account_id, start_date=date(2018, 2, 28), at=REAL_NOW).version == 1
