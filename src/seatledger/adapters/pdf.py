"""Invoices and credit notes as PDF: one Jinja2 template, rendered by WeasyPrint.

The PDF shows the stored document as it is: amounts are the stored, rounded
line amounts (never recomputed), printed with the currency's minor digits.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from seatledger.domain.accounts import Account
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.domain.money import format_amount

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_invoice_html(
    invoice: IssuedInvoice, account: Account, *, credited_number: str | None = None
) -> str:
    c = invoice.currency
    return (
        _environment()
        .get_template("invoice.html")
        .render(
            invoice=invoice,
            account=account,
            credited_number=credited_number,
            is_credit_note=invoice.type == "credit_note",
            tax_lines=[ln for ln in invoice.lines if ln.kind == "tax"],
            money=lambda amount: format_amount(amount, c),
            issued_at=invoice.issued_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


def render_invoice_pdf(
    invoice: IssuedInvoice, account: Account, *, credited_number: str | None = None
) -> bytes:
    """The printable document; ``credited_number`` is the invoice a credit note credits."""
    from weasyprint import HTML  # heavy import: only when a PDF is asked for

    html = render_invoice_html(invoice, account, credited_number=credited_number)
    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)


def pdf_filename(invoice: IssuedInvoice) -> str:
    return f"{invoice.number}.pdf"
