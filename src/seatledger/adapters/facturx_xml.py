"""An issued document as EN 16931 XML: UN/CEFACT Cross Industry Invoice, Factur-X
profile EN 16931, the XML the PDF embeds (PRODUCT.md §5 Documents).

The XML is the same document as the PDF: the stored lines and amounts as they are
(never recomputed), the parties and terms as they were when it was issued. Amounts
are positive on a credit note too (type code 381 says the money goes back).

EN 16931 cannot express every document; ``en16931_xml`` returns None for one it
cannot, and the PDF is then given without XML:
- a currency with more than 2 minor units (BR-DEC: at most 2 decimals);
- no seller, or a seller without VAT id (BR-S-02 / BR-Z-02: a VAT category needs
  the seller's VAT identifier), or no buyer (BR-07, BR-10: its name and address);
- a tax charged at a rate the document does not record (issued before seatledger
  kept it).

Dates: EN 16931 periods end on their last day (BT-74, BT-135: inclusive), where
seatledger's periods are half-open, so an end date is the day before ``period_end``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree as ET

from seatledger.domain.invoicing import IssuedInvoice, Line
from seatledger.domain.money import format_amount, format_percentage, minor_units
from seatledger.domain.parties import Party

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"  # the Factur-X EN 16931 profile
# UNTDID 1001
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
# UNTDID 4461. NOTE: a bank transfer (30, 58) needs the seller's account (BT-84,
# CII-SR-470), which the seller settings do not hold: an invoice paid by transfer
# states it in its payment terms (BT-20) only.
PAYMENT_MEANS = {"card": "48"}
UNIT_ONE = "C62"  # UN/ECE Recommendation 20: "one" (a seat, a charge)
MAX_ADDRESS_LINES = 3  # LineOne, LineTwo, LineThree
_DAY = timedelta(days=1)


def expressible(invoice: IssuedInvoice) -> bool:
    """EN 16931 can carry this document (see the module docstring)."""
    return (
        minor_units(invoice.currency) <= 2
        and invoice.seller is not None
        and invoice.seller.vat_id is not None
        and invoice.buyer is not None
        and vat_rate(invoice) is not None
    )


def vat_rate(invoice: IssuedInvoice) -> Decimal | None:
    """The rate the document's tax was charged at: the one it recorded; none
    recorded and no tax: 0; tax without a recorded rate: unknown (None)."""
    if invoice.tax_rate is not None:
        return invoice.tax_rate
    return Decimal(0) if invoice.tax == 0 else None


def vat_category(rate: Decimal) -> str:
    """UNCL 5305: S (standard rate) when a tax is charged, Z (zero rated) at 0 %."""
    return "S" if rate > 0 else "Z"


def en16931_xml(invoice: IssuedInvoice, credited: IssuedInvoice | None = None) -> bytes | None:
    """The document as Factur-X EN 16931 CII (UTF-8), or None when EN 16931 cannot
    carry it. ``credited``: the invoice a credit note credits."""
    if not expressible(invoice):
        return None
    rate = vat_rate(invoice)
    assert rate is not None and invoice.seller is not None and invoice.buyer is not None
    root = ET.Element(_rsm("CrossIndustryInvoice"))
    context = _sub(root, _rsm("ExchangedDocumentContext"))
    _text(_sub(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", EN16931_GUIDELINE)

    header = _sub(root, _rsm("ExchangedDocument"))
    _text(header, "ID", invoice.number)
    _text(header, "TypeCode", TYPE_CODES[invoice.type])
    _date(_sub(header, "IssueDateTime"), invoice.issued_at.date())
    if invoice.reason:
        _text(_sub(header, "IncludedNote"), "Content", invoice.reason)

    transaction = _sub(root, _rsm("SupplyChainTradeTransaction"))
    for position, line in enumerate(_priced_lines(invoice), start=1):
        _line(transaction, position, line, invoice.currency, rate)

    agreement = _sub(transaction, "ApplicableHeaderTradeAgreement")
    _party(_sub(agreement, "SellerTradeParty"), invoice.seller)
    _party(_sub(agreement, "BuyerTradeParty"), invoice.buyer)
    # BT-72: the instant the document fell due (a period start, a month close, a charge)
    delivery = _sub(transaction, "ApplicableHeaderTradeDelivery")
    delivery = _sub(delivery, "ActualDeliverySupplyChainEvent")
    _date(_sub(delivery, "OccurrenceDateTime"), invoice.issued_at.date())

    settlement = _sub(transaction, "ApplicableHeaderTradeSettlement")
    _text(settlement, "InvoiceCurrencyCode", invoice.currency)
    if invoice.payment_method in PAYMENT_MEANS:
        means = _sub(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _text(means, "TypeCode", PAYMENT_MEANS[invoice.payment_method])
    tax = _sub(settlement, "ApplicableTradeTax")
    _text(tax, "CalculatedAmount", format_amount(invoice.tax, invoice.currency))
    _text(tax, "TypeCode", "VAT")
    _text(tax, "BasisAmount", format_amount(invoice.subtotal, invoice.currency))
    _text(tax, "CategoryCode", vat_category(rate))
    _text(tax, "RateApplicablePercent", format_percentage(rate))
    if invoice.period_start is not None and invoice.period_end is not None:
        _period(settlement, invoice.period_start, invoice.period_end)
    terms = _sub(settlement, "SpecifiedTradePaymentTerms")
    _text(terms, "Description", payment_terms_text(invoice, credited))
    if invoice.due_date is not None:
        _date(_sub(terms, "DueDateDateTime"), invoice.due_date)
    totals = _sub(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _text(totals, "LineTotalAmount", format_amount(invoice.subtotal, invoice.currency))
    _text(totals, "TaxBasisTotalAmount", format_amount(invoice.subtotal, invoice.currency))
    tax_total = _text(totals, "TaxTotalAmount", format_amount(invoice.tax, invoice.currency))
    tax_total.set("currencyID", invoice.currency)
    _text(totals, "GrandTotalAmount", format_amount(invoice.total, invoice.currency))
    _text(totals, "DuePayableAmount", format_amount(invoice.total, invoice.currency))
    if invoice.type == "credit_note" and credited is not None:
        reference = _sub(settlement, "InvoiceReferencedDocument")
        _text(reference, "IssuerAssignedID", credited.number)
        issued = _sub(reference, "FormattedIssueDateTime")
        _date(issued, credited.issued_at.date(), namespace=QDT)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def payment_terms_text(invoice: IssuedInvoice, credited: IssuedInvoice | None) -> str:
    """BT-20, as the PDF prints it too: how and when the document is settled."""
    if invoice.type == "credit_note":
        target = credited.number if credited is not None else "the credited invoice"
        return f"Credits {target}; nothing to pay."
    if invoice.total == 0:
        return "Nothing to pay."
    if invoice.payment_method == "card":
        return "Charged to the card on file."
    if invoice.payment_method is None:
        return "Payable as agreed."  # issued before seatledger kept the terms
    if not invoice.payment_terms_days:
        return "Bank transfer, payable on receipt."
    return f"Bank transfer, payable within {invoice.payment_terms_days} days of the issue date."


def nothing_due(invoice: IssuedInvoice) -> bool:
    """A period invoice with nothing to bill (issued all the same, §5)."""
    return invoice.kind == "period" and invoice.total == 0 and not _charged_lines(invoice)


def _charged_lines(invoice: IssuedInvoice) -> list[Line]:
    return [ln for ln in invoice.lines if ln.kind != "tax"]


def _priced_lines(invoice: IssuedInvoice) -> list[Line]:
    """The document's lines other than tax; a document with none (a period with
    nothing due) has one line of nothing, since EN 16931 needs one (BR-16)."""
    lines = _charged_lines(invoice)
    if lines:
        return lines
    nothing = Decimal(0)
    text = "Nothing was due for this period"
    period = (invoice.period_start, invoice.period_end)
    return [Line("recurring", None, text, 0, nothing, nothing, *period)]


def _line(parent: ET.Element, position: int, line: Line, currency: str, rate: Decimal) -> None:
    item = _sub(parent, "IncludedSupplyChainTradeLineItem")
    _text(_sub(item, "AssociatedDocumentLineDocument"), "LineID", str(position))
    product = _sub(item, "SpecifiedTradeProduct")
    if line.module:
        _text(product, "SellerAssignedID", line.module)
    _text(product, "Name", line.description)
    price = _sub(_sub(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
    _text(price, "ChargeAmount", format_amount(line.unit_price, currency))
    delivery = _sub(item, "SpecifiedLineTradeDelivery")
    _text(delivery, "BilledQuantity", str(line.quantity)).set("unitCode", UNIT_ONE)
    settlement = _sub(item, "SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ApplicableTradeTax")
    _text(tax, "TypeCode", "VAT")
    _text(tax, "CategoryCode", vat_category(rate))
    _text(tax, "RateApplicablePercent", format_percentage(rate))
    if line.period_start is not None and line.period_end is not None:
        _period(settlement, line.period_start, line.period_end)
    summation = _sub(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _text(summation, "LineTotalAmount", format_amount(line.amount, currency))


def _party(element: ET.Element, party: Party) -> None:
    _text(element, "Name", party.legal_name)
    address = _sub(element, "PostalTradeAddress")
    _text(address, "PostcodeCode", party.postal_code)
    lines = list(party.address_lines)
    kept = lines[: MAX_ADDRESS_LINES - 1] + [", ".join(lines[MAX_ADDRESS_LINES - 1 :])]
    for name, text in zip(("LineOne", "LineTwo", "LineThree"), kept, strict=False):
        if text:
            _text(address, name, text)
    _text(address, "CityName", party.city)
    _text(address, "CountryID", party.country)
    if party.email:
        _text(_sub(element, "URIUniversalCommunication"), "URIID", party.email).set(
            "schemeID", "EM"
        )
    if party.vat_id:
        registration = _sub(element, "SpecifiedTaxRegistration")
        _text(registration, "ID", party.vat_id).set("schemeID", "VA")


def _period(parent: ET.Element, start: date, end: date) -> None:
    """A half-open [start, end) as EN 16931 has it: from start to end's day before."""
    period = _sub(parent, "BillingSpecifiedPeriod")
    _date(_sub(period, "StartDateTime"), start)
    _date(_sub(period, "EndDateTime"), end - _DAY)


def _date(parent: ET.Element, day: date, *, namespace: str = UDT) -> None:
    value = ET.SubElement(parent, f"{{{namespace}}}DateTimeString", format="102")
    value.text = day.strftime("%Y%m%d")


def _rsm(name: str) -> str:
    return f"{{{RSM}}}{name}"


def _sub(parent: ET.Element, name: str) -> ET.Element:
    """A child element; a bare name is in the ``ram`` namespace."""
    return ET.SubElement(parent, name if name.startswith("{") else f"{{{RAM}}}{name}")


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = _sub(parent, name)
    element.text = text
    return element
