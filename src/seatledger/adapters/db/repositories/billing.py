"""Repositories: issued documents, their numbers, billing markers."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, tuple_, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.pipeline import NO_WAIT
from seatledger.adapters.db.rows import party_json, party_of, upsert
from seatledger.domain.invoicing import IssuedInvoice, Line, PoolBase
from seatledger.domain.planner import BillingState

_CREDITED = t.invoices.alias("credited")
# NOTE: a document with the number of the invoice it credits (a credit note), in the
# same query.
_DOCUMENTS = select(t.invoices, _CREDITED.c.number.label("credited_invoice_number")).outerjoin(
    _CREDITED, _CREDITED.c.id == t.invoices.c.credited_invoice_id
)


# NOTE: NO_WAIT: writes whose result is never read, sent without waiting on
# PostgreSQL (adapters/db/pipeline.py): an error of one comes with the next
# statement that waits, at the latest at the end of the savepoint or the commit.
_INVOICE_ADD = insert(t.invoices).execution_options(**NO_WAIT)
_LINE_ADD = insert(t.invoice_lines).execution_options(**NO_WAIT)
_MARKER_ADD = insert(t.billing_markers).execution_options(**NO_WAIT)


class Invoices:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_sequences(self, names: list[str]) -> dict[str, int]:
        """The last number taken of each sequence (0: none yet), locked until the
        transaction ends: numbering serializes per sequence, only for the moment
        between this and the commit. On PostgreSQL a transaction-scoped advisory
        lock per name (in name order) covers a sequence whose row does not exist
        yet; SQLite's one write lock is held already."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtext('number_sequences:' || name)) "
                    "FROM unnest(CAST(:names AS text[])) AS name ORDER BY name"
                ),
                {"names": sorted(names)},
            )
        c = t.number_sequences.c
        found = dict(self.conn.execute(select(c.name, c.last).where(c.name.in_(names))).all())
        return {name: int(found.get(name, 0)) for name in names}

    def set_numbers(self, numbers: dict[str, str]) -> None:
        """Numbers the drafts (document id -> number), in one executemany."""
        c = t.invoices.c
        self.conn.execute(
            update(t.invoices)
            .where(c.id == bindparam("b_id"))
            .values(number=bindparam("b_number")),
            [{"b_id": i, "b_number": n} for i, n in numbers.items()],
        )

    def advance_sequences(self, lasts: dict[str, int]) -> None:
        """Moves each sequence to its new last number, after the documents carry
        them (the database checks that every number taken is on a document)."""
        stmt = upsert(self.conn, t.number_sequences).values(
            [{"name": name, "last": last} for name, last in lasts.items()]
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"last": stmt.excluded.last}
        )
        self.conn.execute(stmt)

    def add(self, documents: list[IssuedInvoice]) -> None:
        """Documents with their lines: one executemany each."""
        if not documents:
            return
        self.conn.execute(
            _INVOICE_ADD,
            [
                {
                    "id": inv.id,
                    "account_id": inv.account_id,
                    "key": inv.key,
                    "number": inv.number,
                    "type": inv.type,
                    "kind": inv.kind,
                    "status": inv.status,
                    "issued_at": inv.issued_at,
                    "period_start": inv.period_start,
                    "period_end": inv.period_end,
                    "currency": inv.currency,
                    "subtotal": inv.subtotal,
                    "tax": inv.tax,
                    "total": inv.total,
                    "credited_invoice_id": inv.credited_invoice_id,
                    "reason": inv.reason,
                    "line_count": len(inv.lines),
                    "seller": party_json(inv.seller),
                    "buyer": party_json(inv.buyer),
                    "due_date": inv.due_date,
                    "payment_method": inv.payment_method,
                    "payment_terms_days": inv.payment_terms_days,
                    "locale": inv.locale,
                    "tax_rate": inv.tax_rate,
                }
                for inv in documents
            ],
        )
        lines = [
            {
                "invoice_id": inv.id,
                "position": i,
                "kind": ln.kind,
                "module": ln.module,
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "amount": ln.amount,
                "period_start": ln.period_start,
                "period_end": ln.period_end,
            }
            for inv in documents
            for i, ln in enumerate(inv.lines)
        ]
        # NOTE: a period invoice is issued even with nothing to bill (0.00, no line)
        if lines:
            self.conn.execute(_LINE_ADD, lines)

    def issued_since(self, account_id: str, since: datetime | None) -> list[IssuedInvoice]:
        """The account's documents issued at or after ``since`` (all when None)."""
        c = t.invoices.c
        q = _DOCUMENTS.where(c.account_id == account_id).order_by(c.issued_at, c.number)
        if since is not None:
            q = q.where(c.issued_at >= since)
        return self._load(list(self.conn.execute(q)))

    def since_billing_state(self, account_ids: list[str]) -> dict[str, list[IssuedInvoice]]:
        """Each account's documents issued at or after its billing state's
        ``since`` (all when it has none), in the order of issue: two queries."""
        c, b = t.invoices.c, t.billing_states.c
        q = (
            _DOCUMENTS.outerjoin(t.billing_states, b.account_id == c.account_id)
            .where(c.account_id.in_(account_ids), b.since.is_(None) | (c.issued_at >= b.since))
            .order_by(c.account_id, c.issued_at, c.number)
        )
        found: dict[str, list[IssuedInvoice]] = {a: [] for a in account_ids}
        for document in self._load(list(self.conn.execute(q))):
            found[document.account_id].append(document)
        return found

    def by_key(self, account_id: str, key: str) -> IssuedInvoice | None:
        c = t.invoices.c
        row = self.conn.execute(_DOCUMENTS.where(c.account_id == account_id, c.key == key)).first()
        return self._load([row])[0] if row else None

    def get(self, invoice_id: str) -> IssuedInvoice | None:
        row = self.conn.execute(_DOCUMENTS.where(t.invoices.c.id == invoice_id)).first()
        return self._load([row])[0] if row else None

    def list(
        self, account_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> list[IssuedInvoice]:
        """In the order of issue; ``after`` is the (issued_at, id) of the last one seen."""
        c = t.invoices.c
        q = _DOCUMENTS.where(c.account_id == account_id).order_by(c.issued_at, c.id).limit(limit)
        if after:
            q = q.where(tuple_(c.issued_at, c.id) > tuple_(*after))
        return self._load(list(self.conn.execute(q)))

    def all_for(self, account_id: str | None = None) -> list[IssuedInvoice]:
        c = t.invoices.c
        q = _DOCUMENTS.order_by(c.issued_at, c.number)
        if account_id:
            q = q.where(c.account_id == account_id)
        return self._load(list(self.conn.execute(q)))

    def credited_total(self, invoice_id: str) -> Decimal:
        rows = self.conn.execute(
            select(t.invoices.c.total).where(t.invoices.c.credited_invoice_id == invoice_id)
        )
        return sum((r.total for r in rows), Decimal(0))

    def set_status(
        self, invoice_id: str, status: str, *, at: datetime, reason: str | None = None
    ) -> None:
        """``reason``: why (a void); set once, the database keeps it from changing."""
        values: dict[str, Any] = {"status": status, "status_changed_at": at}
        if reason is not None:
            values["reason"] = reason
        self.conn.execute(update(t.invoices).where(t.invoices.c.id == invoice_id).values(values))

    def _load(self, rows: list[Any]) -> list[IssuedInvoice]:
        ids = [r.id for r in rows]
        lines: dict[str, list[Line]] = {i: [] for i in ids}
        if ids:
            for ln in self.conn.execute(
                select(t.invoice_lines)
                .where(t.invoice_lines.c.invoice_id.in_(ids))
                .order_by(t.invoice_lines.c.invoice_id, t.invoice_lines.c.position)
            ):
                lines[ln.invoice_id].append(
                    Line(
                        ln.kind,
                        ln.module,
                        ln.description,
                        ln.quantity,
                        ln.unit_price,
                        ln.amount,
                        ln.period_start,
                        ln.period_end,
                    )
                )
        return [
            IssuedInvoice(
                id=r.id,
                account_id=r.account_id,
                number=r.number,
                key=r.key,
                type=r.type,
                kind=r.kind,
                status=r.status,
                issued_at=r.issued_at,
                currency=r.currency,
                lines=tuple(lines[r.id]),
                subtotal=r.subtotal,
                tax=r.tax,
                total=r.total,
                period_start=r.period_start,
                period_end=r.period_end,
                credited_invoice_id=r.credited_invoice_id,
                credited_invoice_number=r.credited_invoice_number,
                reason=r.reason,
                seller=party_of(r.seller),
                buyer=party_of(r.buyer),
                due_date=r.due_date,
                payment_method=r.payment_method,
                payment_terms_days=r.payment_terms_days,
                locale=r.locale,
                tax_rate=r.tax_rate,
            )
            for r in rows
        ]


class BillingMarkers:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def done_since(self, account_id: str, since: datetime | None) -> set[str]:
        c = t.billing_markers.c
        q = select(c.key).where(c.account_id == account_id)
        if since is not None:
            q = q.where(c.done_at >= since)
        return set(self.conn.execute(q).scalars())

    def since_billing_state(self, account_ids: list[str]) -> dict[str, set[str]]:
        """Each account's markers done at or after its billing state's ``since``."""
        c, b = t.billing_markers.c, t.billing_states.c
        q = (
            select(c.account_id, c.key)
            .outerjoin(t.billing_states, b.account_id == c.account_id)
            .where(c.account_id.in_(account_ids), b.since.is_(None) | (c.done_at >= b.since))
        )
        found: dict[str, set[str]] = {a: set() for a in account_ids}
        for r in self.conn.execute(q):
            found[r.account_id].add(r.key)
        return found

    def add(self, account_id: str, key: str, *, at: datetime) -> None:
        self.conn.execute(_MARKER_ADD, {"account_id": account_id, "key": key, "done_at": at})


def _line_json(ln: Line) -> dict[str, Any]:
    return {
        "kind": ln.kind,
        "module": ln.module,
        "description": ln.description,
        "quantity": ln.quantity,
        "unit_price": str(ln.unit_price),
        "amount": str(ln.amount),
        "period_start": ln.period_start.isoformat() if ln.period_start else None,
        "period_end": ln.period_end.isoformat() if ln.period_end else None,
    }


def _line_of(d: dict[str, Any]) -> Line:
    from datetime import date

    return Line(
        d["kind"],
        d["module"],
        d["description"],
        d["quantity"],
        Decimal(d["unit_price"]),
        Decimal(d["amount"]),
        date.fromisoformat(d["period_start"]) if d["period_start"] else None,
        date.fromisoformat(d["period_end"]) if d["period_end"] else None,
    )


class BillingStates:
    """Each account's billing state (``domain.planner.BillingState``) and the moment
    something next falls due for it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, account_id: str) -> BillingState:
        return self.of_accounts([account_id])[account_id]

    def of_accounts(self, account_ids: list[str]) -> dict[str, BillingState]:
        """Each account's state (an empty one when it has none), in one query."""
        rows = self.conn.execute(
            select(t.billing_states).where(t.billing_states.c.account_id.in_(account_ids))
        )
        found = {a: BillingState() for a in account_ids}
        for row in rows:
            base = {
                module: PoolBase(p["capacity"], p["held"], frozenset(p["holders"]))
                for module, p in json.loads(row.base).items()
            }
            pending = tuple(_line_of(d) for d in json.loads(row.pending))
            found[row.account_id] = BillingState(row.since, base, row.billed_through, pending)
        return found

    def save(self, account_id: str, state: BillingState, *, next_due_at: datetime | None) -> None:
        values = {
            "since": state.since,
            "base": json.dumps(
                {
                    module: {"capacity": p.capacity, "held": p.held, "holders": sorted(p.holders)}
                    for module, p in state.base.items()
                },
                sort_keys=True,
            ),
            "billed_through": state.billed_through,
            "pending": json.dumps([_line_json(ln) for ln in state.pending]),
            "next_due_at": next_due_at,
        }
        stmt = upsert(self.conn, t.billing_states).values(account_id=account_id, **values)
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["account_id"], set_={k: stmt.excluded[k] for k in values}
            ).execution_options(**NO_WAIT)
        )

    def due_no_later(self, account_id: str, moment: datetime) -> None:
        """Something may fall due at ``moment`` (a new contract version): a run must
        look at the account then."""
        c = t.billing_states.c
        done = self.conn.execute(
            update(t.billing_states)
            .where(c.account_id == account_id)
            .where((c.next_due_at.is_(None)) | (c.next_due_at > moment))
            .values(next_due_at=moment)
        )
        if done.rowcount == 0:
            exists = self.conn.execute(
                select(c.account_id).where(c.account_id == account_id)
            ).first()
            if exists is None:
                self.conn.execute(
                    insert(t.billing_states).values(account_id=account_id, next_due_at=moment)
                )

    def due_of(self, account_ids: list[str], as_of: datetime) -> set[str]:
        """Those of ``account_ids`` with something due at or before ``as_of``, now
        (a batch asks after taking their locks: another run may have billed them)."""
        c = t.billing_states.c
        q = select(c.account_id).where(c.account_id.in_(account_ids), c.next_due_at <= as_of)
        return set(self.conn.execute(q).scalars())

    def due_accounts(self, as_of: datetime) -> list[str]:
        """Accounts on the real clock with something due at or before ``as_of``: one
        indexed query, whatever the number of accounts with nothing due."""
        s, a = t.billing_states.c, t.accounts.c
        q = (
            select(s.account_id)
            .join(t.accounts, a.id == s.account_id)
            .where(s.next_due_at <= as_of, a.test_clock.is_(False))
            .order_by(s.account_id)
        )
        return list(self.conn.execute(q).scalars())
