"""Invoice documents over HTTP, on SQLite and PostgreSQL: credit notes
(POST /v1/invoices/{id}/credit-notes), the PDF (GET /v1/invoices/{id} with
Accept: application/pdf) and the CSV export (GET /v1/accounts/{id}/invoices with
Accept: text/csv or ?format=csv, and `seatledger export invoices`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from seatledger.adapters.csv_export import COLUMNS
from seatledger.entrypoints.cli import app as cli_app

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

INVOICE_KEYS = {
    "id",
    "number",
    "type",
    "kind",
    "account_id",
    "status",
    "issued_at",
    "period_start",
    "period_end",
    "currency",
    "lines",
    "subtotal",
    "tax",
    "total",
}
LINE_KEYS = {
    "kind",
    "module",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
}


def billed_account(api: Api) -> tuple[str, list[dict[str, Any]]]:
    """A test-clock account (20 % tax) moved to 1 February 2026: the period
    invoices of January and February, 5 × 30.00 = 150.00 + 30.00 tax = 180.00 each."""
    account = api.create_account(tax_rate="20", test_clock=True, clock_start="2026-01-01T00:00:00Z")
    api.create_contract(
        account["id"],
        [{"module": "console", "capacity": 5, "unit_price": "30.00", "policy": "block"}],
    )
    api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    data = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices"))["data"]
    invoices = sorted(data, key=lambda i: i["number"])
    assert len(invoices) == 2 and all(i["number"].startswith("TEST-INV-2026-") for i in invoices)
    assert [i["total"] for i in invoices] == ["180.00", "180.00"]
    return account["id"], invoices


def post_credit(api: Api, invoice_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return api.client.post(f"/v1/invoices/{invoice_id}/credit-notes", json=body)


# --- credit notes -------------------------------------------------------------------------


def test_a_credit_note_has_the_invoice_shape_and_its_own_number(api: Api) -> None:
    account_id, (january, february) = billed_account(api)
    assert (january["number"], february["number"]) == (
        "TEST-INV-2026-000001",
        "TEST-INV-2026-000002",
    )

    note = api.ok(
        post_credit(api, january["id"], {"amount": "60.00", "reason": "unused seat"}), 201
    )

    assert set(note) >= INVOICE_KEYS
    assert note["type"] == "credit_note" and note["kind"] == "ad_hoc"
    assert note["number"] == "TEST-CN-2026-000001"
    assert note["account_id"] == account_id and note["status"] == "issued"
    assert note["credited_invoice_id"] == january["id"] and note["reason"] == "unused seat"
    assert note["issued_at"].startswith("2026-02-01T00:00:00")  # the account's clock
    assert [(ln["kind"], ln["amount"]) for ln in note["lines"]] == [
        ("credit", "50.00"),
        ("tax", "10.00"),
    ]
    assert all(set(ln) == LINE_KEYS for ln in note["lines"])
    assert (note["subtotal"], note["tax"], note["total"]) == ("50.00", "10.00", "60.00")

    assert api.ok(api.client.get(f"/v1/invoices/{note['id']}")) == note
    listed = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    assert note["id"] in {i["id"] for i in listed}
    # the invoice is unchanged
    assert api.ok(api.client.get(f"/v1/invoices/{january['id']}")) == january

    by_lines = api.ok(
        post_credit(
            api,
            january["id"],
            {
                "lines": [{"description": "Onboarding refund", "amount": "25.00"}],
                "reason": "promised discount",
            },
        ),
        201,
    )
    assert by_lines["number"] == "TEST-CN-2026-000002"
    assert [(ln["kind"], ln["description"], ln["amount"]) for ln in by_lines["lines"]] == [
        ("credit", "Onboarding refund", "25.00"),
        ("tax", "Tax on: Onboarding refund", "5.00"),
    ]
    assert by_lines["total"] == "30.00"


def test_credit_note_refusals(api: Api) -> None:
    _, (january, february) = billed_account(api)
    inv = january["id"]
    api.ok(post_credit(api, inv, {"amount": "150.00", "reason": "r"}), 201)

    # more than what is left (180.00 − 150.00 = 30.00)
    body = api.problem(
        post_credit(api, inv, {"amount": "30.01", "reason": "r"}), 422, field="amount"
    )
    assert body["remaining"] == "30.00"
    api.problem(
        post_credit(api, inv, {"lines": [{"description": "x", "amount": "25.01"}], "reason": "r"}),
        422,
        field="lines",
    )
    # malformed, zero, too precise, negative
    for amount in ("0", "0.00", "1.001", "-1.00", "1e2", "abc"):
        api.problem(post_credit(api, inv, {"amount": amount, "reason": "r"}), 422, field="amount")
    api.problem(post_credit(api, inv, {"amount": 5, "reason": "r"}), 422, field="amount")
    # reason required; exactly one of amount | lines; no unknown fields
    api.problem(post_credit(api, inv, {"amount": "1.00"}), 422, field="reason")
    api.problem(post_credit(api, inv, {"amount": "1.00", "reason": "  "}), 422, field="reason")
    api.problem(post_credit(api, inv, {"reason": "r"}), 422, field="amount")
    api.problem(
        post_credit(
            api,
            inv,
            {"amount": "1.00", "reason": "r", "lines": [{"description": "x", "amount": "1.00"}]},
        ),
        422,
    )
    api.problem(
        post_credit(api, inv, {"amount": "1.00", "reason": "r", "total": "1.00"}),
        422,
        field="total",
    )
    api.problem(
        post_credit(api, inv, {"lines": [{"description": "", "amount": "1.00"}], "reason": "r"}),
        422,
        field="lines[0].description",
    )
    # unknown invoice; a credit note; a void invoice
    api.problem(post_credit(api, "inv_nope", {"amount": "1.00", "reason": "r"}), 404)
    notes = [
        i
        for i in api.ok(api.client.get(f"/v1/accounts/{january['account_id']}/invoices"))["data"]
        if i["type"] == "credit_note"
    ]
    api.problem(post_credit(api, notes[0]["id"], {"amount": "1.00", "reason": "r"}), 409)
    api.ok(api.client.post(f"/v1/invoices/{february['id']}/void", json={"reason": "r"}))
    api.problem(post_credit(api, february["id"], {"amount": "1.00", "reason": "r"}), 409)
    # only operators issue credit notes
    api.problem(
        api.anonymous.post(
            f"/v1/invoices/{inv}/credit-notes", json={"amount": "1.00", "reason": "r"}
        ),
        401,
    )
    # still exactly one credit note
    after = api.ok(api.client.get(f"/v1/accounts/{january['account_id']}/invoices"))["data"]
    assert [i["number"] for i in after if i["type"] == "credit_note"] == ["TEST-CN-2026-000001"]


# --- PDF --------------------------------------------------------------------------------


def pdf_text(content: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    assert path.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(str(path))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_an_invoice_and_a_credit_note_as_pdf(api: Api, tmp_path: Path) -> None:
    _, (january, _) = billed_account(api)
    response = api.client.get(
        f"/v1/invoices/{january['id']}", headers={"Accept": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "TEST-INV-2026-000001.pdf" in response.headers["content-disposition"]

    text = pdf_text(response.content, tmp_path, "invoice.pdf")
    assert "TEST-INV-2026-000001" in text
    assert "180.00" in text and "150.00" in text and "30.00" in text
    assert "Acme" in text and "Invoice" in text
    # the period [2026-01-01, 2026-02-01), from its first to its last day, in English
    assert "January 1, 2026 – January 31, 2026" in text

    note = api.ok(
        post_credit(api, january["id"], {"amount": "60.00", "reason": "unused seat"}), 201
    )
    response = api.client.get(f"/v1/invoices/{note['id']}", headers={"Accept": "application/pdf"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert "TEST-CN-2026-000001.pdf" in response.headers["content-disposition"]
    text = pdf_text(response.content, tmp_path, "credit-note.pdf")
    assert "TEST-CN-2026-000001" in text and "60.00" in text
    assert "Credit note" in text
    assert "TEST-INV-2026-000001" in text, "the credit note names the invoice it credits"
    assert "unused seat" in text


def test_json_stays_the_default_and_pdf_needs_the_same_rights(api: Api) -> None:
    _, (january, _) = billed_account(api)
    for accept in (None, "application/json", "*/*", "application/json, application/pdf;q=0.5"):
        headers = {"Accept": accept} if accept else {}
        response = api.client.get(f"/v1/invoices/{january['id']}", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == january
    api.problem(
        api.anonymous.get(f"/v1/invoices/{january['id']}", headers={"Accept": "application/pdf"}),
        401,
    )
    api.problem(api.client.get("/v1/invoices/inv_nope", headers={"Accept": "application/pdf"}), 404)


# --- CSV --------------------------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]


def test_the_invoice_list_as_csv_has_one_row_per_line(api: Api) -> None:
    account_id, (january, february) = billed_account(api)
    note = api.ok(
        post_credit(
            api,
            january["id"],
            {"lines": [{"description": '=HYPERLINK("x")', "amount": "10.00"}], "reason": "r"},
        ),
        201,
    )

    by_header = api.client.get(
        f"/v1/accounts/{account_id}/invoices", headers={"Accept": "text/csv"}
    )
    by_query = api.client.get(f"/v1/accounts/{account_id}/invoices", params={"format": "csv"})
    for response in (by_header, by_query):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
    assert by_header.text == by_query.text

    rows = parse_csv(by_header.text)
    documents = [january, february, note]
    assert len(rows) == sum(len(d["lines"]) for d in documents)
    for doc in documents:
        mine = [r for r in rows if r["number"] == doc["number"]]
        assert [(r["line_kind"], r["amount"]) for r in mine] == [
            (ln["kind"], ln["amount"]) for ln in doc["lines"]
        ]
        for r, ln in zip(mine, doc["lines"], strict=True):
            assert r["type"] == doc["type"] and r["kind"] == doc["kind"]
            assert r["status"] == doc["status"] and r["currency"] == "EUR"
            assert r["invoice_total"] == doc["total"] and r["account_id"] == account_id
            assert r["quantity"] == str(ln["quantity"]) and r["unit_price"] == ln["unit_price"]
            assert r["module"] == (ln["module"] or "")
            assert r["line_period_start"] == (ln["period_start"] or "")
            assert r["line_period_end"] == (ln["period_end"] or "")
    recurring = next(
        r for r in rows if r["number"] == january["number"] and r["line_kind"] == "recurring"
    )
    assert recurring["module"] == "console" and recurring["amount"] == "150.00"
    assert (recurring["line_period_start"], recurring["line_period_end"]) == (
        "2026-01-01",
        "2026-02-01",
    )
    assert recurring["issued_at"].startswith("2026-01-01T00:00:00")
    credit_row = next(r for r in rows if r["line_kind"] == "credit")
    assert credit_row["description"] == '\'=HYPERLINK("x")', "no formula reaches a spreadsheet"
    assert credit_row["type"] == "credit_note" and credit_row["amount"] == "10.00"

    # JSON is still the default, and paged
    assert api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices", params={"limit": 1}))[
        "next_cursor"
    ]
    api.problem(
        api.client.get(f"/v1/accounts/{account_id}/invoices", params={"format": "xml"}),
        422,
        field="format",
    )
    api.problem(
        api.anonymous.get(f"/v1/accounts/{account_id}/invoices", params={"format": "csv"}), 401
    )


def test_the_cli_exports_the_same_csv(
    api: Api, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id, (january, _) = billed_account(api)
    api.ok(post_credit(api, january["id"], {"amount": "12.00", "reason": "r"}), 201)
    other_id, _ = billed_account(api)
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    runner = CliRunner()

    out = tmp_path / "invoices.csv"
    result = runner.invoke(
        cli_app, ["export", "invoices", "--account", account_id, "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    over_http = api.client.get(
        f"/v1/accounts/{account_id}/invoices", params={"format": "csv"}
    ).content
    assert out.read_bytes() == over_http  # byte for byte, CRLF line ends included

    everything = runner.invoke(cli_app, ["export", "invoices"])
    assert everything.exit_code == 0, everything.output
    rows = parse_csv(everything.stdout)
    assert {r["account_id"] for r in rows} == {account_id, other_id}

    unknown = runner.invoke(cli_app, ["export", "invoices", "--account", "acc_nope"])
    assert unknown.exit_code == 2


def test_invoices_are_listed_in_the_order_of_issue_across_pages(api: Api) -> None:
    account = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")
    api.create_contract(
        account["id"],
        [{"module": "console", "capacity": 2, "unit_price": "30.00", "policy": "block"}],
    )
    api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-05-01T00:00:00Z"})
    )
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices", params=params))
        seen += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # one period invoice per month, January to May, numbered in the order of issue
    assert [i["period_start"] for i in seen] == [f"2026-0{m}-01" for m in range(1, 6)]
    assert [i["number"] for i in seen] == [f"TEST-INV-2026-00000{n}" for n in range(1, 6)]


def test_an_unknown_invoice_id_is_404_as_problem_json(api: Api) -> None:
    response = api.client.get("/v1/invoices/inv_doesnotexist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
