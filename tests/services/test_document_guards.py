"""The database refuses what would rewrite issued history (PRODUCT.md §2.6, §5:
issued lines and amounts never change, numbers are gapless, an operator may only
mark an invoice paid or void it while unpaid), on SQLite and PostgreSQL, whatever
statement a client sends: a line added to an issued document, an emptied table,
an unknown status or a status moving back, a rewritten reason, a number sequence
moved back, skipped or deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import Engine, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.engine import alembic_config
from seatledger.domain.invoicing import IssuedInvoice
from seatledger.services import accounts, billing, credit_notes, invoices
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
START = datetime(2026, 1, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
OPERATOR = "operator:test"
HISTORY_TABLES = ("seat_ledger", "invoices", "invoice_lines", "number_sequences")
NO_LINE = "an issued document takes no line"
# what each database says when a history table is emptied (revisions 0001 to 0003)
EMPTYING_REFUSED = "TRUNCATE is refused|append-only|immutable|never deleted"
# PostgreSQL names its CHECK; SQLite's triggers stand for it
UNKNOWN_STATUS = "ck_invoices_status|status is issued, paid or void|moves only from issued"


@dataclass(frozen=True)
class Documents:
    paid: IssuedInvoice  # January: 5 × 30.00 + 20 % tax, two lines, then marked paid
    void: IssuedInvoice  # February, voided
    issued: IssuedInvoice  # March, left issued
    credit_note: IssuedInvoice  # on March's invoice, with a reason
    empty: IssuedInvoice  # a metered account's first period invoice: no line at all


def _account(uow: Uow, *, tax_rate: str | None, pool: dict[str, object]) -> str:
    account = accounts.create_account(
        uow(),
        name="Acme",
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
        pools=[pool],
        at=START,
        actor=OPERATOR,
    )
    return account.id


@pytest.fixture
def docs(uow_factory: Uow) -> Documents:
    account_id = _account(
        uow_factory,
        tax_rate="20",
        pool={"module": "console", "capacity": 5, "unit_price": "30.00", "policy": "block"},
    )
    january, february, march = billing.advance_clock(uow_factory(), account_id=account_id, to=MARCH)
    invoices.mark_paid(uow_factory(), invoice_id=january.id, at=MARCH)
    invoices.void_invoice(uow_factory(), invoice_id=february.id, reason="issued in error", at=MARCH)
    note = credit_notes.create_credit_note(
        uow_factory(), invoice_id=march.id, reason="goodwill", amount="60.00", at=MARCH
    )
    metered_id = _account(
        uow_factory,
        tax_rate=None,
        pool={"module": "console", "unit_price": "10.00", "policy": "metered"},
    )
    (empty,) = billing.advance_clock(uow_factory(), account_id=metered_id, to=START)
    assert len(march.lines) == 2 and empty.lines == ()
    return Documents(
        paid=_reload(uow_factory, january),
        void=_reload(uow_factory, february),
        issued=march,
        credit_note=note,
        empty=empty,
    )


def _reload(uow: Uow, doc: IssuedInvoice) -> IssuedInvoice:
    return invoices.get_invoice(uow(), invoice_id=doc.id)


def _refused(uow: Uow, statement: object, match: str | None = None) -> None:
    """``statement`` is refused by the database, and nothing of it is kept."""
    with pytest.raises(DBAPIError, match=match), uow() as u:
        u.conn.execute(statement)  # type: ignore[call-overload]
        u.commit()


def _snapshot(uow: Uow) -> dict[str, list[tuple[object, ...]]]:
    with uow() as u:
        return {
            name: sorted(map(tuple, u.conn.execute(select(t.metadata.tables[name]))), key=repr)
            for name in HISTORY_TABLES
        }


def _line(doc: IssuedInvoice, position: int) -> object:
    return insert(t.invoice_lines).values(
        invoice_id=doc.id,
        position=position,
        kind="recurring",
        module="console",
        description="console: 1 seat added after issue",
        quantity=1,
        unit_price=Decimal("30.00"),
        amount=Decimal("30.00"),
    )


# ------------------------------------------------------------------ lines after issue


@pytest.mark.parametrize("name", ["issued", "paid", "void", "credit_note", "empty"])
def test_a_line_added_to_an_issued_document_is_refused(
    uow_factory: Uow, docs: Documents, name: str
) -> None:
    doc: IssuedInvoice = getattr(docs, name)
    _refused(uow_factory, _line(doc, len(doc.lines)), match=NO_LINE)
    _refused(uow_factory, _line(doc, -1), match=NO_LINE)
    if doc.lines:  # a position already written is the primary key's
        _refused(uow_factory, _line(doc, 0))
    assert _reload(uow_factory, doc) == doc  # the same lines, the same total


def test_the_line_count_of_an_issued_document_never_changes(
    uow_factory: Uow, docs: Documents
) -> None:
    for doc in (docs.issued, docs.empty):
        _refused(
            uow_factory,
            update(t.invoices)
            .where(t.invoices.c.id == doc.id)
            .values(line_count=t.invoices.c.line_count + 1),
            match="keeps its number of lines",
        )
        _refused(uow_factory, _line(doc, len(doc.lines)), match=NO_LINE)


def test_an_invoice_committed_without_all_its_lines_is_refused(
    uow_factory: Uow, docs: Documents, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite has no deferred triggers: the repository writes every line")
    with uow_factory() as u:
        row = u.conn.execute(select(t.invoices).where(t.invoices.c.id == docs.issued.id)).one()
    values = {
        **row._asdict(),
        "id": "inv_missing_lines",
        "key": "period:2026-04-01",
        "number": "TEST-INV-2026-999999",
        "status": "issued",
        "status_changed_at": None,
    }
    with pytest.raises(DBAPIError, match="without all its 2 lines"), uow_factory() as u:
        u.conn.execute(insert(t.invoices).values(values))
        u.conn.execute(_line(docs.issued, 0).values(invoice_id="inv_missing_lines"))
        u.commit()  # one of two positions filled: refused at commit
    with uow_factory() as u:
        assert u.invoices.get("inv_missing_lines") is None


# ------------------------------------------------------------------ emptied tables


@pytest.mark.parametrize("table", HISTORY_TABLES)
def test_the_ledger_and_the_documents_can_not_be_emptied(
    uow_factory: Uow, docs: Documents, backend: str, table: str
) -> None:
    before = _snapshot(uow_factory)
    assert before[table], f"{table} holds rows to protect"
    # SQLite has no TRUNCATE: its way to empty a table is DELETE without WHERE.
    # (PostgreSQL's TRUNCATE of a referenced table without CASCADE stops at the
    # foreign keys before any trigger: CASCADE is the statement that would succeed.)
    statement = f"TRUNCATE {table} CASCADE" if backend == "postgres" else f"DELETE FROM {table}"
    _refused(uow_factory, text(statement), match=EMPTYING_REFUSED)
    if backend == "postgres":  # the cascade from the accounts reaches every one of them
        _refused(uow_factory, text("TRUNCATE accounts CASCADE"), match="TRUNCATE is refused")
    assert _snapshot(uow_factory) == before


# ------------------------------------------------------------------ statuses


@pytest.mark.parametrize("status", ["draft", "refunded", "ISSUED", ""])
def test_a_document_status_is_issued_paid_or_void(
    uow_factory: Uow, docs: Documents, status: str
) -> None:
    _refused(
        uow_factory,
        update(t.invoices).where(t.invoices.c.id == docs.issued.id).values(status=status),
        match=UNKNOWN_STATUS,
    )
    with uow_factory() as u:
        row = u.conn.execute(select(t.invoices).where(t.invoices.c.id == docs.empty.id)).one()
    copy = {**row._asdict(), "id": "inv_copy", "key": "copy", "number": "X-1"}
    with uow_factory() as u:  # the same row with a known status is accepted (not kept)
        u.conn.execute(insert(t.invoices).values(copy))
    _refused(
        uow_factory, insert(t.invoices).values({**copy, "status": status}), match=UNKNOWN_STATUS
    )
    assert _reload(uow_factory, docs.issued) == docs.issued


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("paid", "issued"),
        ("paid", "void"),
        ("void", "issued"),
        ("void", "paid"),
        ("credit_note", "paid"),
        ("credit_note", "void"),
    ],
)
def test_a_status_moves_only_from_issued_to_paid_or_void_and_only_on_an_invoice(
    uow_factory: Uow, docs: Documents, name: str, status: str
) -> None:
    doc: IssuedInvoice = getattr(docs, name)
    _refused(
        uow_factory,
        update(t.invoices)
        .where(t.invoices.c.id == doc.id)
        .values(status=status, status_changed_at=MARCH),
        match="moves only from issued to paid or void",
    )
    assert _reload(uow_factory, doc) == doc


def test_the_moment_of_a_status_change_moves_only_with_the_status(
    uow_factory: Uow, docs: Documents
) -> None:
    for doc in (docs.paid, docs.issued):
        _refused(
            uow_factory,
            update(t.invoices)
            .where(t.invoices.c.id == doc.id)
            .values(status_changed_at=datetime(2027, 1, 1, tzinfo=UTC)),
            match="moves only with the status",
        )


@pytest.mark.parametrize("reason", ["a better story", None, ""])
def test_the_reason_of_a_document_never_changes_once_set(
    uow_factory: Uow, docs: Documents, reason: str | None
) -> None:
    _refused(
        uow_factory,
        update(t.invoices).where(t.invoices.c.id == docs.credit_note.id).values(reason=reason),
        match="never changes once set",
    )
    assert _reload(uow_factory, docs.credit_note).reason == "goodwill"


# ------------------------------------------------------------------ number sequences


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE number_sequences SET last = last - 1",
        "UPDATE number_sequences SET last = 0",
        "UPDATE number_sequences SET last = last",
        "UPDATE number_sequences SET last = last + 2",
        "UPDATE number_sequences SET name = 'TEST-INV-2025' WHERE name = 'TEST-INV-2026'",
        "DELETE FROM number_sequences WHERE name = 'TEST-INV-2026'",
        "INSERT INTO number_sequences (name, last) VALUES ('TEST-INV-2030', 7)",
        "INSERT INTO number_sequences (name, last) VALUES ('TEST-INV-2031', 0)",
    ],
)
def test_a_number_sequence_starts_at_one_moves_forward_by_one_and_is_never_deleted(
    uow_factory: Uow, docs: Documents, statement: str
) -> None:
    before = _snapshot(uow_factory)["number_sequences"]
    assert ("TEST-INV-2026", 4) in before  # three for Acme, one for the metered account
    _refused(uow_factory, text(statement), match="a number sequence")
    assert _snapshot(uow_factory)["number_sequences"] == before
    # the next document still takes the next number
    (april,) = billing.advance_clock(
        uow_factory(), account_id=docs.issued.account_id, to=datetime(2026, 4, 1, tzinfo=UTC)
    )
    assert april.number == "TEST-INV-2026-000005"


# ------------------------------------------------------------------ the migration


def _guards(engine: Engine) -> set[str]:
    """The triggers and functions of the database, and invoices' columns."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            names = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal UNION "
                    "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                    "UNION SELECT conname FROM pg_constraint "
                    "WHERE conrelid = 'invoices'::regclass"
                )
            ).scalars()
        else:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
        columns = {f"invoices.{c['name']}" for c in inspect(conn).get_columns("invoices")}
        return set(names) | columns


