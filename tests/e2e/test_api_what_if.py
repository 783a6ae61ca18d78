"""What-if pricing over HTTP and the CLI (POST /v1/accounts/{id}/what-if, `seatledger
what-if`), on SQLite and PostgreSQL: PRODUCT.md §5 "a what-if run bills an account's
real seat ledger, over a past range of dates, under other contract terms ... and returns
the documents it would have issued beside those actually issued; it stores nothing and
consumes no number"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from seatledger.entrypoints.cli import app as cli_app

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

SEED_001 = {
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
    "billing_interval": "year",
    "pools": [{"module": "console", "capacity": 3, "unit_price": "120.00", "policy": "true_up"}],
}
AUTO_PURCHASE = {**SEED_001, "pools": [{**SEED_001["pools"][0], "policy": "auto_purchase"}]}  # type: ignore[index]


def move_clock(api: Api, account_id: str, now: str) -> None:
    api.ok(api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": now}))


def seed_001(api: Api) -> str:
    """PRODUCT.md §6.1 on a test clock, as tests/scenarios/test_worked_examples_billing.py
    runs it; the seats at these instants (one request each, in this order):
    - 2026-01-01T00:00Z: the contract and 1 user;
    - 2026-03-10T09:00Z: 4 more (5 held);
    - 2026-04-10T09:00Z: 2 more, then 2 of the March ones deleted (5 held);
    - 2026-05-12T09:00Z: 4 more, then 2 deleted (7 held);
    then the clock runs to 2027-01-01T00:00Z. Really issued: 360.00 on 1 January, the
    true-ups 200.00 on 1 April and 160.00 on 1 June."""
    account = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")
    account_id = str(account["id"])
    api.create_contract(
        account_id, SEED_001["pools"], **{k: v for k, v in SEED_001.items() if k != "pools"}
    )  # type: ignore[arg-type]
    base = f"/v1/accounts/{account_id}/users"
    api.create_user(account_id)
    move_clock(api, account_id, "2026-03-10T09:00:00Z")
    march = [api.create_user(account_id) for _ in range(4)]
    move_clock(api, account_id, "2026-04-10T09:00:00Z")
    api.create_user(account_id)
    api.create_user(account_id)
    for user in march[:2]:
        api.ok(api.client.delete(f"{base}/{user['id']}"))
    move_clock(api, account_id, "2026-05-12T09:00:00Z")
    may = [api.create_user(account_id) for _ in range(4)]
    api.ok(api.client.delete(f"{base}/{may[0]['id']}"))
    api.ok(api.client.delete(f"{base}/{march[2]['id']}"))
    move_clock(api, account_id, "2027-01-01T00:00:00Z")
    return account_id


def what_if(api: Api, account_id: str, body: dict[str, Any]) -> Any:
    return api.client.post(f"/v1/accounts/{account_id}/what-if", json=body)


def everything(api: Api, account_id: str) -> dict[str, Any]:
    return {
        **api.snapshot(account_id),
        "invoices": api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"],
    }


def billed(doc: dict[str, Any]) -> tuple[Any, ...]:
    lines = [(ln["kind"], ln["quantity"], ln["amount"]) for ln in doc["lines"]]
    return (doc["issued_at"], doc["type"], doc["kind"], lines, doc["total"])


def test_a_what_if_under_the_same_terms_bills_what_was_billed_difference_0_00(api: Api) -> None:
    account_id = seed_001(api)
    before = everything(api, account_id)
    answer = api.ok(
        what_if(api, account_id, {"from": "2026-01-01", "to": "2027-01-01", "contract": SEED_001})
    )
    assert answer["difference"] == "0.00" and answer["currency"] == "EUR"
    # actual: the documents as GET /v1/invoices/{id} gives them
    issued = before["invoices"]
    assert answer["actual"] == [api.ok(api.client.get(f"/v1/invoices/{d['id']}")) for d in issued]
    assert [billed(d) for d in answer["actual"]] == [
        ("2026-01-01T00:00:00Z", "invoice", "period", [("recurring", 3, "360.00")], "360.00"),
        ("2026-04-01T00:00:00Z", "invoice", "ad_hoc", [("true_up", 2, "200.00")], "200.00"),
        ("2026-06-01T00:00:00Z", "invoice", "ad_hoc", [("true_up", 2, "160.00")], "160.00"),
    ]
    # what_if: the same documents, in the same schema, as drafts (no id, no number)
    assert [billed(d) for d in answer["what_if"]] == [billed(d) for d in answer["actual"]]
    for draft, real in zip(answer["what_if"], answer["actual"], strict=True):
        assert draft.keys() == real.keys()
        assert (draft["id"], draft["number"], draft["status"]) == (None, None, "draft")
        assert draft["account_id"] == account_id
        assert draft["lines"] == real["lines"]
    assert everything(api, account_id) == before


def test_seed_001_under_auto_purchase_instead_of_true_up(api: Api) -> None:
    account_id = seed_001(api)
    before = everything(api, account_id)
    answer = api.ok(
        what_if(
            api, account_id, {"from": "2026-01-01", "to": "2027-01-01", "contract": AUTO_PURCHASE}
        )
    )
    # Under auto_purchase (capacity 3 at 120.00 per seat per year; the period
    # [2026-01-01, 2027-01-01) has D = 365 days) each seat taken with none free is bought
    # at once: an ad-hoc invoice of 120.00 × (D − d + 1)/D for day d of the period.
    # - 1 January: the period invoice, 3 × 120.00 = 360.00 (1 of 3 held);
    # - 10 March (d = 31 + 28 + 10 = 69), 4 sign up: the 4th and 5th seats are bought,
    #   120.00 × 297/365 = 97.6438… → 97.64 each (5 of 5);
    # - 10 April (d = 100), 2 sign up before 2 are deleted: 2 bought,
    #   120.00 × 266/365 = 87.4520… → 87.45 each (7 of 7, then 5 of 7);
    # - 12 May (d = 31 + 28 + 31 + 30 + 12 = 132), 4 sign up: 2 take the freed seats,
    #   2 are bought, 120.00 × 234/365 = 76.9315… → 76.93 each (9 of 9, then 7 of 9);
    # no true-up.
    assert [billed(d) for d in answer["what_if"]] == [
        ("2026-01-01T00:00:00Z", "invoice", "period", [("recurring", 3, "360.00")], "360.00"),
        *[("2026-03-10T09:00:00Z", "invoice", "ad_hoc", [("proration", 1, "97.64")], "97.64")] * 2,
        *[("2026-04-10T09:00:00Z", "invoice", "ad_hoc", [("proration", 1, "87.45")], "87.45")] * 2,
        *[("2026-05-12T09:00:00Z", "invoice", "ad_hoc", [("proration", 1, "76.93")], "76.93")] * 2,
    ]
    assert {ln["period_end"] for d in answer["what_if"] for ln in d["lines"]} == {"2027-01-01"}
    assert [d["total"] for d in answer["actual"]] == ["360.00", "200.00", "160.00"]
    # 360.00 + 2 × (97.64 + 87.45 + 76.93) = 884.04 would have been billed, 720.00 was:
    assert answer["difference"] == "164.04"
    assert everything(api, account_id) == before
    # and no number was consumed: the next real document takes the next number
    api.ok(
        api.client.post(
            f"/v1/invoices/{before['invoices'][0]['id']}/credit-notes",
            json={"amount": "1.00", "reason": "r"},
        ),
        201,
    )
    notes = [d for d in everything(api, account_id)["invoices"] if d["type"] == "credit_note"]
    assert [n["number"] for n in notes] == ["TEST-CN-2027-000001"]


def test_a_range_in_the_future_or_over_5_years_is_422_naming_to(api: Api) -> None:
    account_id = seed_001(api)  # its clock reads 2027-01-01T00:00Z
    before = everything(api, account_id)
    for start, end in [
        ("2026-01-01", "2027-01-02"),  # after the account's now
        ("2021-12-31", "2027-01-01"),  # over 5 years
        ("2026-06-01", "2026-06-01"),  # empty
    ]:
        api.problem(
            what_if(api, account_id, {"from": start, "to": end, "contract": SEED_001}),
            422,
            field="to",
        )
    assert everything(api, account_id) == before


@pytest.mark.parametrize(
    ("contract", "field"),
    [
        ({**SEED_001, "billing_interval": "week"}, "contract.billing_interval"),
        ({**SEED_001, "end_date": "2025-12-31"}, "contract.end_date"),
        ({**SEED_001, "seats": 3}, "contract.seats"),
        (
            {**SEED_001, "pools": [{**SEED_001["pools"][0], "policy": "free"}]},
            "contract.pools[0].policy",
        ),  # type: ignore[index]
        (
            {**SEED_001, "pools": [{**SEED_001["pools"][0], "minimum": 4}]},
            "contract.pools[0].minimum",
        ),  # type: ignore[index]
        (
            {**SEED_001, "pools": [{**SEED_001["pools"][0], "unit_price": "1.001"}]},
            "contract.pools[0].unit_price",
        ),  # type: ignore[index]
    ],
)
def test_a_what_if_contract_invalid_as_a_contract_is_422_naming_its_field(
    api: Api, contract: dict[str, Any], field: str
) -> None:
    account = api.create_account(test_clock=True, clock_start="2027-01-01T00:00:00Z")
    before = everything(api, account["id"])
    body = {"from": "2026-01-01", "to": "2027-01-01", "contract": contract}
    api.problem(what_if(api, account["id"], body), 422, field=field)
    assert everything(api, account["id"]) == before


def test_what_if_is_for_operators_and_a_known_account(api: Api) -> None:
    account = api.create_account(test_clock=True, clock_start="2027-01-01T00:00:00Z")
    body = {"from": "2026-01-01", "to": "2027-01-01", "contract": SEED_001}
    api.problem(api.anonymous.post(f"/v1/accounts/{account['id']}/what-if", json=body), 401)
    api.problem(what_if(api, f"acc_{'a' * 24}", body), 404)
    api.problem(
        what_if(api, account["id"], {"to": "2027-01-01", "contract": SEED_001}), 422, field="from"
    )
    # an account with no history: nothing issued either way
    answer = api.ok(what_if(api, account["id"], body))
    assert (answer["actual"], answer["difference"]) == ([], "360.00")


def test_the_cli_prices_the_same_what_if(
    api: Api, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = seed_001(api)
    over_http = api.ok(
        what_if(
            api, account_id, {"from": "2026-01-01", "to": "2027-01-01", "contract": AUTO_PURCHASE}
        )
    )
    terms = tmp_path / "auto_purchase.json"
    terms.write_text(json.dumps({k: v for k, v in AUTO_PURCHASE.items() if k != "start_date"}))
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    runner = CliRunner()
    args = ["what-if", "--account", account_id, "--from", "2026-01-01", "--to", "2027-01-01"]

    as_json = runner.invoke(cli_app, [*args, "--contract", str(terms), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == over_http  # start_date: the real contract's

    table = runner.invoke(cli_app, [*args, "--contract", str(terms)])
    assert table.exit_code == 0, table.output
    assert "Difference: 164.04 EUR" in table.stdout

    future = runner.invoke(cli_app, [*args[:-1], "2027-02-01", "--contract", str(terms)])
    assert future.exit_code == 2 and "(to)" in future.output
    terms.write_text(json.dumps({**AUTO_PURCHASE, "billing_interval": "week"}))
    refused = runner.invoke(cli_app, [*args, "--contract", str(terms)])
    assert refused.exit_code == 2 and "billing_interval" in refused.output
