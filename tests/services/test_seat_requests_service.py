"""Use cases of seat-change requests (the Billing tab, PRODUCT.md §4) and the
form rules of contracts, through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from seatledger.domain.errors import Conflict, InvalidInput, RuleRefusal
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.domain.ledger import CAPACITY_CHANGED, CAUSE_SEAT_REQUEST
from seatledger.domain.seat_requests import BELOW_MINIMUM
from seatledger.services import access, accounts, billing, seat_requests, users
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OWNER = "user:owner"
OPERATOR = "operator:test"

Uow = Callable[[], UnitOfWork]


# ----------------------------------------------------------------------------- helpers


def make_account(uow: Uow, *pools: dict[str, Any], increase_approval: str = "automatic") -> str:
    pools = pools or ({"module": "console", "capacity": 5, "policy": "block"},)
    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=NOW)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"unit_price": "30.00", **p} for p in pools],
        at=NOW,
        actor=OPERATOR,
        increase_approval=increase_approval,
    )
    return account.id


def fill(uow: Uow, account_id: str, count: int) -> None:
    for n in range(count):
        users.create_user(
            uow(),
            account_id=account_id,
            email=f"user{n}@example.com",
            first_name="Seat",
            last_name="Holder",
            at=NOW,
            actor=OPERATOR,
        )


def pool(uow: Uow, account_id: str, module: str = "console"):  # type: ignore[no-untyped-def]
    return {p.module: p for p in access.list_pools(uow(), account_id=account_id)}[module]


def ledger(uow: Uow, account_id: str):  # type: ignore[no-untyped-def]
    with uow() as u:
        return u.ledger.entries(account_id)


def request(
    uow: Uow, account_id: str, target: int, module: str = "console", **kwargs: Any
) -> seat_requests.SeatRequestResult:
    return seat_requests.request_seat_change(
        uow(),
        account_id=account_id,
        module=module,
        target_capacity=target,
        at=NOW,
        actor=OWNER,
        **kwargs,
    )


def stored_requests(uow: Uow, account_id: str) -> list[seat_requests.SeatRequest]:
    return seat_requests.list_seat_requests(uow(), account_id=account_id)


def invoices(uow: Uow, account_id: str) -> list[IssuedInvoice]:
    with uow() as u:
        return u.invoices.all_for(account_id)


# --------------------------------------------------------------------------- increases


def test_an_increase_under_automatic_approval_is_applied_at_once(uow_factory):
    account_id = make_account(uow_factory)
    entries_before = len(ledger(uow_factory, account_id))

    result = request(uow_factory, account_id, 8)

    assert result.stored
    assert result.request.status == "applied"
    assert result.request.effective == "now"
    assert result.request.message.startswith("+3 seats will be requested")
    assert pool(uow_factory, account_id).capacity == 8
    entries = ledger(uow_factory, account_id)
    assert len(entries) == entries_before + 1
    change = entries[-1]
    assert (change.kind, change.delta, change.capacity_after, change.cause, change.purchased) == (
        CAPACITY_CHANGED,
        3,
        8,
        CAUSE_SEAT_REQUEST,
        True,
    )
    assert [r.status for r in stored_requests(uow_factory, account_id)] == ["applied"]


def test_one_more_seat_reads_plus_one_seat_will_be_requested(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 7, "minimum": 6, "policy": "inactive_when_full"},
    )
    result = request(uow_factory, account_id, 8, preview=True)
    assert result.request.message.startswith("+1 seat will be requested")


def test_an_increase_under_operator_approval_stays_pending_until_an_operator_approves(
    uow_factory,
):
    account_id = make_account(uow_factory, increase_approval="operator")
    entries_before = len(ledger(uow_factory, account_id))

    pending = request(uow_factory, account_id, 7).request

    assert pending.status == "pending"
    assert pool(uow_factory, account_id).capacity == 5
    assert len(ledger(uow_factory, account_id)) == entries_before

    approved = seat_requests.approve_seat_request(
        uow_factory(), request_id=pending.id, at=NOW, actor=OPERATOR
    )
    assert (approved.status, approved.effective) == ("applied", "now")
    assert pool(uow_factory, account_id).capacity == 7
    assert len(ledger(uow_factory, account_id)) == entries_before + 1


def test_an_operator_may_reject_a_pending_increase_with_a_reason(uow_factory):
    account_id = make_account(uow_factory, increase_approval="operator")
    pending = request(uow_factory, account_id, 7).request

    with pytest.raises(InvalidInput):
        seat_requests.reject_seat_request(
            uow_factory(), request_id=pending.id, reason="  ", at=NOW, actor=OPERATOR
        )
    rejected = seat_requests.reject_seat_request(
        uow_factory(), request_id=pending.id, reason="Budget not approved", at=NOW, actor=OPERATOR
    )

    assert (rejected.status, rejected.reason) == ("rejected", "Budget not approved")
    assert seat_requests.get_seat_request(uow_factory(), request_id=pending.id).status == (
        "rejected"
    )
    assert pool(uow_factory, account_id).capacity == 5
    with pytest.raises(Conflict):
        seat_requests.approve_seat_request(
            uow_factory(), request_id=pending.id, at=NOW, actor=OPERATOR
        )


# --------------------------------------------------------------------------- decreases


def test_a_decrease_stays_pending_until_an_operator_approves_it_now(uow_factory):
    account_id = make_account(uow_factory)
    fill(uow_factory, account_id, 2)

    pending = request(uow_factory, account_id, 3).request

    assert pending.status == "pending"
    assert pending.message.startswith("\u22122 seats will be requested")
    assert pool(uow_factory, account_id).capacity == 5

    applied = seat_requests.approve_seat_request(
        uow_factory(), request_id=pending.id, at=NOW, actor=OPERATOR, effective="now"
    )
    assert (applied.status, applied.effective) == ("applied", "now")
    assert (pool(uow_factory, account_id).capacity, pool(uow_factory, account_id).in_use) == (3, 2)
    last = ledger(uow_factory, account_id)[-1]
    assert (last.kind, last.delta, last.capacity_after, last.purchased) == (
        CAPACITY_CHANGED,
        -2,
        3,
        False,
    )


def test_a_decrease_approved_for_the_renewal_is_scheduled_and_keeps_capacity_until_then(
    uow_factory,
):
    account_id = make_account(uow_factory)
    pending = request(uow_factory, account_id, 4).request
    entries_before = len(ledger(uow_factory, account_id))

    scheduled = seat_requests.approve_seat_request(
        uow_factory(), request_id=pending.id, at=NOW, actor=OPERATOR
    )

    assert (scheduled.status, scheduled.effective) == ("scheduled", "renewal")
    assert pool(uow_factory, account_id).capacity == 5
    assert len(ledger(uow_factory, account_id)) == entries_before
    # a scheduled decrease may still be rejected before the renewal
    rejected = seat_requests.reject_seat_request(
        uow_factory(),
        request_id=pending.id,
        reason="Customer changed their mind",
        at=NOW,
        actor=OPERATOR,
    )
    assert rejected.status == "rejected"


def test_a_decrease_that_no_longer_fits_when_approved_now_is_refused_and_stays_pending(
    uow_factory,
):
    account_id = make_account(uow_factory)
    fill(uow_factory, account_id, 2)
    pending = request(uow_factory, account_id, 3).request
    users.create_user(
        uow_factory(),
        account_id=account_id,
        email="late@example.com",
        first_name="Late",
        last_name="Comer",
        at=NOW,
        actor=OPERATOR,
    )
    users.create_user(
        uow_factory(),
        account_id=account_id,
        email="later@example.com",
        first_name="Later",
        last_name="Comer",
        at=NOW,
        actor=OPERATOR,
    )
    entries_before = len(ledger(uow_factory, account_id))

    with pytest.raises(RuleRefusal) as refused:
        seat_requests.approve_seat_request(
            uow_factory(), request_id=pending.id, at=NOW, actor=OPERATOR, effective="now"
        )

    assert refused.value.extra["in_use"] == 4
    assert seat_requests.get_seat_request(uow_factory(), request_id=pending.id).status == (
        "pending"
    )
    assert pool(uow_factory, account_id).capacity == 5
    assert len(ledger(uow_factory, account_id)) == entries_before


def test_a_decrease_approved_after_capacity_fell_below_it_is_rejected_not_inverted(uow_factory):
    # the case: 10 → 8 and 10 → 6 pending; 10 → 6 approved now; then 10 → 8
    account_id = make_account(uow_factory, {"module": "console", "capacity": 10, "policy": "block"})
    to_eight = request(uow_factory, account_id, 8).request
    to_six = request(uow_factory, account_id, 6).request
    seat_requests.approve_seat_request(
        uow_factory(), request_id=to_six.id, at=NOW, actor=OPERATOR, effective="now"
    )
    assert pool(uow_factory, account_id).capacity == 6
    entries_before = ledger(uow_factory, account_id)
    invoices_before = invoices(uow_factory, account_id)

    decided = seat_requests.approve_seat_request(
        uow_factory(), request_id=to_eight.id, at=NOW, actor=OPERATOR, effective="now"
    )

    assert decided.status == "rejected"
    assert decided.decided_at == NOW
    assert "has 6 seats now" in (decided.reason or "")
    assert "no longer decreases" in (decided.reason or "")
    stored = seat_requests.get_seat_request(uow_factory(), request_id=to_eight.id)
    assert (stored.status, stored.reason) == ("rejected", decided.reason)
    assert pool(uow_factory, account_id).capacity == 6
    assert ledger(uow_factory, account_id) == entries_before
    assert invoices(uow_factory, account_id) == invoices_before
    # rejected is final: it cannot be approved afterwards
    with pytest.raises(Conflict):
        seat_requests.approve_seat_request(
            uow_factory(), request_id=to_eight.id, at=NOW, actor=OPERATOR, effective="now"
        )


def test_a_decrease_whose_target_was_reached_meanwhile_is_rejected_as_no_longer_a_decrease(
    uow_factory,
):
    account_id = make_account(uow_factory)
    first = request(uow_factory, account_id, 3).request
    second = request(uow_factory, account_id, 3).request
    seat_requests.approve_seat_request(
        uow_factory(), request_id=first.id, at=NOW, actor=OPERATOR, effective="now"
    )
    entries_before = ledger(uow_factory, account_id)

    decided = seat_requests.approve_seat_request(
        uow_factory(), request_id=second.id, at=NOW, actor=OPERATOR
    )

    assert decided.status == "rejected" and "no longer decreases" in (decided.reason or "")
    assert pool(uow_factory, account_id).capacity == 3
    assert ledger(uow_factory, account_id) == entries_before


def test_an_increase_approved_after_capacity_passed_it_is_rejected_not_inverted(uow_factory):
    account_id = make_account(uow_factory, increase_approval="operator")
    to_seven = request(uow_factory, account_id, 7).request
    to_nine = request(uow_factory, account_id, 9).request
    seat_requests.approve_seat_request(uow_factory(), request_id=to_nine.id, at=NOW, actor=OPERATOR)
    assert pool(uow_factory, account_id).capacity == 9
    entries_before = ledger(uow_factory, account_id)
    invoices_before = invoices(uow_factory, account_id)

    # 5 → 7 would now be 9 → 7: no longer an increase, so neither scheduled nor applied
    decided = seat_requests.approve_seat_request(
        uow_factory(), request_id=to_seven.id, at=NOW, actor=OPERATOR
    )

    assert (decided.status, decided.effective) == ("rejected", None)
    assert "no longer increases" in (decided.reason or "")
    assert pool(uow_factory, account_id).capacity == 9
    assert ledger(uow_factory, account_id) == entries_before
    assert invoices(uow_factory, account_id) == invoices_before


def test_a_scheduled_decrease_that_capacity_fell_below_is_rejected_at_the_renewal_not_inverted(
    uow_factory,
):
    year_start = datetime(2026, 1, 1, tzinfo=UTC)
    account = accounts.create_account(
        uow_factory(), name="Acme", currency="EUR", test_clock=True, clock_start=year_start, at=NOW
    )
    accounts.create_contract(
        uow_factory(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="year",
        pools=[{"module": "console", "capacity": 10, "policy": "block", "unit_price": "120.00"}],
        at=NOW,
        actor=OPERATOR,
    )
    to_eight = request(uow_factory, account.id, 8).request
    seat_requests.approve_seat_request(
        uow_factory(), request_id=to_eight.id, at=NOW, actor=OPERATOR, effective="renewal"
    )
    to_six = request(uow_factory, account.id, 6).request
    seat_requests.approve_seat_request(
        uow_factory(), request_id=to_six.id, at=NOW, actor=OPERATOR, effective="now"
    )
    assert pool(uow_factory, account.id).capacity == 6

    issued = billing.advance_clock(
        uow_factory(), account_id=account.id, to=datetime(2027, 1, 1, tzinfo=UTC)
    )

    decided = seat_requests.get_seat_request(uow_factory(), request_id=to_eight.id)
    assert decided.status == "rejected"
    assert "no longer decreases" in (decided.reason or "")
    assert pool(uow_factory, account.id).capacity == 6
    renewal_invoice = next(d for d in issued if d.key == "period:2027-01-01")
    # 6 seats × 120.00 a year, not the 8 an inverted request would have set
    assert [(ln.kind, ln.amount) for ln in renewal_invoice.lines] == [
        ("recurring", Decimal("720.00"))
    ]


# ---------------------------------------------------------------------------- refusals


def test_a_target_below_the_minimum_is_refused_with_the_exact_sentence(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 7, "minimum": 6, "policy": "inactive_when_full"},
    )
    entries_before = len(ledger(uow_factory, account_id))

    with pytest.raises(RuleRefusal) as refused:
        request(uow_factory, account_id, 5)

    assert refused.value.message == (
        "The number of licenses cannot be less than the minimum set for your account"
    )
    assert refused.value.message == BELOW_MINIMUM
    assert refused.value.field == "target_capacity"
    assert stored_requests(uow_factory, account_id) == []
    assert len(ledger(uow_factory, account_id)) == entries_before
    assert pool(uow_factory, account_id).capacity == 7


@pytest.mark.parametrize("policy", ["block", "inactive_when_full"])
def test_a_target_below_the_seats_in_use_is_refused_under_a_capped_policy(uow_factory, policy):
    account_id = make_account(uow_factory, {"module": "documents", "capacity": 3, "policy": policy})
    fill(uow_factory, account_id, 3)
    entries_before = len(ledger(uow_factory, account_id))

    with pytest.raises(RuleRefusal) as refused:
        request(uow_factory, account_id, 2, module="documents")

    assert "remove users first" in refused.value.message
    assert refused.value.extra["in_use"] == 3
    assert stored_requests(uow_factory, account_id) == []
    assert len(ledger(uow_factory, account_id)) == entries_before
    assert pool(uow_factory, account_id, "documents").capacity == 3


def test_a_target_below_the_seats_in_use_is_accepted_under_true_up(uow_factory):
    account_id = make_account(
        uow_factory, {"module": "console", "capacity": 3, "policy": "true_up"}
    )
    fill(uow_factory, account_id, 3)
    assert request(uow_factory, account_id, 2).request.status == "pending"


def test_a_request_on_a_metered_pool_is_refused(uow_factory):
    account_id = make_account(
        uow_factory, {"module": "console", "policy": "metered", "unit_price": "10.00"}
    )
    entries_before = len(ledger(uow_factory, account_id))

    with pytest.raises(RuleRefusal) as refused:
        request(uow_factory, account_id, 5)

    assert "metered" in refused.value.message
    assert stored_requests(uow_factory, account_id) == []
    assert len(ledger(uow_factory, account_id)) == entries_before


def test_a_request_for_an_unknown_module_is_invalid_input(uow_factory):
    account_id = make_account(uow_factory)
    with pytest.raises(InvalidInput) as refused:
        request(uow_factory, account_id, 5, module="reporting")
    assert refused.value.field == "module"


def test_a_request_for_the_current_capacity_is_refused(uow_factory):
    account_id = make_account(uow_factory)
    with pytest.raises(RuleRefusal):
        request(uow_factory, account_id, 5)
    assert stored_requests(uow_factory, account_id) == []


def test_a_target_below_the_seats_bought_this_term_is_accepted_for_the_renewal_only(uow_factory):
    # §4: "cannot be reduced for the duration of the contract": pending, approvable
    # with effective "renewal" only
    account_id = make_account(
        uow_factory, {"module": "console", "capacity": 2, "policy": "auto_purchase"}
    )
    fill(uow_factory, account_id, 3)  # the third one buys a seat: capacity 3, kept this term
    assert pool(uow_factory, account_id).capacity == 3

    asked = request(uow_factory, account_id, 2)
    assert asked.stored and asked.request.status == "pending"
    with pytest.raises(RuleRefusal) as refused:
        seat_requests.approve_seat_request(
            uow_factory(), request_id=asked.request.id, at=NOW, actor=OPERATOR, effective="now"
        )
    assert refused.value.extra["committed_capacity"] == 3
    assert [r.status for r in stored_requests(uow_factory, account_id)] == ["pending"]
    assert pool(uow_factory, account_id).capacity == 3

    scheduled = seat_requests.approve_seat_request(
        uow_factory(), request_id=asked.request.id, at=NOW, actor=OPERATOR, effective="renewal"
    )
    assert scheduled.status == "scheduled"
    # the evergreen term (from 1 January 2026) renews on 1 January 2027: 3 → 2 then
    renewal = datetime(2027, 1, 1, tzinfo=UTC)
    billing.run_billing(uow_factory, as_of=renewal, now=renewal)
    assert pool(uow_factory, account_id).capacity == 2
    assert [r.status for r in stored_requests(uow_factory, account_id)] == ["applied"]


@pytest.mark.parametrize("target", [1_000_001, 2**63 - 1, 2**63, 2**64])
@pytest.mark.parametrize("preview", [False, True])
def test_a_target_above_one_million_seats_is_invalid_input_and_nothing_is_stored_or_invoiced(
    uow_factory, target, preview
):
    account_id = make_account(uow_factory, {"module": "console", "capacity": 2, "policy": "block"})
    entries_before = ledger(uow_factory, account_id)

    with pytest.raises(InvalidInput) as refused:
        request(uow_factory, account_id, target, preview=preview)

    assert refused.value.field == "target_capacity"
    assert "at most 1000000" in refused.value.message
    assert stored_requests(uow_factory, account_id) == []
    assert pool(uow_factory, account_id).capacity == 2
    assert ledger(uow_factory, account_id) == entries_before
    assert invoices(uow_factory, account_id) == []


def test_a_target_of_one_million_seats_is_a_valid_request(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 2, "policy": "block"},
        increase_approval="operator",
    )

    pending = request(uow_factory, account_id, 1_000_000).request

    assert (pending.status, pending.target_capacity) == ("pending", 1_000_000)


def test_a_preview_stores_nothing(uow_factory):
    account_id = make_account(uow_factory, increase_approval="automatic")
    entries_before = len(ledger(uow_factory, account_id))

    for target in (9, 2):
        preview = request(uow_factory, account_id, target, preview=True)
        assert not preview.stored
        assert preview.request.target_capacity == target

    assert stored_requests(uow_factory, account_id) == []
    assert pool(uow_factory, account_id).capacity == 5
    assert len(ledger(uow_factory, account_id)) == entries_before


def test_a_refused_preview_is_refused_like_the_request(uow_factory):
    account_id = make_account(
        uow_factory, {"module": "console", "capacity": 7, "minimum": 6, "policy": "block"}
    )
    with pytest.raises(RuleRefusal) as refused:
        request(uow_factory, account_id, 5, preview=True)
    assert refused.value.message == BELOW_MINIMUM


def test_a_failed_request_or_approval_leaves_the_ledger_unchanged(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 5, "minimum": 2, "policy": "block"},
        {"module": "usage", "policy": "metered", "unit_price": "1.00"},
    )
    fill(uow_factory, account_id, 3)
    applied = request(uow_factory, account_id, 6).request
    before = ledger(uow_factory, account_id)

    attempts: list[Callable[[], object]] = [
        lambda: request(uow_factory, account_id, 1),  # below minimum
        lambda: request(uow_factory, account_id, 2),  # below in use
        lambda: request(uow_factory, account_id, 4, module="usage"),  # metered
        lambda: request(uow_factory, account_id, -1),  # malformed
        lambda: seat_requests.approve_seat_request(  # not pending
            uow_factory(), request_id=applied.id, at=NOW, actor=OPERATOR
        ),
        lambda: seat_requests.approve_seat_request(  # bad effective
            uow_factory(), request_id=applied.id, at=NOW, actor=OPERATOR, effective="later"
        ),
    ]
    for attempt in attempts:
        with pytest.raises((RuleRefusal, InvalidInput, Conflict)):
            attempt()
        assert ledger(uow_factory, account_id) == before
    assert len(stored_requests(uow_factory, account_id)) == 1


# ------------------------------------------------------------------ contract form rules


def test_a_minimum_above_the_capacity_is_invalid_input(uow_factory):
    account = accounts.create_account(uow_factory(), name="Acme", currency="EUR", at=NOW)
    with pytest.raises(InvalidInput) as refused:
        accounts.create_contract(
            uow_factory(),
            account_id=account.id,
            start_date=date(2026, 1, 1),
            billing_interval="month",
            at=NOW,
            actor=OPERATOR,
            pools=[
                {
                    "module": "console",
                    "capacity": 3,
                    "minimum": 5,
                    "unit_price": "30.00",
                    "policy": "block",
                }
            ],
        )
    assert refused.value.field == "pools[0].minimum"
    assert accounts.list_contracts(uow_factory(), account_id=account.id) == []
    assert access.list_pools(uow_factory(), account_id=account.id) == []


def test_a_unit_price_with_more_decimals_than_the_currency_is_invalid_input(uow_factory):
    account = accounts.create_account(uow_factory(), name="Acme", currency="EUR", at=NOW)
    with pytest.raises(InvalidInput) as refused:
        accounts.create_contract(
            uow_factory(),
            account_id=account.id,
            start_date=date(2026, 1, 1),
            billing_interval="month",
            at=NOW,
            actor=OPERATOR,
            pools=[{"module": "console", "capacity": 3, "unit_price": "30.001", "policy": "block"}],
        )
    assert refused.value.field == "pools[0].unit_price"
    assert accounts.list_contracts(uow_factory(), account_id=account.id) == []


def test_a_contract_version_below_the_seats_in_use_of_a_block_pool_is_refused(uow_factory):
    account_id = make_account(
        uow_factory, {"module": "documents", "capacity": 3, "policy": "block"}
    )
    fill(uow_factory, account_id, 3)
    entries_before = len(ledger(uow_factory, account_id))

    with pytest.raises(RuleRefusal) as refused:
        accounts.create_contract(
            uow_factory(),
            account_id=account_id,
            start_date=date(2026, 3, 1),
            billing_interval="month",
            at=NOW,
            actor=OPERATOR,
            pools=[
                {"module": "documents", "capacity": 2, "unit_price": "30.00", "policy": "block"}
            ],
        )

    assert refused.value.field == "pools[0].capacity"
    assert len(accounts.list_contracts(uow_factory(), account_id=account_id)) == 1
    assert pool(uow_factory, account_id, "documents").capacity == 3
    assert len(ledger(uow_factory, account_id)) == entries_before