def test_the_document_guards_migration_counts_issued_lines_and_downgrades_to_0002_cleanly(
    uow_factory: Uow, docs: Documents, db_url: str, engine: Engine
) -> None:
    config = alembic_config(db_url)
    engine.dispose()
    with_guards = _guards(engine)
    try:
        command.downgrade(config, "0002")
        engine.dispose()
        without = _guards(engine)
        added = with_guards - without
        assert "invoices.line_count" in added and "invoice_lines_within_count" in added
        assert without < with_guards  # 0002's own guards are all still there
    finally:
        command.upgrade(config, "head")
        engine.dispose()
    assert _guards(engine) == with_guards
    # documents issued before the revision get as many positions as they have lines
    with uow_factory() as u:
        counts = {
            r.number: r.line_count
            for r in u.conn.execute(select(t.invoices.c.number, t.invoices.c.line_count))
        }
        lines = {
            r.number: r.lines
            for r in u.conn.execute(
                select(t.invoices.c.number, func.count(t.invoice_lines.c.position).label("lines"))
                .select_from(t.invoices.outerjoin(t.invoice_lines))
                .group_by(t.invoices.c.number)
            )
        }
    assert counts == lines and counts[docs.issued.number] == 2
    _refused(uow_factory, _line(docs.issued, 2), match=NO_LINE)
