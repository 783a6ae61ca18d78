"""Input bounds over HTTP (issue 6, items 4, 7 and 8), on SQLite and PostgreSQL: a
value beyond its bound is a 422 problem naming the field, and nothing is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.conftest import Api


def post_contract(api: Api, account_id: str, **body: object):  # type: ignore[no-untyped-def]
    contract = {
        "start_date": "2026-01-01",
        "billing_interval": "month",
        "pools": [api.terms()],
        **body,
    }
    return api.client.post(f"/v1/accounts/{account_id}/contracts", json=contract)


def test_a_unit_price_the_money_columns_cannot_bill_is_422_naming_unit_price(api: Api) -> None:
    # the contract: accepted, it overflowed NUMERIC(24, 6) at the first billing run
    account_id = api.create_account()["id"]
    before = api.snapshot(account_id)
    pools = [api.terms(capacity=1_000_000, unit_price="999999999999999.00")]

    problem = api.problem(
        post_contract(api, account_id, pools=pools), 422, field="pools[0].unit_price"
    )

    assert "at most 1000000000" in problem["detail"]
    assert api.snapshot(account_id) == before
    # the largest price is accepted
    pools = [api.terms(capacity=1_000_000, unit_price="1000000000.00")]
    api.ok(post_contract(api, account_id, pools=pools), 201)


def test_a_contract_starting_more_than_ten_years_back_is_422_naming_start_date(api: Api) -> None:
    account_id = api.create_account()["id"]  # the server's clock reads 2026-03-01
    before = api.snapshot(account_id)

    problem = api.problem(post_contract(api, account_id, start_date="1900-01-01"), 422)

    assert problem["field"] == "start_date"
    assert problem["earliest_start_date"] == "2016-03-01"
    assert api.snapshot(account_id) == before
    api.ok(post_contract(api, account_id, start_date="2016-03-01"), 201)


def test_a_credit_note_beyond_twenty_lines_or_a_long_description_is_422_naming_it(
    api: Api,
) -> None:
    account = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")
    api.create_contract(account["id"], [api.terms(unit_price="30.00")])
    api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-01-02T00:00:00Z"})
    )
    (invoice,) = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices"))["data"]
    url = f"/v1/invoices/{invoice['id']}/credit-notes"
    line = {"description": "שלום 👋🏽", "amount": "1.00"}

    api.problem(
        api.client.post(url, json={"lines": [line] * 21, "reason": "r"}), 422, field="lines"
    )
    long_line = {"description": "👋" * 201, "amount": "1.00"}
    api.problem(
        api.client.post(url, json={"lines": [line, long_line], "reason": "r"}),
        422,
        field="lines[1].description",
    )
    api.problem(
        api.client.post(url, json={"amount": "1.00", "reason": "r" * 501}), 422, field="reason"
    )

    listed = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices"))["data"]
    assert [i["type"] for i in listed] == ["invoice"], "no credit note was issued"
    api.ok(api.client.post(url, json={"lines": [line] * 20, "reason": "r" * 500}), 201)
