"""Billing through the services (PRODUCT.md §3 true-up, §4 terms, §5 billing), on
SQLite and PostgreSQL: billing runs, test clocks, the upcoming invoice, renewals,
contract ends, rounding, numbering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import InvalidInput
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.domain.money import format_amount
from seatledger.domain.periods import instant
from seatledger.services import access, accounts, billing, seat_requests, users
from seatledger.services.unit_of_work import UnitOfWork

# the wall clock of these tests: real-clock services get it as ``now``/``at``
REAL_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
OPERATOR = "operator:test"
OWNER = "user:owner"

Uow = Callable[[], UnitOfWork]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ----------------------------------------------------------------------------- helpers


def pool(module: str = "console", **kwargs: Any) -> dict[str, Any]:
    return {"module": module, "capacity": 5, "policy": "block", "unit_price": "30.00", **kwargs}


def clock_account(
    uow: Uow,
    *pools: dict[str, Any],
    start: date = date(2026, 1, 1),
    interval: str = "month",
    currency: str = "EUR",
    tax_rate: str | None = None,
    end_date: date | None = None,
    clock: datetime | None = None,
) -> str:
    """An account on a test clock reading ``clock`` (default: the contract start)."""
    account = accounts.create_account(
        uow(),
        name="Acme",
        currency=currency,
        tax_rate=tax_rate,
        test_clock=True,
        clock_start=clock or instant(start),
        at=REAL_NOW,
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=start,
        end_date=end_date,
        billing_interval=interval,
        pools=list(pools or (pool(),)),
        at=REAL_NOW,
        actor=OPERATOR,
    )
    return account.id


def real_account(
    uow: Uow,
    *pools: dict[str, Any],
    start: date = date(2025, 1, 1),
    interval: str = "month",
    at: datetime = utc(2024, 12, 1),
    currency: str = "EUR",
) -> str:
    account = accounts.create_account(uow(), name="Real", currency=currency, at=at)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=start,
        billing_interval=interval,
        pools=list(pools or (pool(),)),
        at=at,
        actor=OPERATOR,
    )
    return account.id


def add_users(
    uow: Uow,
    account_id: str,
    count: int,
    *,
    at: datetime = REAL_NOW,
    prefix: str = "user",
    **kwargs: Any,
) -> list[users.UserResult]:
    return [
        users.create_user(
            uow(),
            account_id=account_id,
            email=f"{prefix}{n}@example.com",
            first_name="Seat",
            last_name="Holder",
            at=at,
            actor=OPERATOR,
            **kwargs,
        )
        for n in range(count)
    ]


def advance(uow: Uow, account_id: str, *ymd: int) -> list[IssuedInvoice]:
    return billing.advance_clock(uow(), account_id=account_id, to=utc(*ymd))


def documents(uow: Uow, account_id: str | None = None) -> list[IssuedInvoice]:
    with uow() as u:
        return u.invoices.all_for(account_id)


def by_key(uow: Uow, account_id: str) -> dict[str, IssuedInvoice]:
    return {d.key: d for d in documents(uow, account_id)}


def capacity(uow: Uow, account_id: str, module: str = "console") -> int:
    return {p.module: p for p in access.list_pools(uow(), account_id=account_id)}[module].capacity


def counts(uow: Uow) -> dict[str, Any]:
    """What a read must never change."""
    with uow() as u:
        c = u.conn
        return {
            "invoices": c.execute(select(func.count()).select_from(t.invoices)).scalar_one(),
            "lines": c.execute(select(func.count()).select_from(t.invoice_lines)).scalar_one(),
            "ledger": c.execute(select(func.count()).select_from(t.seat_ledger)).scalar_one(),
            "markers": c.execute(select(func.count()).select_from(t.billing_markers)).scalar_one(),
            "sequences": sorted(tuple(r) for r in c.execute(select(t.number_sequences))),
            "pools": sorted(
                (r.module, r.capacity, r.committed_capacity) for r in c.execute(select(t.pools))
            ),
            "requests": sorted((r.id, r.status) for r in c.execute(select(t.seat_requests))),
        }


def amounts(doc: Any) -> list[tuple[str, str | None, Decimal]]:
    return [(ln.kind, ln.module, ln.amount) for ln in doc.lines]


def same_document(draft: Any, issued: IssuedInvoice) -> None:
    assert draft.key == issued.key
    assert draft.kind == issued.kind
    assert draft.issued_at == issued.issued_at
    assert (draft.period_start, draft.period_end) == (issued.period_start, issued.period_end)
    assert [
        (
            ln.kind,
            ln.module,
            ln.description,
            ln.quantity,
            ln.unit_price,
            ln.amount,
            ln.period_start,
            ln.period_end,
        )
        for ln in draft.lines
    ] == [
        (
            ln.kind,
            ln.module,
            ln.description,
            ln.quantity,
            ln.unit_price,
            ln.amount,
            ln.period_start,
            ln.period_end,
        )
        for ln in issued.lines
    ]
    assert (draft.subtotal, draft.tax, draft.total) == (issued.subtotal, issued.tax, issued.total)


# ----------------------------------------------------------------------- billing runs


def test_a_billing_run_issues_every_period_of_a_back_dated_contract_and_a_second_run_nothing(
    uow_factory,
):
    account_id = real_account(uow_factory, pool(capacity=3))
    assert documents(uow_factory, account_id) == []  # creating a contract issues nothing

    first = billing.run_billing(uow_factory, as_of=utc(2025, 6, 15), now=REAL_NOW)
    keys = sorted(by_key(uow_factory, account_id))
    assert keys == [f"period:2025-0{m}-01" for m in range(1, 7)]
    assert first.invoices_issued == 6 and first.accounts == 1
    assert all(d.total == Decimal("90.00") for d in documents(uow_factory, account_id))
    assert [d.issued_at for d in documents(uow_factory, account_id)] == [
        utc(2025, m, 1) for m in range(1, 7)
    ]

    before = counts(uow_factory)
    second = billing.run_billing(uow_factory, as_of=utc(2025, 6, 15), now=REAL_NOW)
    assert second.invoices_issued == 0 and second.accounts == 0
    assert counts(uow_factory) == before
    # an earlier moment issues nothing either; a later one only what fell due since
    assert (
        billing.run_billing(uow_factory, as_of=utc(2025, 3, 1), now=REAL_NOW).invoices_issued == 0
    )
    later = billing.run_billing(uow_factory, as_of=utc(2025, 8, 1), now=REAL_NOW)
    assert later.invoices_issued == 2


def test_creating_a_contract_issues_nothing_by_itself(uow_factory):
    real = real_account(uow_factory)
    on_clock = clock_account(uow_factory, start=date(2026, 1, 1), clock=utc(2026, 3, 5))
    assert documents(uow_factory) == []
    assert by_key(uow_factory, real) == {} and by_key(uow_factory, on_clock) == {}
    # the clock account's back-dated periods are issued when its clock moves
    advance(uow_factory, on_clock, 2026, 3, 5)
    assert sorted(by_key(uow_factory, on_clock)) == [
        "period:2026-01-01",
        "period:2026-02-01",
        "period:2026-03-01",
    ]


def test_a_billing_run_skips_test_clock_accounts(uow_factory):
    on_clock = clock_account(uow_factory, clock=utc(2026, 1, 1))
    real = real_account(uow_factory, start=date(2026, 1, 1))
    result = billing.run_billing(uow_factory, as_of=utc(2026, 2, 1), now=REAL_NOW)
    assert result.accounts == 1
    assert by_key(uow_factory, on_clock) == {}
    assert sorted(by_key(uow_factory, real)) == ["period:2026-01-01", "period:2026-02-01"]


def test_a_billing_run_reports_accounts_with_their_total_first(uow_factory):
    ids = {real_account(uow_factory, start=date(2026, 1, 1)) for _ in range(3)}
    clock_account(uow_factory)
    seen: list[tuple[str, int]] = []
    totals: list[int] = []
    result = billing.run_billing(
        uow_factory,
        as_of=utc(2026, 2, 1),
        now=REAL_NOW,
        on_start=totals.append,
        on_account=lambda a, n: seen.append((a, n)),
    )
    assert totals == [3]
    assert {a for a, _ in seen} == ids and [n for _, n in seen] == [2, 2, 2]
    assert result.invoices_issued == 6 and result.accounts == 3
    # nothing is due any more until 1 March: a second run looks at no account
    assert billing.run_billing(uow_factory, as_of=utc(2026, 2, 1), now=REAL_NOW).accounts == 0


def test_as_of_in_the_future_is_refused(uow_factory):
    real_account(uow_factory)
    with pytest.raises(InvalidInput) as refused:
        billing.run_billing(uow_factory, as_of=REAL_NOW + timedelta(seconds=1), now=REAL_NOW)
    assert refused.value.field == "as_of"
    with pytest.raises(InvalidInput):
        billing.run_billing(uow_factory, as_of=datetime(2026, 1, 1), now=REAL_NOW)  # naive
    assert documents(uow_factory) == []


def test_as_of_with_an_offset_is_read_on_the_utc_calendar(uow_factory):
    account_id = real_account(uow_factory, start=date(2026, 1, 1))
    # 31 Jan 23:30 at UTC-2 is 1 Feb 01:30Z: February's period invoice is due
    as_of = datetime(2026, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    billing.run_billing(uow_factory, as_of=as_of, now=REAL_NOW)
    assert sorted(by_key(uow_factory, account_id)) == ["period:2026-01-01", "period:2026-02-01"]


def test_an_account_a_rule_refuses_is_reported_and_the_others_are_billed(uow_factory):
    broken = real_account(
        uow_factory, pool(capacity=3), pool("documents", capacity=3), start=date(2026, 1, 1)
    )
    healthy = real_account(uow_factory, start=date(2026, 1, 1))
    add_users(uow_factory, broken, 3, at=utc(2026, 1, 5))
    # a version signed for March that drops a module whose seats are held (§2.4:
    # seatledger never deactivates users to make room)
    accounts.create_contract(
        uow_factory(),
        account_id=broken,
        start_date=date(2026, 3, 1),
        billing_interval="month",
        pools=[pool(capacity=3)],
        at=utc(2026, 1, 10),
        actor=OPERATOR,
    )
    result = billing.run_billing(uow_factory, as_of=utc(2026, 3, 1), now=REAL_NOW)
    assert [a for a, _ in result.failures] == [broken]
    assert "which this version drops" in result.failures[0][1]
    assert sorted(by_key(uow_factory, healthy)) == [
        "period:2026-01-01",
        "period:2026-02-01",
        "period:2026-03-01",
    ]
    assert by_key(uow_factory, broken) == {}  # its transaction was rolled back whole


# ------------------------------------------------------------------------ test clocks


def test_a_test_clock_only_moves_forward(uow_factory):
    account_id = clock_account(uow_factory, clock=utc(2026, 3, 1))
    advance(uow_factory, account_id, 2026, 3, 10)
    with pytest.raises(InvalidInput) as refused:
        advance(uow_factory, account_id, 2026, 3, 9)
    assert refused.value.field == "now"
    assert advance(uow_factory, account_id, 2026, 3, 10) == []  # the same moment is fine


def test_advance_clock_refuses_a_real_clock_account(uow_factory):
    account_id = real_account(uow_factory)
    with pytest.raises(InvalidInput) as refused:
        advance(uow_factory, account_id, 2026, 1, 1)
    assert refused.value.field == "account_id"
    assert documents(uow_factory) == []


def test_a_contract_whose_end_precedes_its_start_is_refused_naming_end_date(uow_factory):
    account = accounts.create_account(uow_factory(), name="Acme", currency="EUR", at=REAL_NOW)
    with pytest.raises(InvalidInput) as refused:
        accounts.create_contract(
            uow_factory(),
            account_id=account.id,
            start_date=date(2026, 1, 1),
            end_date=date(2025, 12, 31),
            billing_interval="month",
            pools=[pool()],
            at=REAL_NOW,
            actor=OPERATOR,
        )
    assert refused.value.field == "end_date"
    assert accounts.list_contracts(uow_factory(), account_id=account.id) == []


@pytest.mark.parametrize("currency", ["XXX", "eur", "", "EURO"])
def test_an_unknown_currency_is_refused_at_account_creation(uow_factory, currency):
    with pytest.raises(InvalidInput) as refused:
        accounts.create_account(uow_factory(), name="Acme", currency=currency, at=REAL_NOW)
    assert refused.value.field == "currency"
    assert accounts.list_accounts(uow_factory(), limit=10, after=None) == []


# ------------------------------------------------------------------- the upcoming invoice


def test_the_upcoming_invoice_equals_the_period_invoice_issued_when_nothing_changes(
    uow_factory,
):
    account_id = clock_account(
        uow_factory,
        pool(capacity=2, policy="true_up"),
        pool("documents", capacity=0, minimum=1, policy="metered", unit_price="10.00"),
        pool(
            "records",
            capacity=1,
            policy="auto_purchase",
            unit_price="12.00",
            charge_timing="next_invoice",
        ),
        tax_rate="20",
    )
    advance(uow_factory, account_id, 2026, 1, 1)
    people = add_users(uow_factory, account_id, 4)  # 4 of 2 console seats: a true-up
    advance(uow_factory, account_id, 2026, 1, 20)
    users.deactivate_user(
        uow_factory(), account_id=account_id, user_id=people[3].user.id, at=REAL_NOW, actor=OPERATOR
    )
    before = counts(uow_factory)

    draft = billing.upcoming(uow_factory(), account_id=account_id, at=REAL_NOW)

    assert counts(uow_factory) == before  # nothing kept, no number consumed
    assert draft is not None and draft.key == "period:2026-02-01"
    kinds = [ln.kind for ln in draft.lines]
    assert {"recurring", "true_up", "metered", "proration", "tax"} <= set(kinds)
    issued = advance(uow_factory, account_id, 2026, 2, 1)
    assert [d.key for d in issued] == ["period:2026-02-01"]
    same_document(draft, issued[0])


def test_the_upcoming_invoice_includes_a_yearly_true_up_and_a_scheduled_decrease(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=5, unit_price="120.00"),
        pool("extra", capacity=2, policy="true_up", unit_price="120.00"),
        interval="year",
    )
    advance(uow_factory, account_id, 2026, 1, 1)
    add_users(uow_factory, account_id, 3)
    request = seat_requests.request_seat_change(
        uow_factory(),
        account_id=account_id,
        module="console",
        target_capacity=3,
        at=REAL_NOW,
        actor=OWNER,
    )
    seat_requests.approve_seat_request(
        uow_factory(),
        request_id=request.request.id,
        at=REAL_NOW,
        actor=OPERATOR,
        effective="renewal",
    )
    advance(uow_factory, account_id, 2026, 12, 15)

    draft = billing.upcoming(uow_factory(), account_id=account_id, at=REAL_NOW)
    assert draft is not None and draft.key == "period:2027-01-01"
    assert capacity(uow_factory, account_id) == 5  # the dry run kept nothing

    issued = advance(uow_factory, account_id, 2027, 1, 1)
    period = [d for d in issued if d.key == "period:2027-01-01"]
    assert len(period) == 1
    same_document(draft, period[0])
    assert [(ln.module, ln.quantity) for ln in period[0].lines if ln.kind == "recurring"] == [
        ("console", 3),
        ("extra", 3),
    ]


def test_the_upcoming_invoice_before_the_contract_starts_is_its_first_period(uow_factory):
    account_id = clock_account(
        uow_factory, pool(capacity=2), start=date(2026, 4, 1), clock=utc(2026, 3, 10)
    )
    draft = billing.upcoming(uow_factory(), account_id=account_id, at=REAL_NOW)
    assert draft is not None and draft.key == "period:2026-04-01"
    assert draft.total == Decimal("60.00")
    same_document(draft, advance(uow_factory, account_id, 2026, 4, 1)[0])


def test_the_upcoming_invoice_of_an_ending_contract_is_its_final_invoice(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=2),
        pool("documents", capacity=0, policy="metered"),
        end_date=date(2026, 3, 31),
    )
    add_users(uow_factory, account_id, 1)
    advance(uow_factory, account_id, 2026, 3, 2)
    draft = billing.upcoming(uow_factory(), account_id=account_id, at=REAL_NOW)
    assert draft is not None and draft.key == "final:2026-04-01"
    same_document(draft, advance(uow_factory, account_id, 2026, 4, 2)[0])
    assert billing.upcoming(uow_factory(), account_id=account_id, at=REAL_NOW) is None


# ---------------------------------------------------------------------------- periods


def test_a_monthly_contract_from_31_january_2028_bills_29_february_then_31_march(uow_factory):
    account_id = clock_account(uow_factory, pool(capacity=1), start=date(2028, 1, 31))
    advance(uow_factory, account_id, 2028, 5, 1)
    docs = documents(uow_factory, account_id)
    assert [(d.issued_at, d.period_start, d.period_end) for d in docs] == [
        (utc(2028, 1, 31), date(2028, 1, 31), date(2028, 2, 29)),
        (utc(2028, 2, 29), date(2028, 2, 29), date(2028, 3, 31)),
        (utc(2028, 3, 31), date(2028, 3, 31), date(2028, 4, 30)),
        (utc(2028, 4, 30), date(2028, 4, 30), date(2028, 5, 31)),
    ]
    assert all(d.total == Decimal("30.00") for d in docs)


def test_a_last_period_cut_by_end_date_is_prorated_by_days(uow_factory):
    account_id = clock_account(uow_factory, pool(capacity=2), end_date=date(2026, 2, 14))
    advance(uow_factory, account_id, 2026, 3, 1)
    keys = by_key(uow_factory, account_id)
    assert sorted(keys) == ["period:2026-01-01", "period:2026-02-01"]
    cut = keys["period:2026-02-01"]
    assert cut.period_end == date(2026, 2, 15)
    assert amounts(cut) == [("recurring", "console", Decimal("30.00"))]  # 60 × 14/28


# --------------------------------------------------------------------------- rounding


def test_jpy_lines_round_half_up_to_whole_yen(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=1, policy="inactive_when_full", unit_price="1000"),
        currency="JPY",
        tax_rate="10",
    )
    add_users(uow_factory, account_id, 1)
    advance(uow_factory, account_id, 2026, 1, 11)  # day 11 of a 31-day period
    add_users(uow_factory, account_id, 1, prefix="late", add_license=True)
    charge = [d for d in documents(uow_factory, account_id) if d.key.startswith("charge:")]
    assert len(charge) == 1
    assert amounts(charge[0]) == [
        ("proration", "console", Decimal("677")),  # 677.419…
        ("tax", None, Decimal("68")),
    ]  # 67.7
    assert charge[0].total == Decimal("745")
    assert format_amount(charge[0].total, "JPY") == "745"


def test_bhd_lines_round_half_up_to_three_decimals(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=1, policy="auto_purchase", unit_price="10.125"),
        currency="BHD",
        start=date(2026, 4, 1),
    )
    add_users(uow_factory, account_id, 1)
    advance(uow_factory, account_id, 2026, 4, 16)  # day 16 of a 30-day period
    add_users(uow_factory, account_id, 1, prefix="late")
    charge = [d for d in documents(uow_factory, account_id) if d.key.startswith("charge:")]
    assert amounts(charge[0]) == [("proration", "console", Decimal("5.063"))]  # 5.0625
    assert format_amount(charge[0].total, "BHD") == "5.063"
    advance(uow_factory, account_id, 2026, 5, 1)
    period = by_key(uow_factory, account_id)["period:2026-05-01"]
    assert amounts(period) == [("recurring", "console", Decimal("20.250"))]


def test_the_tax_line_is_the_rate_on_the_subtotal_rounded_once(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool("alpha", capacity=1, unit_price="0.05"),
        pool("beta", capacity=1, unit_price="0.05"),
        tax_rate="10",
    )
    invoice = advance(uow_factory, account_id, 2026, 1, 1)[0]
    # per line, 10% of 0.05 would round to 0.01 twice; on the subtotal 0.10 it is 0.01
    assert amounts(invoice) == [
        ("recurring", "alpha", Decimal("0.05")),
        ("recurring", "beta", Decimal("0.05")),
        ("tax", None, Decimal("0.01")),
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("0.10"),
        Decimal("0.01"),
        Decimal("0.11"),
    )
    assert invoice.total == sum(ln.amount for ln in invoice.lines)


# ------------------------------------------------------------------------- charges


def test_next_invoice_timing_puts_the_proration_on_the_next_period_invoice(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=1, policy="auto_purchase", charge_timing="next_invoice"),
        start=date(2026, 4, 1),
    )
    add_users(uow_factory, account_id, 1)
    advance(uow_factory, account_id, 2026, 4, 16)
    add_users(uow_factory, account_id, 1, prefix="late")  # buys a seat on day 16 of 30
    assert capacity(uow_factory, account_id) == 2
    assert [d.key for d in documents(uow_factory, account_id)] == ["period:2026-04-01"]

    may = advance(uow_factory, account_id, 2026, 5, 1)
    assert [d.key for d in may] == ["period:2026-05-01"]
    assert amounts(may[0]) == [
        ("recurring", "console", Decimal("60.00")),
        ("proration", "console", Decimal("15.00")),
    ]
    assert (may[0].lines[1].period_start, may[0].lines[1].period_end) == (
        date(2026, 4, 16),
        date(2026, 5, 1),
    )
    # and only once
    june = advance(uow_factory, account_id, 2026, 6, 1)
    assert amounts(june[0]) == [("recurring", "console", Decimal("60.00"))]


def test_an_immediate_purchase_is_an_ad_hoc_invoice_and_deleting_its_user_credits_nothing(
    uow_factory,
):
    account_id = clock_account(
        uow_factory, pool(capacity=10, minimum=10, policy="auto_purchase"), start=date(2026, 4, 1)
    )
    advance(uow_factory, account_id, 2026, 4, 1)
    add_users(uow_factory, account_id, 10)
    advance(uow_factory, account_id, 2026, 4, 21)  # day 21 of 30
    eleventh = add_users(uow_factory, account_id, 1, prefix="eleventh")[0]
    charges = [d for d in documents(uow_factory, account_id) if d.key.startswith("charge:")]
    assert len(charges) == 1 and charges[0].kind == "ad_hoc"
    assert charges[0].total == Decimal("10.00") and charges[0].issued_at == utc(2026, 4, 21)

    before = documents(uow_factory, account_id)
    users.delete_user(
        uow_factory(), account_id=account_id, user_id=eleventh.user.id, at=REAL_NOW, actor=OPERATOR
    )
    add_users(uow_factory, account_id, 1, prefix="twelfth")  # reuses the freed seat
    after = documents(uow_factory, account_id)
    assert [d.id for d in after] == [d.id for d in before]
    assert not [d for d in after if d.type == "credit_note"]
    assert capacity(uow_factory, account_id) == 11


# ------------------------------------------------------------------------- true-up


def test_seed_001_yearly_true_up_is_an_ad_hoc_invoice_at_the_month_close(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=3, policy="true_up", unit_price="120.00"),
        interval="year",
        end_date=date(2026, 12, 31),
    )
    add_users(uow_factory, account_id, 1)
    advance(uow_factory, account_id, 2026, 3, 10)
    add_users(uow_factory, account_id, 4, prefix="march")
    issued = advance(uow_factory, account_id, 2026, 4, 1)
    assert [(d.key, d.issued_at, d.total) for d in issued] == [
        ("true_up:2026-04-01", utc(2026, 4, 1), Decimal("200.00"))
    ]
    assert capacity(uow_factory, account_id) == 5
    assert (
        billing.advance_clock(uow_factory(), account_id=account_id, to=utc(2026, 5, 1)) == []
    )  # 5 of 5: nothing


def test_a_true_up_at_the_contract_end_is_billed_once_for_the_months_left(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=2, policy="true_up", unit_price="120.00"),
        interval="year",
        end_date=date(2026, 6, 30),
    )
    add_users(uow_factory, account_id, 2)
    advance(uow_factory, account_id, 2026, 6, 10)
    add_users(uow_factory, account_id, 3, prefix="june")
    issued = advance(uow_factory, account_id, 2026, 7, 2)
    # June is the only month left of the (cut) period: 3 × 120.00 × 1/12, on the
    # final invoice only (not also on an ad-hoc true-up invoice)
    assert [(d.key, d.total) for d in issued] == [("final:2026-07-01", Decimal("30.00"))]
    assert issued[0].lines[0].description.endswith("× 1/12 of the period")


def test_a_monthly_true_up_is_on_the_next_period_invoice(uow_factory):
    account_id = clock_account(uow_factory, pool(capacity=2, policy="true_up"))
    advance(uow_factory, account_id, 2026, 1, 1)
    add_users(uow_factory, account_id, 4)
    feb = advance(uow_factory, account_id, 2026, 2, 1)
    assert [d.key for d in feb] == ["period:2026-02-01"]
    assert amounts(feb[0]) == [
        ("recurring", "console", Decimal("120.00")),
        ("true_up", "console", Decimal("60.00")),
    ]


# ---------------------------------------------------------------------------- renewals


def test_a_renewal_applies_a_decrease_scheduled_for_it(uow_factory):
    account_id = clock_account(uow_factory, pool(capacity=5, unit_price="120.00"), interval="year")
    add_users(uow_factory, account_id, 2)
    advance(uow_factory, account_id, 2026, 6, 1)
    request = seat_requests.request_seat_change(
        uow_factory(),
        account_id=account_id,
        module="console",
        target_capacity=3,
        at=REAL_NOW,
        actor=OWNER,
    )
    assert request.request.status == "pending"
    scheduled = seat_requests.approve_seat_request(
        uow_factory(),
        request_id=request.request.id,
        at=REAL_NOW,
        actor=OPERATOR,
        effective="renewal",
    )
    assert scheduled.status == "scheduled"
    advance(uow_factory, account_id, 2026, 12, 31)
    assert capacity(uow_factory, account_id) == 5

    issued = advance(uow_factory, account_id, 2027, 1, 1)
    assert capacity(uow_factory, account_id) == 3
    decided = seat_requests.get_seat_request(uow_factory(), request_id=request.request.id)
    assert decided.status == "applied" and decided.decided_at == utc(2027, 1, 1)
    assert amounts(issued[0]) == [("recurring", "console", Decimal("360.00"))]
    assert not [d for d in documents(uow_factory, account_id) if d.type == "credit_note"]


def test_a_scheduled_decrease_that_no_longer_fits_is_rejected_with_its_reason(uow_factory):
    account_id = clock_account(uow_factory, pool(capacity=5, unit_price="120.00"), interval="year")
    add_users(uow_factory, account_id, 2)
    request = seat_requests.request_seat_change(
        uow_factory(),
        account_id=account_id,
        module="console",
        target_capacity=3,
        at=REAL_NOW,
        actor=OWNER,
    )
    seat_requests.approve_seat_request(
        uow_factory(),
        request_id=request.request.id,
        at=REAL_NOW,
        actor=OPERATOR,
        effective="renewal",
    )
    add_users(uow_factory, account_id, 2, prefix="more")  # 4 in use now
    issued = advance(uow_factory, account_id, 2027, 1, 1)
    decided = seat_requests.get_seat_request(uow_factory(), request_id=request.request.id)
    assert decided.status == "rejected"
    assert "4 seats of pool 'console' are in use" in (decided.reason or "")
    assert capacity(uow_factory, account_id) == 5
    assert amounts([d for d in issued if d.key == "period:2027-01-01"][0]) == [
        ("recurring", "console", Decimal("600.00"))
    ]


def test_a_decrease_approved_after_an_anniversary_is_not_applied_back_in_time(uow_factory):
    account_id = real_account(uow_factory, pool(capacity=5), start=date(2025, 1, 1))
    request = seat_requests.request_seat_change(
        uow_factory(),
        account_id=account_id,
        module="console",
        target_capacity=3,
        at=utc(2026, 2, 1),
        actor=OWNER,
    )
    seat_requests.approve_seat_request(
        uow_factory(),
        request_id=request.request.id,
        at=utc(2026, 2, 2),
        actor=OPERATOR,
        effective="renewal",
    )
    # a run catching up on 2025 reaches the 2026-01-01 anniversary after the approval
    billing.run_billing(uow_factory, as_of=utc(2026, 3, 1), now=REAL_NOW)
    assert capacity(uow_factory, account_id) == 5
    assert (
        seat_requests.get_seat_request(uow_factory(), request_id=request.request.id).status
        == "scheduled"
    )
    billing.run_billing(uow_factory, as_of=utc(2027, 1, 1), now=utc(2027, 1, 1))
    assert capacity(uow_factory, account_id) == 3


# ------------------------------------------------------------------- contract ends


def test_an_ended_contract_gets_a_final_invoice_with_its_metered_arrears(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool(capacity=2),
        pool("documents", capacity=0, policy="metered", unit_price="10.00"),
        start=date(2026, 4, 1),
        end_date=date(2026, 4, 30),
    )
    people = add_users(uow_factory, account_id, 2)
    advance(uow_factory, account_id, 2026, 4, 13)  # start of day 13
    users.deactivate_user(
        uow_factory(), account_id=account_id, user_id=people[1].user.id, at=REAL_NOW, actor=OPERATOR
    )
    advance(uow_factory, account_id, 2026, 4, 30, 12)
    assert (
        access.check_access(
            uow_factory(), account_id=account_id, at=REAL_NOW, user_id=people[0].user.id
        ).reason
        == "ok"
    )
    issued = advance(uow_factory, account_id, 2026, 5, 3)
    assert [(d.key, d.kind, d.issued_at) for d in issued] == [
        ("final:2026-05-01", "ad_hoc", utc(2026, 5, 1))
    ]
    # seed 003: 30 + 12 user-days of 30 at 10.00
    assert amounts(issued[0]) == [("metered", "documents", Decimal("14.00"))]
    answer = access.check_access(
        uow_factory(),
        account_id=account_id,
        at=REAL_NOW,
        user_id=people[0].user.id,
        module="console",
    )
    assert (answer.allowed, answer.reason) == (False, "contract_ended")
    assert advance(uow_factory, account_id, 2026, 9, 1) == []  # nothing after the end


def test_a_gap_between_two_versions_still_bills_the_first_ones_arrears(uow_factory):
    account_id = clock_account(
        uow_factory,
        pool("documents", capacity=0, policy="metered", unit_price="10.00"),
        start=date(2026, 1, 1),
        end_date=date(2026, 1, 31),
    )
    add_users(uow_factory, account_id, 1)
    accounts.create_contract(
        uow_factory(),
        account_id=account_id,
        start_date=date(2026, 3, 1),
        billing_interval="month",
        pools=[pool("documents", capacity=0, policy="metered", unit_price="10.00")],
        at=REAL_NOW,
        actor=OPERATOR,
    )
    advance(uow_factory, account_id, 2026, 3, 2)
    keys = by_key(uow_factory, account_id)
    assert sorted(keys) == ["final:2026-02-01", "period:2026-01-01", "period:2026-03-01"]
    assert amounts(keys["final:2026-02-01"]) == [("metered", "documents", Decimal("10.00"))]


# -------------------------------------------------------------------------- numbering


def test_numbers_are_gapless_per_year_and_test_clocks_use_their_own_sequences(uow_factory):
    real = real_account(uow_factory, pool(capacity=1), start=date(2025, 11, 1))
    on_clock = clock_account(uow_factory, pool(capacity=1), start=date(2025, 12, 1))
    advance(uow_factory, on_clock, 2026, 2, 1)
    billing.run_billing(uow_factory, as_of=utc(2026, 3, 1), now=REAL_NOW)
    other = real_account(uow_factory, pool(capacity=1), start=date(2026, 1, 1))
    billing.run_billing(uow_factory, as_of=utc(2026, 3, 1), now=REAL_NOW)

    def numbers(account_id: str) -> list[str]:
        return [d.number for d in documents(uow_factory, account_id)]

    assert numbers(real) == [
        "INV-2025-000001",
        "INV-2025-000002",
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2026-000003",
    ]
    assert numbers(other) == ["INV-2026-000004", "INV-2026-000005", "INV-2026-000006"]
    assert numbers(on_clock) == [
        "TEST-INV-2025-000001",
        "TEST-INV-2026-000001",
        "TEST-INV-2026-000002",
    ]


# ------------------------------------------------------------ the preview only reads


def test_the_upcoming_invoice_answers_while_another_transaction_holds_the_write_lock(
    uow_factory, engine, backend
):
    """§5: the upcoming invoice is computed without issuing it: it takes no write lock
    (on SQLite the whole database's) and consumes no number."""
    import sqlite3
    import threading

    from sqlalchemy import text

    account_id = real_account(uow_factory, pool(capacity=3), start=date(2026, 1, 1))
    before = counts(uow_factory)
    if backend == "sqlite":
        holder: Any = sqlite3.connect(engine.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the database's write lock
    else:
        holder = engine.connect()
        holder.execute(  # the account's row lock, as every write takes it first
            text("UPDATE accounts SET lock_version = lock_version + 1 WHERE id = :id"),
            {"id": account_id},
        )
    answers: list[Any] = []
    try:
        worker = threading.Thread(
            target=lambda: answers.append(
                billing.upcoming(uow_factory(), account_id=account_id, at=REAL_NOW)
            )
        )
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), "the preview waited for the write lock"
    finally:
        holder.rollback()
        holder.close()
    # the period of 2026-12-01 as it stands: 3 × 30.00
    assert answers[0].key == "period:2026-12-01"
    assert amounts(answers[0]) == [("recurring", "console", Decimal("90.00"))]
    assert counts(uow_factory) == before


def test_a_version_taking_effect_below_the_seats_in_use_keeps_them_and_billing_goes_on(
    uow_factory,
):
    """§2.4: capacity never drops below the seats in use, also by a contract version, and
    seatledger never deactivates users to make room; §5: a clock move runs everything
    due. v2 (3 seats from 5 January) and v3 (1 seat from 12 January) are both recorded on
    1 January; on 6 January 3 users take the 3 seats: v3 takes effect keeping 3."""
    account_id = clock_account(uow_factory, pool(capacity=1))
    for start, seats in ((date(2026, 1, 5), 3), (date(2026, 1, 12), 1)):
        accounts.create_contract(
            uow_factory(),
            account_id=account_id,
            start_date=start,
            billing_interval="month",
            pools=[pool(capacity=seats)],
            at=REAL_NOW,
            actor=OPERATOR,
        )
    advance(uow_factory, account_id, 2026, 1, 6)
    add_users(uow_factory, account_id, 3)
    issued = advance(uow_factory, account_id, 2026, 2, 2)
    assert capacity(uow_factory, account_id) == 3
    february = [d for d in issued if d.key == "period:2026-02-01"][0]
    # 3 seats in use, at v3's price: 3 × 30.00
    assert amounts(february) == [("recurring", "console", Decimal("90.00"))]
