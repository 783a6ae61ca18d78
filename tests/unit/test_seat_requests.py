"""Seat-change request rules (domain/seat_requests.py, PRODUCT.md §4): a request
keeps its direction, and a target is a seat count bounded like a contract's
capacity."""

from __future__ import annotations

import pytest

from seatledger.domain.errors import InvalidInput, RuleRefusal
from seatledger.domain.seat_policies import PoolState
from seatledger.domain.seat_requests import PENDING, SeatRequest, check_direction, check_target


def pool(capacity: int, *, in_use: int = 0, minimum: int = 0) -> PoolState:
    return PoolState(
        module="console", policy="block", capacity=capacity, minimum=minimum, in_use=in_use
    )


def asked(from_capacity: int, target: int) -> SeatRequest:
    return SeatRequest(
        id="sreq_1",
        account_id="acc_1",
        module="console",
        from_capacity=from_capacity,
        target_capacity=target,
        delta=target - from_capacity,
        status=PENDING,
        message="",
    )


# ------------------------------------------------------------------------- direction


def test_a_decrease_still_below_the_capacity_now_applies_the_change_from_the_capacity_now():
    assert check_direction(asked(10, 6), pool(10)) == -4
    assert check_direction(asked(10, 6), pool(8)) == -2


def test_an_increase_still_above_the_capacity_now_applies_the_change_from_the_capacity_now():
    assert check_direction(asked(5, 9), pool(5)) == 4
    assert check_direction(asked(5, 9), pool(7)) == 2


@pytest.mark.parametrize("capacity_now", [6, 8])
def test_a_decrease_that_no_longer_decreases_is_refused_never_inverted(capacity_now):
    # 10 → 8 asked; capacity has since fallen to 6 (→ +2) or reached 8 (→ 0)
    with pytest.raises(RuleRefusal) as refused:
        check_direction(asked(10, 8), pool(capacity_now))

    assert refused.value.field == "target_capacity"
    assert refused.value.extra["capacity"] == capacity_now
    assert f"has {capacity_now} seats now" in refused.value.message
    assert "decrease from 10 to 8" in refused.value.message


@pytest.mark.parametrize("capacity_now", [7, 9])
def test_an_increase_that_no_longer_increases_is_refused_never_inverted(capacity_now):
    # 5 → 7 asked; capacity has since reached 7 (→ 0) or passed it to 9 (→ −2)
    with pytest.raises(RuleRefusal) as refused:
        check_direction(asked(5, 7), pool(capacity_now))

    assert refused.value.field == "target_capacity"
    assert "increase from 5 to 7" in refused.value.message


# ----------------------------------------------------------------------------- bounds


def test_a_target_of_one_million_seats_is_a_valid_target():
    assert check_target(pool(2), 1_000_000) == 1_000_000


@pytest.mark.parametrize("target", [1_000_001, 2**31, 2**63 - 1, 2**63, 2**64, 10**100])
def test_a_target_above_one_million_seats_is_invalid_input_like_a_contract_capacity(target):
    with pytest.raises(InvalidInput) as refused:
        check_target(pool(2), target)

    assert refused.value.field == "target_capacity"
    assert "at most 1000000" in refused.value.message


@pytest.mark.parametrize("target", [-1, True, 2.0, "8", None])
def test_a_target_that_is_no_whole_number_of_seats_is_invalid_input(target):
    with pytest.raises(InvalidInput) as refused:
        check_target(pool(2), target)

    assert refused.value.field == "target_capacity"
