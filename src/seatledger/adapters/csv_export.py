"""Invoices as CSV (stdlib ``csv``): one row per invoice line.

Each row repeats its document's columns (number, type, …, invoice_total) so
the file can be filtered and pivoted as it is. Amounts are decimal strings with
the currency's minor digits, exactly as the API shows them; on a credit note
they are positive like everywhere else (``type`` = ``credit_note`` gives the
sign). Dates are ISO 8601; a line's period is half-open ``[start, end)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TextIO

from seatledger.domain.invoicing import IssuedInvoice
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
    "invoice_total",
)

# Spreadsheets execute a cell starting with one of these as a formula (CSV
# injection); free text that starts with one is written with a leading "'".
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def invoice_rows(invoices: Iterable[IssuedInvoice]) -> Iterator[list[str]]:
    """The data rows (no header), in the order given, lines in their order."""
    for inv in invoices:
        c = inv.currency
        for ln in inv.lines:
            yield [
                inv.number,
                inv.account_id,
                inv.type,
                inv.kind,
                inv.status,
                inv.issued_at.isoformat(),
                c,
                ln.kind,
                ln.module or "",
                _text(ln.description),
                str(ln.quantity),
                format_amount(ln.unit_price, c),
                format_amount(ln.amount, c),
                ln.period_start.isoformat() if ln.period_start else "",
                ln.period_end.isoformat() if ln.period_end else "",
                format_amount(inv.total, c),
            ]


def write_invoices_csv(invoices: Iterable[IssuedInvoice], out: TextIO) -> int:
    """Writes the header and one row per line to ``out``; returns the row count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in invoice_rows(invoices):
        writer.writerow(row)
        count += 1
    return count


def invoices_csv(invoices: Iterable[IssuedInvoice]) -> str:
    buffer = io.StringIO()
    write_invoices_csv(invoices, buffer)
    return buffer.getvalue()
