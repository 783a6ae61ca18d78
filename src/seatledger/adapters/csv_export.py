"""Invoices as CSV (stdlib ``csv``): every issued document, one row per line.

Each row repeats its document's columns (number, type, …, the invoice a credit
note credits, subtotal, tax and total, its reason) so the file can be filtered
and pivoted as it is. A document without a line (a period invoice of 0.00, with
nothing due) is one row whose line columns are empty: every document is in the
file, zero totals included (PRODUCT.md §5). Amounts are decimal strings with
the currency's minor digits, exactly as the API shows them; on a credit note
they are positive like everywhere else (``type`` = ``credit_note`` gives the
sign). Dates are ISO 8601; a line's period is half-open ``[start, end)``.
``reason`` is why a credit note credits, or why an invoice is void.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from seatledger.domain.invoicing import IssuedInvoice, Line
from seatledger.domain.money import format_amount

COLUMNS = (
    "number",
    "account_id",
    "type",
    "kind",
    "status",
    "issued_at",
    "currency",
    "line_kind",
    "module",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "line_period_start",
    "line_period_end",
    "credited_invoice",
    "invoice_subtotal",
    "invoice_tax",
    "invoice_total",
    "reason",
)

# Spreadsheets execute a cell starting with one of these as a formula (CSV
# injection); free text that starts with one is written with a leading "'".
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _line_cells(ln: Line | None, currency: str) -> list[str]:
    if ln is None:
        return [""] * 8
    return [
        ln.kind,
        ln.module or "",
        _text(ln.description),
        str(ln.quantity),
        format_amount(ln.unit_price, currency),
        format_amount(ln.amount, currency),
        ln.period_start.isoformat() if ln.period_start else "",
        ln.period_end.isoformat() if ln.period_end else "",
    ]


def document_rows(inv: IssuedInvoice) -> Iterator[list[str]]:
    """A document's data rows, its lines in their order; one row with empty line
    columns for a document without a line."""
    c = inv.currency
    document = [inv.number, inv.account_id, inv.type, inv.kind, inv.status]
    document += [inv.issued_at.isoformat(), c]
    totals = [
        inv.credited_invoice_number or "",
        format_amount(inv.subtotal, c),
        format_amount(inv.tax, c),
        format_amount(inv.total, c),
        _text(inv.reason or ""),
    ]
    for ln in inv.lines or (None,):
        yield document + _line_cells(ln, c) + totals


@dataclass(frozen=True)
class Written:
    documents: int
    rows: int  # data rows, the header not counted


def write_invoices_csv(invoices: Iterable[IssuedInvoice], out: TextIO) -> Written:
    """Writes the header and the rows of every document, in the order given."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    documents = rows = 0
    for inv in invoices:
        documents += 1
        for row in document_rows(inv):
            writer.writerow(row)
            rows += 1
    return Written(documents, rows)


def invoices_csv(invoices: Iterable[IssuedInvoice]) -> str:
    buffer = io.StringIO()
    write_invoices_csv(invoices, buffer)
    return buffer.getvalue()
