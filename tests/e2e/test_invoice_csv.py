"""The CSV export holds every issued document, zero totals included (PRODUCT.md §5 "CSV
exports hold every issued document, zero totals included"), one row per line, with the
invoice a credit note credits, subtotal, tax, total, status and reason; `seatledger
export invoices` says how many documents and rows it wrote. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from seatledger.adapters.csv_export import COLUMNS
from seatledger.entrypoints.cli import app as cli_app
from seatledger.services import invoices
from seatledger.services.demo import seed_demo

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

LINE_COLUMNS = (
    "line_kind",
    "module",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "line_period_start",
    "line_period_end",
)


def parse_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]


def test_the_export_of_the_demo_holds_every_document_its_zero_total_invoice_included(
    api: Api, uow_factory: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = seed_demo(uow_factory, at=datetime(2026, 11, 22, tzinfo=UTC))
    issued = [
        d
        for account in demo
        for d in invoices.list_invoices(uow_factory(), account_id=account.account_id, limit=1000)
    ]
    # seed 003 (metered, billed in arrears): April's period invoice has nothing to bill
    zero = [d for d in issued if d.total == 0]
    assert [(d.kind, len(d.lines), d.period_start.isoformat()) for d in zero] == [  # type: ignore[union-attr]
        ("period", 0, "2026-04-01")
    ]

    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    out = tmp_path / "invoices.csv"
    result = CliRunner().invoke(cli_app, ["export", "invoices", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = parse_csv(out.read_text(encoding="utf-8"))
    numbers = {r["number"] for r in rows}
    # the count it reports is the documents in the file, and every document issued
    said = re.fullmatch(r"Wrote (\d+) documents \((\d+) rows\) to (.+)", result.output.strip())
    assert said is not None, result.output
    assert int(said.group(1)) == len(numbers) == len(issued)
    assert int(said.group(2)) == len(rows) == sum(max(1, len(d.lines)) for d in issued)
    assert said.group(3) == str(out)
    assert numbers == {d.number for d in issued}

    (empty,) = [r for r in rows if r["number"] == zero[0].number]
    assert all(empty[c] == "" for c in LINE_COLUMNS), empty
    assert (empty["kind"], empty["status"]) == ("period", "issued")
    assert (empty["invoice_subtotal"], empty["invoice_tax"], empty["invoice_total"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    # the same row over HTTP
    over_http = api.client.get(
        f"/v1/accounts/{zero[0].account_id}/invoices", params={"format": "csv"}
    )
    assert over_http.status_code == 200, over_http.text
    assert empty in parse_csv(over_http.text)


def test_each_row_carries_its_documents_credited_invoice_totals_status_and_reason(
    api: Api,
) -> None:
    """A test-clock account (20 % tax) moved to 1 February 2026: the period invoices of
    January and February, 5 × 30.00 = 150.00 + 30.00 tax = 180.00 each; January gets a
    credit note of 60.00 (50.00 + 10.00 tax), February is voided."""
    account = api.create_account(tax_rate="20", test_clock=True, clock_start="2026-01-01T00:00:00Z")
    account_id = account["id"]
    api.create_contract(account_id, [api.terms("console", 5, unit_price="30.00")])
    moved = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    january, february = moved["invoices"]
    note = api.ok(
        api.client.post(
            f"/v1/invoices/{january['id']}/credit-notes",
            json={"amount": "60.00", "reason": "=unused seat"},
        ),
        201,
    )
    api.ok(api.client.post(f"/v1/invoices/{february['id']}/void", json={"reason": "sent twice"}))

    rows = parse_csv(
        api.client.get(f"/v1/accounts/{account_id}/invoices", params={"format": "csv"}).text
    )
    by_number: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_number.setdefault(r["number"], []).append(r)
    assert sorted(by_number) == sorted([january["number"], february["number"], note["number"]])

    def document(number: str) -> set[tuple[str, ...]]:
        return {
            (
                r["status"],
                r["credited_invoice"],
                r["invoice_subtotal"],
                r["invoice_tax"],
                r["invoice_total"],
                r["reason"],
            )
            for r in by_number[number]
        }

    assert [r["line_kind"] for r in by_number[january["number"]]] == ["recurring", "tax"]
    assert document(january["number"]) == {("issued", "", "150.00", "30.00", "180.00", "")}
    assert document(february["number"]) == {("void", "", "150.00", "30.00", "180.00", "sent twice")}
    # the reason is free text: no formula reaches a spreadsheet
    assert document(note["number"]) == {
        ("issued", january["number"], "50.00", "10.00", "60.00", "'=unused seat")
    }
