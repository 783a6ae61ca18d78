"""A document reads the same whatever database issued it (PRODUCT.md §5: issued
lines never change, so they must be right when issued): the same history, run
on SQLite and on PostgreSQL, issues documents whose JSON is equal field by
field, but for the ids the databases' runs give."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from seatledger.adapters.db.engine import make_engine
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.entrypoints.api.schemas import AccountPublic, InvoicePublic
from seatledger.services import accounts, billing, credit_notes, invoices, users
from seatledger.services.demo import seed_demo
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
START = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = "operator:test"
# fields that name a row of one database: the same history gives other ids elsewhere
IDS = ("id", "account_id", "credited_invoice_id")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def taxed_history(uow: Uow, *, tax_rate: str) -> str:
    """An account at ``tax_rate`` through half a year: recurring, true-up,
    immediate and metered lines, a credit note, a paid and a void invoice."""
    account = accounts.create_account(
        uow(),
        name=f"Taxed at {tax_rate}",
        currency="EUR",
        tax_rate=tax_rate,
        test_clock=True,
        clock_start=START,
        at=START,
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[
            {"module": "console", "capacity": 2, "unit_price": "20.00", "policy": "true_up"},
            {
                "module": "api",
                "capacity": 1,
                "unit_price": "12.50",
                "policy": "auto_purchase",
                "charge_timing": "immediate",
            },
            {"module": "reports", "unit_price": "5.00", "policy": "metered"},
        ],
        at=START,
        actor=OPERATOR,
    )
    billing.advance_clock(uow(), account_id=account.id, to=utc(2026, 2, 10))
    for n in range(3):  # console 3 of 2 (a true-up), api 3 of 1 (two purchases)
        users.create_user(
            uow(),
            account_id=account.id,
            email=f"user{n}@example.com",
            first_name="Seat",
            last_name="Holder",
            at=START,
            actor=OPERATOR,
        )
    issued = billing.advance_clock(uow(), account_id=account.id, to=utc(2026, 6, 1))
    invoices.mark_paid(uow(), invoice_id=issued[0].id, at=START)
    invoices.void_invoice(uow(), invoice_id=issued[1].id, reason="issued in error", at=START)
    credit_notes.create_credit_note(
        uow(), invoice_id=issued[-1].id, reason="goodwill", amount="10.00", at=START
    )
    return account.id


def history(uow: Uow) -> None:
    seed_demo(uow, at=START)
    taxed_history(uow, tax_rate="19.50")
    taxed_history(uow, tax_rate="7.25")
    taxed_history(uow, tax_rate="20")


def documents_as_json(uow: Uow) -> dict[str, Any]:
    """Each account's public JSON and its documents' in the order of issue, by
    account name; ids give way to the numbers of the documents they name."""
    out: dict[str, Any] = {}
    for account in accounts.list_accounts(uow(), limit=1000, after=None):
        docs = invoices.list_invoices(uow(), account_id=account.id, limit=1000)
        numbers = {d.id: d.number for d in docs}
        out[account.name] = {
            "account": {
                k: v
                for k, v in AccountPublic.of(account).model_dump(mode="json").items()
                if k not in ("id", "created_at")
            },
            "documents": [_without_ids(d, numbers) for d in _in_issue_order(docs)],
        }
    return out


def _in_issue_order(docs: list[IssuedInvoice]) -> list[IssuedInvoice]:
    return sorted(docs, key=lambda d: (d.issued_at, d.number))


def _without_ids(doc: IssuedInvoice, numbers: dict[str, str]) -> dict[str, Any]:
    body = InvoicePublic.of(doc).model_dump(mode="json")
    credited = body.get("credited_invoice_id")
    body = {k: v for k, v in body.items() if k not in IDS}
    body["credited_invoice"] = numbers.get(credited) if credited else None
    return body


@pytest.fixture
def sqlite_and_postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Uow]]:
    """Two fresh, migrated, empty databases, built the way ``db_url`` builds them."""
    path = tmp_path / "seatledger.db"
    request.getfixturevalue("_sqlite_template").copy_to(path)
    run = request.getfixturevalue("_postgres_run")
    postgres_url = run.ensure()
    run.empty()
    engines = {"sqlite": make_engine(f"sqlite:///{path}"), "postgres": make_engine(postgres_url)}
    try:
        yield {name: (lambda e=e: UnitOfWork(e)) for name, e in engines.items()}
    finally:
        for e in engines.values():
            e.dispose()


def test_the_same_history_issues_the_same_documents_on_sqlite_and_postgresql(
    sqlite_and_postgres: dict[str, Uow],
) -> None:
    for uow in sqlite_and_postgres.values():
        history(uow)
    on_sqlite = documents_as_json(sqlite_and_postgres["sqlite"])
    on_postgres = documents_as_json(sqlite_and_postgres["postgres"])
    assert sorted(on_sqlite) == sorted(on_postgres)
    for name, expected in on_sqlite.items():
        got = on_postgres[name]
        assert got["account"] == expected["account"], name
        assert len(got["documents"]) == len(expected["documents"]), name
        for doc, other in zip(expected["documents"], got["documents"], strict=True):
            assert sorted(doc) == sorted(other)
            for field, value in doc.items():
                if field == "lines":
                    assert len(other["lines"]) == len(value), (doc["number"], field)
                    for i, (line, other_line) in enumerate(zip(value, other["lines"], strict=True)):
                        for key in line:
                            assert other_line[key] == line[key], (doc["number"], i, key)
                else:
                    assert other[field] == value, (doc["number"], field)
    taxed = [
        doc for name, v in on_sqlite.items() if name.startswith("Taxed") for doc in v["documents"]
    ]
    assert {doc["status"] for doc in taxed} == {"issued", "paid", "void"}
    assert {doc["type"] for doc in taxed} == {"invoice", "credit_note"}
    assert {line["kind"] for doc in taxed for line in doc["lines"]} >= {
        "recurring",
        "true_up",
        "proration",
        "metered",
        "tax",
        "credit",
    }


@pytest.mark.parametrize(
    ("tax_rate", "description", "public"),
    [("19.50", "Tax 19.5%", "19.5"), ("20", "Tax 20%", "20"), ("7.2500", "Tax 7.25%", "7.25")],
)
def test_the_tax_line_names_the_rate_without_trailing_zeros_on_each_database(
    uow_factory: Uow, tax_rate: str, description: str, public: str
) -> None:
    account_id = taxed_history(uow_factory, tax_rate=tax_rate)
    docs = invoices.list_invoices(uow_factory(), account_id=account_id, limit=1000)
    tax_lines = [ln for d in docs if d.type == "invoice" for ln in d.lines if ln.kind == "tax"]
    assert tax_lines and {ln.description for ln in tax_lines} == {description}
    account = accounts.get_account(uow_factory(), account_id=account_id)
    assert AccountPublic.of(account).tax_rate == public
