"""Credit notes: the only way to correct an issued invoice (PRODUCT.md §2.6, §5).

A credit note references one invoice, carries ``credit`` lines and their share of
tax, and never exceeds what is left of that invoice:

    remaining = invoice.total − Σ total of the invoice's earlier credit notes

Sign convention: every amount on a credit note is stored and shown POSITIVE
(credit lines, tax, subtotal, total); ``type == "credit_note"`` is what says the
money goes back to the customer. A ledger of the account balance is therefore
Σ invoice totals − Σ credit-note totals.

Two ways to ask for a credit:

- ``amount``: the GROSS amount to credit (tax included), in the invoice currency.
  When the invoice has tax it is split in proportion to the invoice:

      net = round(amount × invoice.subtotal / invoice.total)
      tax = amount − net

  so the note's total equals ``amount`` exactly. Only ``net`` is rounded (once);
  ``tax`` is the exact difference of two amounts in minor units.
- ``lines``: NET amounts, each with a description. Each line gets its own tax line
  at the invoice's effective rate, rounded once per line:

      tax_i = round(net_i × invoice.tax / invoice.subtotal)

  and the note's total is Σ net_i + Σ tax_i.

Pure: no I/O, no clock. The caller supplies the earlier credited total, the
document key and the issue instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from seatledger.domain.errors import Conflict, InvalidInput
from seatledger.domain.invoicing import DraftInvoice, IssuedInvoice, Line
from seatledger.domain.money import MONEY_CONTEXT, format_amount, parse_amount, round_line

CREDIT_NOTE = "credit_note"
# NOTE: what an operator writes is printed on the PDF, and rendering costs grow with
# every glyph (each credit line prints twice: as itself and in its "Tax on: …" line).
# 100 lines of 300 characters in Hebrew and emoji took 55 s per PDF; these bounds keep
# the longest note's text (20 × 2 × 200 + 500 characters) at a seventh of that.
MAX_REASON_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 200
MAX_LINES = 20


@dataclass(frozen=True)
class CreditLineRequest:
    """One requested credit line, as received (description, net amount string)."""

    description: object
    amount: object


def remaining_credit(invoice: IssuedInvoice, credited: Decimal) -> Decimal:
    """What may still be credited: invoice.total − Σ earlier credit notes' totals."""
    return invoice.total - credited


def check_creditable(invoice: IssuedInvoice) -> None:
    """Only a live invoice can be credited: not a credit note, not a void invoice."""
    if invoice.type == CREDIT_NOTE:
        raise Conflict(
            f"{invoice.number} is a credit note; only invoices can be credited", field="invoice_id"
        )
    if invoice.status == "void":
        raise Conflict(
            f"invoice {invoice.number} is void; a void invoice cannot be credited",
            field="invoice_id",
        )


