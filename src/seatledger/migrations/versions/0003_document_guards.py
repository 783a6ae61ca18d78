"""document guards: no line added to an issued document, known statuses moving
only forward, kept reasons, forward-only number sequences, no TRUNCATE

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# NOTE: the statuses seatledger gives a document (the moves between them are
# held by the status_moves rule: PRODUCT.md §5, an operator marks an invoice
# paid, or voids it while unpaid; a credit note stays issued).
STATUSES = "('issued', 'paid', 'void')"


def _differs(dialect: str, new: str, old: str) -> str:
    # SQLite before 3.39 has no IS DISTINCT FROM; its IS NOT is the same test.
    return f"{new} IS DISTINCT FROM {old}" if dialect == "postgresql" else f"{new} IS NOT {old}"


def _invoice_update_rules(dialect: str) -> list[tuple[str, str, str]]:
    """(name, condition on OLD and NEW that refuses the UPDATE, message)."""
    return [
        (
            "line_count_kept",
            "NEW.line_count <> OLD.line_count",
            "an issued document keeps its number of lines",
        ),
        (
            "status_moves",
            "NEW.status <> OLD.status AND NOT (OLD.type = 'invoice' "
            "AND OLD.status = 'issued' AND NEW.status IN ('paid', 'void'))",
            "a status moves only from issued to paid or void, and only on an invoice",
        ),
        (
            "status_changed_at_kept",
            f"{_differs(dialect, 'NEW.status_changed_at', 'OLD.status_changed_at')} "
            "AND NEW.status = OLD.status",
            "status_changed_at moves only with the status",
        ),
        (
            "reason_kept",
            f"OLD.reason IS NOT NULL AND {_differs(dialect, 'NEW.reason', 'OLD.reason')}",
            "the reason of a document never changes once set",
        ),
    ]


# A number sequence is gapless (PRODUCT.md §5): it starts at 1 and each issue
# moves it forward by exactly one, under the same name; it is never deleted.
SEQUENCE_MOVE_REFUSED = "NEW.name <> OLD.name OR NEW.last <> OLD.last + 1"


# Tables whose rows are history: on PostgreSQL, TRUNCATE skips row triggers, so
# a statement trigger refuses it. (SQLite has no TRUNCATE; its DELETE without
# WHERE fires the row triggers that refuse DELETE.)
HISTORY_TABLES = ("seat_ledger", "invoices", "invoice_lines", "number_sequences")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name

    # NOTE: lines are written only with their document. An invoice states how many
    # lines it has (line_count, written in the same INSERT as the invoice and never
    # changed); a line is accepted only at a position 0 <= position < line_count,
    # and the primary key (invoice_id, position) takes each position once. The
    # issuing transaction fills every position, so once it is committed there is
    # no position left: any later INSERT is refused, on both databases, whatever
    # transaction it comes from. A zero-line invoice has line_count 0 and never
    # takes a line. On PostgreSQL a deferred constraint trigger also refuses, at
    # commit, an invoice whose positions were not all filled (SQLite has no
    # deferred triggers: there the repository writes every line in the invoice's
    # transaction). The default 0 fails closed: an INSERT that omits line_count
    # gets an invoice that takes no line.
    op.execute(
        "ALTER TABLE invoices ADD COLUMN line_count INTEGER DEFAULT 0 NOT NULL "
        "CONSTRAINT ck_invoices_line_count CHECK (line_count >= 0)"
    )
    # Documents issued before this revision: as many positions as they have lines.
    op.execute(
        "UPDATE invoices SET line_count = "
        "(SELECT count(*) FROM invoice_lines WHERE invoice_lines.invoice_id = invoices.id)"
    )
    line_outside = (
        "NOT EXISTS (SELECT 1 FROM invoices WHERE invoices.id = NEW.invoice_id "
        "AND NEW.position >= 0 AND NEW.position < invoices.line_count)"
    )
    line_message = "a line is written only with its document: an issued document takes no line"
    rules = _invoice_update_rules(dialect)

    if dialect == "postgresql":
        op.execute(
            f"ALTER TABLE invoices ADD CONSTRAINT ck_invoices_status CHECK (status IN {STATUSES})"
        )
        op.execute(
            f"""
            CREATE FUNCTION invoice_lines_within_count() RETURNS trigger AS $$
            BEGIN
              IF {line_outside} THEN
                RAISE EXCEPTION '{line_message}';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER invoice_lines_within_count BEFORE INSERT ON invoice_lines "
            "FOR EACH ROW EXECUTE FUNCTION invoice_lines_within_count()"
        )
        op.execute(
            """
            CREATE FUNCTION invoices_lines_complete() RETURNS trigger AS $$
            BEGIN
              IF (SELECT count(*) FROM invoice_lines WHERE invoice_id = NEW.id)
                 <> NEW.line_count THEN
                RAISE EXCEPTION 'invoice % was issued without all its % lines',
                  NEW.number, NEW.line_count;
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE CONSTRAINT TRIGGER invoices_lines_complete AFTER INSERT ON invoices "
            "DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION invoices_lines_complete()"
        )
        checks = "\n".join(
            f"IF {condition} THEN RAISE EXCEPTION '{message}'; END IF;"
            for _name, condition, message in rules
        )
        op.execute(
            f"""
            CREATE FUNCTION invoices_guarded() RETURNS trigger AS $$
            BEGIN
              {checks}
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER invoices_guarded BEFORE UPDATE ON invoices "
            "FOR EACH ROW EXECUTE FUNCTION invoices_guarded()"
        )
        op.execute(
            f"""
            CREATE FUNCTION number_sequences_forward() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'a number sequence is never deleted';
              END IF;
              IF TG_OP = 'INSERT' AND NEW.last <> 1 THEN
                RAISE EXCEPTION 'a number sequence starts at 1';
              END IF;
              IF TG_OP = 'UPDATE' AND ({SEQUENCE_MOVE_REFUSED}) THEN
                RAISE EXCEPTION 'a number sequence moves forward by one, under its name';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER number_sequences_forward BEFORE INSERT OR UPDATE OR DELETE "
            "ON number_sequences FOR EACH ROW EXECUTE FUNCTION number_sequences_forward()"
        )
        op.execute(
            """
            CREATE FUNCTION history_no_truncate() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '% is history: TRUNCATE is refused', TG_TABLE_NAME;
            END $$ LANGUAGE plpgsql;
            """
        )
        for table in HISTORY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION history_no_truncate()"
            )
        return

    # SQLite adds a CHECK to an existing table only by rebuilding it, which would
    # drop the triggers of revision 0002 and trip the foreign keys of invoice_lines
    # and credit notes: the status CHECK is a trigger on INSERT here, and an UPDATE
    # of the status is held by the status_moves rule.
    op.execute(
        f"CREATE TRIGGER invoices_status_known BEFORE INSERT ON invoices "
        f"WHEN NEW.status NOT IN {STATUSES} "
        "BEGIN SELECT RAISE(ABORT, 'a document status is issued, paid or void'); END"
    )
    op.execute(
        f"CREATE TRIGGER invoice_lines_within_count BEFORE INSERT ON invoice_lines "
        f"WHEN {line_outside} BEGIN SELECT RAISE(ABORT, '{line_message}'); END"
    )
    for name, condition, message in rules:
        op.execute(
            f"CREATE TRIGGER invoices_{name} BEFORE UPDATE ON invoices WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    op.execute(
        "CREATE TRIGGER number_sequences_start BEFORE INSERT ON number_sequences "
        "WHEN NEW.last <> 1 "
        "BEGIN SELECT RAISE(ABORT, 'a number sequence starts at 1'); END"
    )
    op.execute(
        "CREATE TRIGGER number_sequences_forward BEFORE UPDATE ON number_sequences "
        f"WHEN {SEQUENCE_MOVE_REFUSED} "
        "BEGIN SELECT RAISE(ABORT, 'a number sequence moves forward by one, under its name'); END"
    )
    op.execute(
        "CREATE TRIGGER number_sequences_no_delete BEFORE DELETE ON number_sequences "
        "BEGIN SELECT RAISE(ABORT, 'a number sequence is never deleted'); END"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in HISTORY_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION history_no_truncate()")
        op.execute("DROP TRIGGER number_sequences_forward ON number_sequences")
        op.execute("DROP FUNCTION number_sequences_forward()")
        op.execute("DROP TRIGGER invoices_guarded ON invoices")
        op.execute("DROP FUNCTION invoices_guarded()")
        op.execute("DROP TRIGGER invoices_lines_complete ON invoices")
        op.execute("DROP FUNCTION invoices_lines_complete()")
        op.execute("DROP TRIGGER invoice_lines_within_count ON invoice_lines")
        op.execute("DROP FUNCTION invoice_lines_within_count()")
        op.execute("ALTER TABLE invoices DROP CONSTRAINT ck_invoices_status")
    else:
        for trigger in (
            "number_sequences_no_delete",
            "number_sequences_forward",
            "number_sequences_start",
            *(f"invoices_{name}" for name, _condition, _message in _invoice_update_rules(dialect)),
            "invoice_lines_within_count",
            "invoices_status_known",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.execute("ALTER TABLE invoices DROP COLUMN line_count")
