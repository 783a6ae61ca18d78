"""Credit-note arithmetic (domain/credit_notes.py): exact Decimal examples and a
Hypothesis property over sequences of credits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain.credit_notes import (
    CreditLineRequest,
    check_reason,
    credit_note,
    remaining_credit,
)
from seatledger.domain.errors import Conflict, InvalidInput
from seatledger.domain.invoicing import IssuedInvoice, Line
from seatledger.domain.money import MINOR_UNITS, quantum, round_line

AT = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
D = Decimal


def invoice(
    subtotal: str,
    tax: str,
    *,
    currency: str = "EUR",
    status: str = "issued",
    type: str = "invoice",
    number: str = "INV-2026-000007",
) -> IssuedInvoice:
    sub, tx = D(subtotal), D(tax)
    lines = [
        Line(
            "recurring",
            "console",
            "console: 5 seats",
            5,
            sub / 5,
            sub,
            date(2026, 2, 1),
            date(2026, 3, 1),
        )
    ]
    if tx:
        lines.append(Line("tax", None, "Tax 20%", 1, tx, tx, None, None))
    return IssuedInvoice(
        id="inv_x",
        account_id="acc_x",
        number=number,
        key="period:2026-02-01",
        type=type,
        kind="period",
        status=status,
        issued_at=datetime(2026, 2, 1, tzinfo=UTC),
        currency=currency,
        lines=tuple(lines),
        subtotal=sub,
        tax=tx,
        total=sub + tx,
        period_start=date(2026, 2, 1),
        period_end=date(2026, 3, 1),
    )


def note(inv: IssuedInvoice, credited: str = "0", **kwargs: object):  # type: ignore[no-untyped-def]
    return credit_note(inv, credited=D(credited), key="credit:k", issued_at=AT, **kwargs)


def amounts(draft) -> list[tuple[str, Decimal]]:  # type: ignore[no-untyped-def]
    return [(ln.kind, ln.amount) for ln in draft.lines]


# --- amount (gross) ----------------------------------------------------------------


def test_a_gross_amount_is_split_into_net_and_tax_in_the_invoice_proportion() -> None:
    draft = note(invoice("150.00", "30.00"), amount="60.00")
    # net = round(60.00 × 150.00 / 180.00) = 50.00; tax = 60.00 − 50.00 = 10.00
    assert amounts(draft) == [("credit", D("50.00")), ("tax", D("10.00"))]
    assert (draft.subtotal, draft.tax, draft.total) == (D("50.00"), D("10.00"), D("60.00"))


def test_the_net_is_rounded_once_half_up_and_the_tax_takes_the_rest() -> None:
    draft = note(invoice("150.00", "30.00"), amount="10.00")
    # 10.00 × 150 / 180 = 8.3333… → 8.33; tax = 1.67; total exactly 10.00
    assert amounts(draft) == [("credit", D("8.33")), ("tax", D("1.67"))]
    assert draft.total == D("10.00")
    draft = note(invoice("150.00", "30.00"), amount="0.03")
    # 0.03 × 150 / 180 = 0.025 → 0.03 (half-up); tax 0.00, total still 0.03
    assert amounts(draft) == [("credit", D("0.03")), ("tax", D("0.00"))]


def test_crediting_the_whole_invoice_gives_back_its_subtotal_and_tax_exactly() -> None:
    inv = invoice("33.33", "6.67")
    draft = note(inv, amount="40.00")
    assert amounts(draft) == [("credit", D("33.33")), ("tax", D("6.67"))]


def test_an_invoice_without_tax_gets_one_credit_line_and_no_tax_line() -> None:
    draft = note(invoice("150.00", "0"), amount="12.34")
    assert amounts(draft) == [("credit", D("12.34"))]
    assert draft.tax == 0 and draft.total == D("12.34")


def test_zero_and_three_decimal_currencies() -> None:
    jpy = note(invoice("1000", "100", currency="JPY"), amount="500")
    # 500 × 1000 / 1100 = 454.54… → 455; tax 45
    assert amounts(jpy) == [("credit", D("455")), ("tax", D("45"))]
    bhd = note(invoice("10.000", "1.000", currency="BHD"), amount="1.000")
    # 1.000 × 10 / 11 = 0.90909… → 0.909; tax 0.091
    assert amounts(bhd) == [("credit", D("0.909")), ("tax", D("0.091"))]


def test_the_draft_is_an_ad_hoc_credit_note_on_the_invoice_period() -> None:
    draft = note(invoice("150.00", "30.00"), amount="60.00")
    assert draft.type == "credit_note" and draft.kind == "ad_hoc"
    assert draft.key == "credit:k" and draft.issued_at == AT and draft.currency == "EUR"
    assert (draft.period_start, draft.period_end) == (date(2026, 2, 1), date(2026, 3, 1))
    credit = draft.lines[0]
    assert credit.kind == "credit" and credit.quantity == 1
    assert credit.unit_price == credit.amount == D("50.00")
    assert "INV-2026-000007" in credit.description
    assert all(ln.amount >= 0 for ln in draft.lines), "credit amounts are stored positive"


# --- lines (net) -------------------------------------------------------------------


def test_net_lines_get_tax_at_the_invoice_rate_rounded_once_per_line() -> None:
    draft = note(
        invoice("150.00", "30.00"),
        lines=[CreditLineRequest("Goodwill", "25.00"), CreditLineRequest("Seat fix", "0.03")],
    )
    # rate = 30.00 / 150.00 = 20 %: 25.00 → 5.00; 0.03 × 0.2 = 0.006 → 0.01
    assert amounts(draft) == [
        ("credit", D("25.00")),
        ("credit", D("0.03")),
        ("tax", D("5.00")),
        ("tax", D("0.01")),
    ]
    assert draft.total == D("30.04")
    assert [ln.description for ln in draft.lines] == [
        "Goodwill",
        "Seat fix",
        "Tax on: Goodwill",
        "Tax on: Seat fix",
    ]


def test_the_rate_is_the_invoice_effective_rate_not_a_rounded_percentage() -> None:
    draft = note(invoice("3333.00", "667.00"), lines=[CreditLineRequest("x", "1000.00")])
    # 1000.00 × 667.00 / 3333.00 = 200.120012… → 200.12 (a flat 20 % would give 200.00)
    assert amounts(draft) == [("credit", D("1000.00")), ("tax", D("200.12"))]


def test_lines_on_an_invoice_without_tax_carry_no_tax() -> None:
    draft = note(invoice("150.00", "0"), lines=[CreditLineRequest("a", "1.00")])
    assert amounts(draft) == [("credit", D("1.00"))]


# --- never more than what is left -----------------------------------------------------


def test_a_credit_may_take_exactly_what_is_left_and_not_a_cent_more() -> None:
    inv = invoice("150.00", "30.00")
    assert remaining_credit(inv, D("100.00")) == D("80.00")
    assert note(inv, credited="100.00", amount="80.00").total == D("80.00")
    with pytest.raises(InvalidInput) as refused:
        note(inv, credited="100.00", amount="80.01")
    assert refused.value.field == "amount"
    assert refused.value.extra["remaining"] == "80.00"
    assert "80.00" in refused.value.message


def test_lines_that_exceed_what_is_left_are_refused_naming_lines() -> None:
    inv = invoice("150.00", "30.00")
    with pytest.raises(InvalidInput) as refused:
        # 150.00 net + 30.00 tax = 180.00 > 179.99 left
        note(inv, credited="0.01", lines=[CreditLineRequest("all", "150.00")])
    assert refused.value.field == "lines"


def test_a_zero_total_invoice_has_nothing_to_credit() -> None:
    with pytest.raises(InvalidInput) as refused:
        note(invoice("0.00", "0.00"), amount="0.01")
    assert refused.value.field == "amount"


# --- refusals ---------------------------------------------------------------------------


def test_a_void_invoice_or_a_credit_note_cannot_be_credited() -> None:
    with pytest.raises(Conflict):
        note(invoice("150.00", "30.00", status="void"), amount="1.00")
    with pytest.raises(Conflict):
        note(invoice("150.00", "30.00", type="credit_note", number="CN-2026-000001"), amount="1.00")


def test_a_paid_invoice_can_be_credited() -> None:
    assert note(invoice("150.00", "30.00", status="paid"), amount="1.00").total == D("1.00")


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-5.00", "abc", "1.001", "1e2", " 1.00", "", 1.5, True, "NaN"]
)
def test_malformed_zero_or_over_precise_amounts_are_refused(amount: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        note(invoice("150.00", "30.00"), amount=amount)
    assert refused.value.field == "amount"


def test_yen_amounts_have_no_decimals() -> None:
    with pytest.raises(InvalidInput):
        note(invoice("1000", "100", currency="JPY"), amount="1.5")


def test_exactly_one_of_amount_or_lines() -> None:
    inv = invoice("150.00", "30.00")
    with pytest.raises(InvalidInput) as neither:
        note(inv)
    assert neither.value.field == "amount"
    with pytest.raises(InvalidInput):
        note(inv, amount="1.00", lines=[CreditLineRequest("a", "1.00")])


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([CreditLineRequest("", "1.00")], "lines[0].description"),
        (
            [CreditLineRequest("ok", "1.00"), CreditLineRequest("  ", "1.00")],
            "lines[1].description",
        ),
        ([CreditLineRequest("ok", "0.00")], "lines[0].amount"),
        ([CreditLineRequest("ok", "1.005")], "lines[0].amount"),
        ([CreditLineRequest("bad\x00", "1.00")], "lines[0].description"),
    ],
)
def test_malformed_lines_are_refused_naming_the_field(
    lines: list[CreditLineRequest], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        note(invoice("150.00", "30.00"), lines=lines)
    assert refused.value.field == field


@pytest.mark.parametrize("reason", [None, "", "   ", 42, "x" * 1001, "bell\x07"])
def test_a_reason_is_required(reason: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_reason(reason)
    assert refused.value.field == "reason"
    assert check_reason("  duplicate seat  ") == "duplicate seat"


# --- property ---------------------------------------------------------------------------


@st.composite
def invoices_and_requests(draw):  # type: ignore[no-untyped-def]
    currency = draw(st.sampled_from(["EUR", "JPY", "BHD"]))
    q = quantum(currency)
    subtotal = draw(st.integers(0, 10**7)) * q
    rate = draw(st.sampled_from([D(0), D(5), D("7.5"), D(19), D(20), D("21.275"), D(100)]))
    tax = round_line(subtotal * rate / 100, currency)
    top = int((subtotal + tax) / q) + 5
    requests = draw(
        st.lists(
            st.one_of(
                st.integers(0, max(top, 1)).map(lambda n: ("amount", n * q)),
                st.lists(
                    st.integers(0, max(top // 2, 1)).map(lambda n: n * q), min_size=1, max_size=4
                ).map(lambda xs: ("lines", xs)),
            ),
            max_size=12,
        )
    )
    return currency, subtotal, tax, requests


@settings(max_examples=400, deadline=None)
@given(invoices_and_requests())
def test_credits_never_exceed_the_invoice_and_each_note_totals_its_request(
    case: tuple[str, Decimal, Decimal, list[tuple[str, object]]],
) -> None:
    currency, subtotal, tax, requests = case
    places = MINOR_UNITS[currency]
    inv = invoice(f"{subtotal:.{places}f}", f"{tax:.{places}f}", currency=currency)
    credited = D(0)
    for mode, value in requests:
        left = inv.total - credited
        try:
            if mode == "amount":
                draft = credit_note(
                    inv, credited=credited, key="k", issued_at=AT, amount=f"{value:.{places}f}"
                )
            else:
                draft = credit_note(
                    inv,
                    credited=credited,
                    key="k",
                    issued_at=AT,
                    lines=[
                        CreditLineRequest(f"line {i}", f"{v:.{places}f}")
                        for i, v in enumerate(value)
                    ],
                )
        except InvalidInput as refused:
            # refused only for a zero amount or for exceeding what is left
            if mode == "amount":
                assert value == 0 or value > left, (value, left, refused.message)
            continue
        # every line is positive and in minor units; totals are sums of lines
        assert all(
            ln.amount >= 0 and ln.amount == ln.amount.quantize(quantum(currency))
            for ln in draft.lines
        )
        assert draft.total == sum((ln.amount for ln in draft.lines), D(0))
        if mode == "amount":
            assert draft.total == value, "a gross credit totals exactly its amount"
            if inv.tax:
                assert draft.subtotal == round_line(value * inv.subtotal / inv.total, currency)
        else:
            assert draft.subtotal == sum(value, D(0))
        assert draft.total <= left
        credited += draft.total
        assert credited <= inv.total
    assert D(0) <= inv.total - credited