def check_reason(reason: object, *, why: str = "credited") -> str:
    """An operator's reason for a document (a credit note; an invoice voided): kept and
    printed, so required, bounded and free of control characters."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(f"reason is required: say why the invoice is {why}", field="reason")
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"reason is longer than {MAX_REASON_LENGTH} characters", field="reason")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in reason):
        raise InvalidInput("reason must not contain control characters", field="reason")
    return reason


def credit_note(
    invoice: IssuedInvoice,
    *,
    credited: Decimal,
    key: str,
    issued_at: datetime,
    amount: object = None,
    lines: Sequence[CreditLineRequest] | None = None,
) -> DraftInvoice:
    """The draft credit note for ``invoice`` given ``credited`` (Σ totals of its
    earlier credit notes). Exactly one of ``amount`` (gross) or ``lines`` (net).

    Refusals: a credit note or a void invoice (Conflict); a missing, malformed,
    zero or over-precise amount, or more than what is left (InvalidInput naming
    ``amount``, or ``lines`` / ``lines[i].…`` for the lines form)."""
    check_creditable(invoice)
    if (amount is None) == (lines is None):
        raise InvalidInput(
            "give either amount (gross) or lines (net), not both and not neither",
            field="amount" if amount is None else "lines",
        )
    if amount is not None:
        body = _lines_for_amount(invoice, _positive(amount, invoice.currency, field="amount"))
        field = "amount"
    else:
        body = _lines_for_lines(invoice, lines or ())
        field = "lines"
    draft = DraftInvoice(
        key=key,
        kind="ad_hoc",
        issued_at=issued_at,
        currency=invoice.currency,
        lines=body,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        type=CREDIT_NOTE,
    )
    left = remaining_credit(invoice, credited)
    if draft.total > left:
        c = invoice.currency
        raise InvalidInput(
            f"a credit of {format_amount(draft.total, c)} {c} exceeds what is left of "
            f"invoice {invoice.number}: {format_amount(left, c)} {c} "
            f"(total {format_amount(invoice.total, c)}, already credited "
            f"{format_amount(credited, c)})",
            field=field,
            remaining=format_amount(left, c),
        )
    return draft


# --- helpers -----------------------------------------------------------------------


def _positive(value: object, currency: str, *, field: str) -> Decimal:
    parsed = parse_amount(value, currency, field=field)  # type: ignore[arg-type]
    if parsed <= 0:
        raise InvalidInput(f"{field} must be greater than zero, got {value!r}", field=field)
    return parsed


def _credit_line(invoice: IssuedInvoice, description: str, net: Decimal) -> Line:
    return Line("credit", None, description, 1, net, net, invoice.period_start, invoice.period_end)


def _tax_line(invoice: IssuedInvoice, description: str, tax: Decimal) -> Line:
    return Line("tax", None, description, 1, tax, tax, None, None)


def _lines_for_amount(invoice: IssuedInvoice, gross: Decimal) -> tuple[Line, ...]:
    description = f"Credit on invoice {invoice.number}"
    if invoice.tax == 0 or invoice.total == 0:
        return (_credit_line(invoice, description, gross),)
    # NOTE: net = round(gross × subtotal / total), tax = gross − net: the note's
    # total is exactly the requested gross. 0 ≤ net ≤ gross because
    # subtotal ≤ total and gross is a whole number of minor units.
    with localcontext(MONEY_CONTEXT):
        net = round_line(gross * invoice.subtotal / invoice.total, invoice.currency)
        tax = gross - net
    return (
        _credit_line(invoice, description, net),
        _tax_line(invoice, f"Tax share of the credit on invoice {invoice.number}", tax),
    )


def _lines_for_lines(
    invoice: IssuedInvoice, requested: Sequence[CreditLineRequest]
) -> tuple[Line, ...]:
    if not requested:
        raise InvalidInput("lines must hold at least one line", field="lines")
    if len(requested) > MAX_LINES:
        raise InvalidInput(f"a credit note has at most {MAX_LINES} lines", field="lines")
    credits: list[Line] = []
    taxes: list[Line] = []
    for i, item in enumerate(requested):
        where = f"lines[{i}]"
        description = _description(item.description, field=f"{where}.description")
        net = _positive(item.amount, invoice.currency, field=f"{where}.amount")
        credits.append(_credit_line(invoice, description, net))
        if invoice.tax != 0 and invoice.subtotal != 0:
            # NOTE: tax_i = round(net_i × invoice.tax / invoice.subtotal), once per line,
            # at the invoice's effective rate (what was actually charged).
            with localcontext(MONEY_CONTEXT):
                tax = round_line(net * invoice.tax / invoice.subtotal, invoice.currency)
            taxes.append(_tax_line(invoice, f"Tax on: {description}", tax))
    return tuple(credits + taxes)


def _description(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a credit line needs a description", field=field)
    value = value.strip()
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"description is longer than {MAX_DESCRIPTION_LENGTH} characters", field=field
        )
    if any(ord(ch) < 32 for ch in value):
        raise InvalidInput("description must not contain control characters", field=field)
    return value
