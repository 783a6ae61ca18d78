"""How a document reads (PRODUCT.md §5 Documents), without a database: amounts and
dates in the document's locale (else the account's, else English) with the
currency's minor digits, periods to their last day, and which documents EN 16931
cannot carry (they get the PDF without XML)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from seatledger.adapters.facturx_xml import en16931_xml
from seatledger.adapters.pdf import render_invoice_html
from seatledger.domain.accounts import Account
from seatledger.domain.invoicing import IssuedInvoice, Line
from seatledger.domain.parties import Party

D = Decimal
SELLER = Party(
    "Seatledger Software GmbH", ("Friedrichstraße 68",), "10117", "Berlin", "DE", "DE136695976"
)
BUYER = Party("Acme Industrie GmbH", ("Leopoldstraße 12",), "80802", "München", "DE", "DE229871547")
MARCH = (date(2026, 3, 1), date(2026, 4, 1))
ACCOUNT = Account(id="acc_1", name="Acme", currency="EUR", locale="fr_FR")


def invoice(**changes: object) -> IssuedInvoice:
    """5 × 249.90 = 1249.50 for March 2026, 19 % tax = 237.405 → 237.41."""
    doc = IssuedInvoice(
        id="inv_1",
        account_id="acc_1",
        number="INV-2026-000007",
        key="period:2026-03-01",
        type="invoice",
        kind="period",
        status="issued",
        issued_at=datetime(2026, 3, 1, tzinfo=UTC),
        currency="EUR",
        lines=(
            Line("recurring", "console", "console: 5 seats", 5, D("249.90"), D("1249.50"), *MARCH),
            Line("tax", None, "Tax 19%", 1, D("237.41"), D("237.41"), None, None),
        ),
        subtotal=D("1249.50"),
        tax=D("237.41"),
        total=D("1486.91"),
        period_start=date(2026, 3, 1),
        period_end=date(2026, 4, 1),
        seller=SELLER,
        buyer=BUYER,
        due_date=date(2026, 3, 31),
        payment_method="invoice",
        payment_terms_days=30,
        locale="de_DE",
        tax_rate=D("19"),
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def text_of(html: str) -> str:
    return " ".join(html.replace("\xa0", " ").replace("\u202f", " ").split())


def test_a_document_reads_in_its_own_locale_whatever_the_accounts_is_now() -> None:
    text = text_of(render_invoice_html(invoice(), ACCOUNT))
    assert "1.249,50 €" in text and "237,41 €" in text and "1.486,91 €" in text
    assert "1. März 2026 – 31. März 2026" in text  # [1 March, 1 April) to its last day
    assert "31. März 2026" in text and "19 %" in text


def test_a_document_that_kept_no_locale_reads_in_the_accounts_then_in_english() -> None:
    french = text_of(render_invoice_html(invoice(locale=None), ACCOUNT))
    assert "1 249,50 €" in french and "1 mars 2026 – 31 mars 2026" in french
    english = text_of(render_invoice_html(invoice(locale=None), replace(ACCOUNT, locale="")))
    assert "€1,249.50" in english and "March 1, 2026 – March 31, 2026" in english


def test_amounts_print_with_the_currencys_minor_digits_not_cldrs() -> None:
    """CLDR gives HUF no decimals; ISO 4217 (and seatledger) two: 100.50 stays 100,50."""
    huf = invoice(
        currency="HUF",
        locale="hu_HU",
        lines=(
            Line("recurring", "console", "console: 1 seat", 1, D("100.50"), D("100.50"), *MARCH),
        ),
        subtotal=D("100.50"),
        tax=D("0.00"),
        total=D("100.50"),
        tax_rate=None,
    )
    assert "100,50 Ft" in text_of(render_invoice_html(huf, ACCOUNT))
    bhd = replace(huf, currency="BHD", locale="en", subtotal=D("100.500"), total=D("100.500"))
    assert "BHD100.500" in text_of(render_invoice_html(bhd, ACCOUNT))


def test_a_period_invoice_with_nothing_due_says_so_for_its_period() -> None:
    empty = invoice(
        locale="en_GB",
        lines=(),
        subtotal=D("0.00"),
        tax=D("0.00"),
        total=D("0.00"),
        period_start=date(2026, 5, 1),
        period_end=date(2026, 6, 1),
    )
    text = text_of(render_invoice_html(empty, ACCOUNT))
    assert "Nothing was due for the period 1 May 2026 – 31 May 2026." in text
    assert "No lines" not in text and "Nothing to pay." in text


def test_en16931_carries_no_document_without_both_parties_a_seller_vat_id_or_a_known_rate() -> None:
    assert en16931_xml(invoice()) is not None
    assert en16931_xml(invoice(currency="BHD")) is None  # 3 minor units (BR-DEC)
    assert en16931_xml(invoice(seller=None)) is None
    assert en16931_xml(invoice(seller=replace(SELLER, vat_id=None))) is None  # BR-S-02
    assert en16931_xml(invoice(buyer=None)) is None  # BR-07, BR-10
    # tax charged at a rate the document did not keep (issued before it kept one)
    assert en16931_xml(invoice(tax_rate=None)) is None
    # no rate kept and no tax: zero rated
    untaxed = invoice(tax_rate=None, lines=invoice().lines[:1], tax=D("0.00"), total=D("1249.50"))
    assert b"<ram:CategoryCode>Z</ram:CategoryCode>" in (en16931_xml(untaxed) or b"")
