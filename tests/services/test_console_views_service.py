"""The use cases the console reads through, on SQLite and PostgreSQL.

- ``users.preview_create_user`` (the Create user dialog's answer before saving)
  is checked against what ``users.create_user`` then does, for every policy:
  the same outcome and sentences, the charge it names equal to the invoice the
  create issues, no amount when unpriced, and nothing written by the preview.
- ``users.list_users(search=…)`` finds a part of an email or a name in any case.
- ``access.usage_history`` gives the ledger's numbers at each change and now.
- ``access.list_accounts_usage`` gives each account its pools.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import InvalidInput, NotFound, SeatLimitReached
from seatledger.domain.seat_policies import INACTIVE_WHEN_FULL_WARNING
from seatledger.services import access, accounts, invoices, users
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OPERATOR = "operator:test"
Uow = Callable[[], UnitOfWork]


def _account(uow: Uow, **pool: Any) -> str:
    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=NOW)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "unit_price": "31.00", **pool}],
        at=NOW,
        actor=OPERATOR,
    )
    return account.id


def _create(uow: Uow, account_id: str, email: str, **kwargs: Any) -> users.UserResult:
    return users.create_user(
        uow(),
        account_id=account_id,
        email=email,
        first_name="Ada",
        last_name="Lovelace",
        at=NOW,
        actor=OPERATOR,
        **kwargs,
    )


def _rows(uow: Uow) -> dict[str, int]:
    with uow() as u:
        return {
            table.name: u.conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (t.users, t.seat_ledger, t.invoices, t.audit_events, t.pools)
        }


def _preview(uow: Uow, account_id: str, **kwargs: Any) -> users.SeatPreview:
    return users.preview_create_user(uow(), account_id=account_id, at=NOW, **kwargs)


@pytest.mark.parametrize(
    ("policy", "status", "sentence"),
    [
        ("block", "refused", "No free seat in pool 'console': 1 of 1 in use. Raise the capacity"),
        ("inactive_when_full", "inactive", INACTIVE_WHEN_FULL_WARNING),
        ("true_up", "active", "the extra seats will be billed at the month's close"),
        ("auto_purchase", "active", "+1 seat will be bought in pool 'console': "),
    ],
)
def test_the_preview_answers_what_the_create_then_does(
    uow_factory: Uow, policy: str, status: str, sentence: str
) -> None:
    account_id = _account(uow_factory, capacity=1, policy=policy)
    _create(uow_factory, account_id, "first@example.com")
    before = _rows(uow_factory)

    preview = _preview(uow_factory, account_id)
    assert _rows(uow_factory) == before  # a preview writes nothing
    assert preview.status == status
    assert any(sentence in m for m in preview.messages), preview.messages

    if status == "refused":
        with pytest.raises(SeatLimitReached) as refused:
            _create(uow_factory, account_id, "second@example.com")
        assert str(refused.value) in preview.messages
        return
    created = _create(uow_factory, account_id, "second@example.com")
    assert created.user.status == status
    for warning in created.warnings:
        assert warning in preview.messages
    if policy == "auto_purchase":
        (charged,) = [i for i in invoices.list_invoices(uow_factory(), account_id=account_id)]
        amount = re.search(r": (\d+\.\d\d) EUR now", preview.messages[-1])
        assert amount and amount.group(1) == f"{charged.total:.2f}"


def test_add_license_is_offered_where_it_applies_and_unpriced_hides_the_amount(
    uow_factory: Uow,
) -> None:
    account_id = _account(uow_factory, capacity=1, policy="inactive_when_full")
    assert _preview(uow_factory, account_id).add_license_applies is False  # a seat is free
    _create(uow_factory, account_id, "first@example.com")

    full = _preview(uow_factory, account_id)
    assert (full.status, full.add_license_applies) == ("inactive", True)
    priced = _preview(uow_factory, account_id, add_license=True)
    assert priced.status == "active" and priced.add_license_applies
    (bought,) = priced.messages
    assert re.fullmatch(
        r"\+1 user license will be added to pool 'console': \d+\.\d\d EUR now", bought
    )
    unpriced = _preview(uow_factory, account_id, add_license=True, priced=False)
    assert unpriced.messages == ["+1 user license will be added to pool 'console', and charged"]

    created = _create(uow_factory, account_id, "second@example.com", add_license=True)
    (charged,) = invoices.list_invoices(uow_factory(), account_id=account_id)
    assert created.user.status == "active"
    assert bought.endswith(f": {charged.total:.2f} EUR now")


def test_the_preview_follows_profile_and_workspaces(uow_factory: Uow) -> None:
    account_id = _account(uow_factory, capacity=1, policy="block")
    _create(uow_factory, account_id, "first@example.com")
    none = accounts.create_profile(
        uow_factory(), account_id=account_id, name="Login only", modules=[], at=NOW
    )
    assert _preview(uow_factory, account_id, profile_id=none.id) == users.SeatPreview(
        "active", [], []
    )
    assert _preview(uow_factory, account_id, workspace_ids=[]).status == "active"
    with pytest.raises(NotFound, match="not found"):
        _preview(uow_factory, account_id, workspace_ids=["wsp_" + "a" * 24])


def test_search_finds_part_of_an_email_or_a_name_in_any_case(uow_factory: Uow) -> None:
    account_id = _account(uow_factory, capacity=10, policy="block")
    for email, first, last in (
        ("zoe@acme.example", "Zoë", "O'Brien-Smith"),
        ("max_100%@acme.example", "Max", "Muster"),
        ("ada@other.example", "Ada", "Lovelace"),
    ):
        users.create_user(
            uow_factory(),
            account_id=account_id,
            email=email,
            first_name=first,
            last_name=last,
            at=NOW,
            actor=OPERATOR,
        )

    def found(term: str) -> list[str]:
        listed = users.list_users(uow_factory(), account_id=account_id, search=term)
        return sorted(r.user.email for r in listed)

    assert found("ACME") == ["max_100%@acme.example", "zoe@acme.example"]
    assert found("brien-sm") == ["zoe@acme.example"]
    assert found("ada lov") == ["ada@other.example"]
    assert found("_100%") == ["max_100%@acme.example"]  # LIKE's characters are literal
    assert found("x%y") == []
    assert len(found("")) == 3
    assert users.count_users(uow_factory(), account_id=account_id) == {"active": 3}


def test_usage_history_is_the_ledger_at_each_change(uow_factory: Uow) -> None:
    account_id = _account(uow_factory, capacity=2, policy="auto_purchase")
    moments = [NOW + timedelta(days=d) for d in (1, 2, 3)]
    for index, at in enumerate(moments):
        users.create_user(
            uow_factory(),
            account_id=account_id,
            email=f"u{index}@example.com",
            first_name="Ada",
            last_name="Lovelace",
            at=at,
            actor=OPERATOR,
        )
    end = NOW + timedelta(days=10)
    history = access.usage_history(uow_factory(), account_id=account_id, at=end)
    ((pool, points),) = history.pools
    assert pool.module == "console" and history.end == end
    # the contract's capacity from its start (back-dated), then one seat a day; the
    # third bought a seat (auto_purchase) at the same instant
    assert [(p.in_use, p.capacity) for p in points] == [(0, 2), (1, 2), (2, 2), (3, 3), (3, 3)]
    assert [p.at for p in points][1:] == [*moments, end]

    later = access.usage_history(uow_factory(), account_id=account_id, at=end + timedelta(days=400))
    ((_, kept),) = later.pools
    assert [(p.in_use, p.capacity) for p in kept] == [(3, 3), (3, 3)]  # before the year: one point


def test_accounts_usage_gives_each_account_its_pools(uow_factory: Uow) -> None:
    first = _account(uow_factory, capacity=3, policy="block")
    second = _account(uow_factory, capacity=7, policy="true_up")
    page = access.list_accounts_usage(uow_factory(), limit=10, after=None)
    got = {u.account.id: [(p.module, p.capacity) for p in u.pools] for u in page}
    assert got == {first: [("console", 3)], second: [("console", 7)]}


def test_search_refuses_what_no_name_holds(uow_factory: Uow) -> None:
    account_id = _account(uow_factory, capacity=3, policy="block")
    with pytest.raises(InvalidInput) as refused:
        users.list_users(uow_factory(), account_id=account_id, search="a\x00b")
    assert refused.value.field == "search"
