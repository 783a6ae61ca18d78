"""Each document keeps the seller and buyer as they were when it was issued
(PRODUCT.md §5 Documents), through the use cases on SQLite and PostgreSQL: later
edits of the seller or the account change no issued document, the database refuses
a statement that would rewrite them, and issuing reads the seller once per use case
however many documents it issues."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.exc import DBAPIError

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import InvalidInput
from seatledger.domain.parties import Party
from seatledger.services import accounts, billing, credit_notes, invoices, settings
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
START = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = "operator:test"
SELLER = {
    "legal_name": "Seatledger GmbH",
    "address_lines": ["Friedrichstraße 123"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE136695976",
}
BUYER = {
    "legal_name": "Acme SAS",
    "address_lines": ["12 rue de la Paix"],
    "postal_code": "75002",
    "city": "Paris",
    "country": "FR",
    "vat_id": "FR40303265045",
}


def as_party(raw: dict[str, Any]) -> Party:
    return Party(**{**raw, "address_lines": tuple(raw["address_lines"])})


def billed_account(uow: Uow, *, months: int) -> tuple[str, list[Any]]:
    """A monthly account (2 × 50.00, 19 % tax, 14 days to pay) billed for ``months``
    period invoices on its test clock."""
    account = accounts.create_account(
        uow(),
        name="Acme",
        currency="EUR",
        tax_rate="19",
        payment_terms_days=14,
        billing=BUYER,
        test_clock=True,
        clock_start=START,
        at=START,
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 2, "unit_price": "50.00", "policy": "block"}],
        at=START,
        actor=OPERATOR,
    )
    issued = billing.advance_clock(
        uow(), account_id=account.id, to=datetime(2026, months, 1, tzinfo=UTC)
    )
    return account.id, issued


@contextmanager
def seller_reads(engine: Engine) -> Iterator[list[str]]:
    """The statements that read the seller settings while inside."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "seller_settings" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_documents_keep_the_seller_and_buyer_they_were_issued_with_after_later_edits(
    uow_factory: Uow,
) -> None:
    settings.put_seller(uow_factory(), seller=SELLER, at=START)
    account_id, issued = billed_account(uow_factory, months=2)
    note = credit_notes.create_credit_note(
        uow_factory(), invoice_id=issued[0].id, reason="one seat unused", amount="59.50", at=START
    )
    before = invoices.list_invoices(uow_factory(), account_id=account_id, limit=100)
    assert {(d.seller, d.buyer) for d in before} == {(as_party(SELLER), as_party(BUYER))}
    assert note.credited_invoice_number == issued[0].number

    settings.put_seller(uow_factory(), seller={**SELLER, "legal_name": "Seatledger SE"}, at=START)
    accounts.update_account(
        uow_factory(),
        account_id=account_id,
        at=START,
        billing={**BUYER, "legal_name": "Acme Europe SAS"},
        payment_terms_days=60,
        payment_method="card",
        locale="de_DE",
        tax_rate="7",
    )

    assert invoices.list_invoices(uow_factory(), account_id=account_id, limit=100) == before
    assert {d.number for d in before} == {*(d.number for d in issued), note.number}
    # January and February: due 1 January + 14 and 1 February + 14
    assert [(d.due_date, d.payment_terms_days, d.tax_rate) for d in issued] == [
        (date(2026, 1, 15), 14, Decimal("19")),
        (date(2026, 2, 15), 14, Decimal("19")),
    ]
    (march,) = billing.advance_clock(
        uow_factory(), account_id=account_id, to=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert (march.seller.legal_name, march.buyer.legal_name) == (  # type: ignore[union-attr]
        "Seatledger SE",
        "Acme Europe SAS",
    )
    assert (march.due_date, march.payment_method, march.locale) == (
        date(2026, 4, 30),  # 1 March + 60 days
        "card",
        "de_DE",
    )


def test_the_database_refuses_to_rewrite_what_a_document_was_issued_with(
    uow_factory: Uow, engine: Engine
) -> None:
    settings.put_seller(uow_factory(), seller=SELLER, at=START)
    _, (january,) = billed_account(uow_factory, months=1)
    rewrites: list[dict[str, Any]] = [
        {"seller": None},
        {"buyer": '{"legal_name": "Someone else"}'},
        {"due_date": date(2026, 12, 31)},
        {"payment_method": "card"},
        {"payment_terms_days": 90},
        {"locale": "de_DE"},
        {"tax_rate": Decimal("0")},
    ]
    for values in rewrites:
        with engine.connect() as conn, pytest.raises(DBAPIError, match="insert-only"):
            conn.execute(update(t.invoices).where(t.invoices.c.id == january.id).values(**values))
    assert invoices.get_invoice(uow_factory(), invoice_id=january.id) == january


def test_issuing_many_documents_reads_the_seller_once_per_use_case(
    uow_factory: Uow, engine: Engine
) -> None:
    settings.put_seller(uow_factory(), seller=SELLER, at=START)
    with seller_reads(engine) as reads:
        _, issued = billed_account(uow_factory, months=6)
    assert len(issued) == 6  # January to June, in one clock move
    assert len(reads) == 1


def test_a_use_case_that_issues_nothing_does_not_read_the_seller(
    uow_factory: Uow, engine: Engine
) -> None:
    account_id, _ = billed_account(uow_factory, months=1)
    with seller_reads(engine) as reads:
        assert (
            billing.advance_clock(
                uow_factory(), account_id=account_id, to=datetime(2026, 1, 20, tzinfo=UTC)
            )
            == []
        )
    assert reads == []


def test_a_bad_seller_or_billing_detail_writes_nothing(uow_factory: Uow) -> None:
    settings.put_seller(uow_factory(), seller=SELLER, at=START)
    account_id, _ = billed_account(uow_factory, months=1)
    account = accounts.get_account(uow_factory(), account_id=account_id)

    with pytest.raises(InvalidInput) as refused:
        settings.put_seller(uow_factory(), seller={**SELLER, "vat_id": "DE123456789"}, at=START)
    assert refused.value.field == "vat_id"
    with pytest.raises(InvalidInput) as refused:
        accounts.update_account(
            uow_factory(),
            account_id=account_id,
            at=START,
            name="Renamed",
            billing={**BUYER, "country": "XX"},
        )
    assert refused.value.field == "billing.country"

    assert settings.get_seller(uow_factory()) == as_party(SELLER)
    assert accounts.get_account(uow_factory(), account_id=account_id) == account
