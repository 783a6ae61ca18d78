"""Invoices and credit notes as PDF: one Jinja2 template, rendered by WeasyPrint as
PDF/A-3b, with the document's EN 16931 XML embedded by ``factur-x`` (PRODUCT.md §5
Documents).

The PDF shows the stored document as it is: amounts are the stored, rounded line
amounts (never recomputed), the parties and terms the ones it was issued with.
Amounts and dates are formatted for the document's locale (the account's when the
document kept none, else English) by Babel, amounts always with the currency's
minor digits. Periods are printed from their first to their last day, as the XML
has them (EN 16931 periods end on their last day; seatledger's are half-open).
The status (paid, void) is no part of it: the PDF is rendered once and kept.
"""

from __future__ import annotations

from copy import copy
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_currency, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape

from seatledger.adapters.facturx_xml import en16931_xml, nothing_due, payment_terms_text, vat_rate
from seatledger.domain.accounts import Account
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.domain.money import minor_units

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"
_DAY = timedelta(days=1)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def document_locale(invoice: IssuedInvoice, account: Account) -> Locale:
    """The document's locale, else the account's, else English."""
    return Locale.parse(invoice.locale or account.locale or DEFAULT_LOCALE)


class DocumentFormat:
    """Amounts, percentages, dates and countries as the locale writes them."""

    def __init__(self, locale: Locale, currency: str) -> None:
        self.locale = locale
        self.currency = currency
        digits = minor_units(currency)
        self._money = _with_fraction(locale.currency_formats["standard"], digits, digits)
        self._percent = _with_fraction(locale.percent_formats[None], 0, 4)

    def money(self, amount: Decimal) -> str:
        return format_currency(
            amount, self.currency, format=self._money, locale=self.locale, currency_digits=False
        )

    def percent(self, rate: Decimal) -> str:
        return format_percent(rate / 100, format=self._percent, locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    def period(self, start: date, end: date) -> str:
        """A half-open [start, end) from its first to its last day."""
        return f"{self.day(start)} – {self.day(end - _DAY)}"

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code, code))


def _with_fraction(pattern: NumberPattern, low: int, high: int) -> NumberPattern:
    exact = copy(pattern)
    exact.frac_prec = (low, high)
    return exact


def render_invoice_html(
    invoice: IssuedInvoice, account: Account, credited: IssuedInvoice | None = None
) -> str:
    locale = document_locale(invoice, account)
    rate = vat_rate(invoice)
    return (
        _environment()
        .get_template("invoice.html")
        .render(
            invoice=invoice,
            account=account,
            credited=credited,
            is_credit_note=invoice.type == "credit_note",
            charged_lines=[ln for ln in invoice.lines if ln.kind != "tax"],
            tax_lines=[ln for ln in invoice.lines if ln.kind == "tax"],
            rate=rate,
            nothing_due=nothing_due(invoice),
            payment_terms=payment_terms_text(invoice, credited),
            fmt=DocumentFormat(locale, invoice.currency),
            lang=language_tag(locale),
        )
    )


def language_tag(locale: Locale) -> str:
    """BCP 47, as HTML and PDF name a language: ``de-DE``."""
    return locale.language + (f"-{locale.territory}" if locale.territory else "")


def render_invoice_pdf(
    invoice: IssuedInvoice, account: Account, credited: IssuedInvoice | None = None
) -> bytes:
    """The printable document (PDF/A-3b), with its EN 16931 XML when EN 16931 can
    carry it (``facturx_xml.expressible``); ``credited`` is the invoice a credit
    note credits."""
    import facturx  # heavy imports: only when a PDF is asked for
    from weasyprint import HTML

    html = render_invoice_html(invoice, account, credited)
    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf(pdf_variant="pdf/a-3b")
    assert pdf is not None  # write_pdf without a target returns the bytes
    xml = en16931_xml(invoice, credited)
    if xml is None:
        return bytes(pdf)
    return bytes(
        facturx.generate_from_binary(
            bytes(pdf),
            xml,
            flavor="factur-x",
            level="en16931",
            check_xsd=True,
            lang=language_tag(document_locale(invoice, account)),
        )
    )


def pdf_filename(invoice: IssuedInvoice) -> str:
    return f"{invoice.number}.pdf"
