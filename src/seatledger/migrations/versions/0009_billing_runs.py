"""billing runs: runs and their batches, the job queue's tables (procrastinate,
PostgreSQL only), and documents numbered at their transaction's end

Revision ID: 0009
Revises: 0008

A billing run bills its accounts in batches; a batch is one transaction that
takes its documents' numbers once, at its end. So a document is inserted as a
draft whose number is its id, and numbered before the commit; the guards of
0002 and 0003 move with it:

- invoices_frozen: the number changes once, from the draft (the id) to another
  value, and never again;
- number_sequences: a sequence starts at 1 or more and only moves forward, and
  only over numbers that documents carry: each move is checked at once against
  the documents (numbered before the move), so no number is ever skipped;
- PostgreSQL, at commit: no document is left a draft (with the check that all its
  lines are written, invoices_lines_complete).

The job queue is procrastinate's schema at the version pyproject.toml pins
(migrations/sql/procrastinate-<version>.sql, a copy of the package's
procrastinate/sql/schema.sql); a later version comes with a migration of ours.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import op

import seatledger.adapters.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Instant = seatledger.adapters.db.types.UTCDateTime
PROCRASTINATE_VERSION = "3.10.0"
PROCRASTINATE_SCHEMA = (
    Path(__file__).resolve().parents[1] / "sql" / f"procrastinate-{PROCRASTINATE_VERSION}.sql"
)
PROCRASTINATE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
PROCRASTINATE_TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)

# 0002: what an issued document never changes.
_FROZEN = (
    "key",
    "type",
    "kind",
    "issued_at",
    "period_start",
    "period_end",
    "currency",
    "subtotal",
    "tax",
    "total",
    "credited_invoice_id",
    "account_id",
)
# the number: once, from the draft's (its id) to its own
_NUMBER_MOVED = (
    "NEW.number {differs} OLD.number AND NOT (OLD.number = OLD.id AND NEW.number <> NEW.id)"
)
_SEQUENCE_MESSAGE = "a number sequence moves forward only over numbers its documents carry"


def _frozen_condition(differs: str, *, numbered_once: bool) -> str:
    terms = [f"NEW.{c} {differs} OLD.{c}" for c in _FROZEN]
    if numbered_once:
        terms.append(f"({_NUMBER_MOVED.format(differs=differs)})")
    else:
        terms.append(f"NEW.number {differs} OLD.number")
    return " OR ".join(terms)


def _pg_invoices_frozen(numbered_once: bool) -> str:
    changed = _frozen_condition("IS DISTINCT FROM", numbered_once=numbered_once)
    return f"""
        CREATE OR REPLACE FUNCTION invoices_frozen() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'DELETE' OR {changed} THEN
            RAISE EXCEPTION 'issued invoices are immutable';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql;
        """


def _pg_number_sequences_forward(moves_by_one: bool) -> str:
    if moves_by_one:  # 0003
        start, moved = "NEW.last <> 1", "NEW.name <> OLD.name OR NEW.last <> OLD.last + 1"
        messages = (
            "a number sequence starts at 1",
            "a number sequence moves forward by one, under its name",
        )
    else:
        start, moved = "NEW.last < 1", "NEW.name <> OLD.name OR NEW.last <= OLD.last"
        messages = (
            "a number sequence starts at 1 or more",
            "a number sequence moves forward, under its name",
        )
    return f"""
        CREATE OR REPLACE FUNCTION number_sequences_forward() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'a number sequence is never deleted';
          END IF;
          IF TG_OP = 'INSERT' AND {start} THEN
            RAISE EXCEPTION '{messages[0]}';
          END IF;
          IF TG_OP = 'UPDATE' AND ({moved}) THEN
            RAISE EXCEPTION '{messages[1]}';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql;
        """


def _pg_invoices_lines_complete(numbered: bool) -> str:
    if not numbered:  # 0003
        return """
            CREATE OR REPLACE FUNCTION invoices_lines_complete() RETURNS trigger AS $$
            BEGIN
              IF (SELECT count(*) FROM invoice_lines WHERE invoice_id = NEW.id)
                 <> NEW.line_count THEN
                RAISE EXCEPTION 'invoice % was issued without all its % lines',
                  NEW.number, NEW.line_count;
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql;
            """
    # NOTE: deferred to the commit: NEW is the row as inserted (the draft); the
    # row as it is now says whether it was numbered.
    return """
        CREATE OR REPLACE FUNCTION invoices_lines_complete() RETURNS trigger AS $$
        DECLARE
          final_number text;
          lines bigint;
        BEGIN
          SELECT i.number, (SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id)
            INTO final_number, lines FROM invoices i WHERE i.id = NEW.id;
          IF final_number = NEW.id THEN
            RAISE EXCEPTION 'document % was committed without a number', NEW.id;
          END IF;
          IF lines <> NEW.line_count THEN
            RAISE EXCEPTION 'invoice % was issued without all its % lines',
              final_number, NEW.line_count;
          END IF;
          RETURN NULL;
        END $$ LANGUAGE plpgsql;
        """


# The numbers a move of a sequence takes, (first, NEW.last], all carried by documents.
_PG_SEQUENCE_USED = f"""
    CREATE FUNCTION number_sequences_used() RETURNS trigger AS $$
    DECLARE
      first_taken bigint := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE OLD.last + 1 END;
    BEGIN
      IF (SELECT count(*) FROM invoices WHERE number IN (
            SELECT NEW.name || '-' ||
                   CASE WHEN s < 1000000 THEN lpad(s::text, 6, '0') ELSE s::text END
            FROM generate_series(first_taken, NEW.last) AS s))
         <> NEW.last - first_taken + 1 THEN
        RAISE EXCEPTION '{_SEQUENCE_MESSAGE}: % to % of % are not all on documents',
          first_taken, NEW.last, NEW.name;
      END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql;
    """


def _sqlite_taken_unused(first: str) -> str:
    """SQLite (no series in a trigger): how many numbers of (first - 1, NEW.last]
    no document carries, by an index range on the number while it has 6 digits."""
    prefix = "NEW.name || '-'"
    six = (
        f"(SELECT count(*) FROM invoices WHERE number BETWEEN {prefix} || printf('%06d', {first}) "
        f"AND {prefix} || printf('%06d', NEW.last) AND length(number) = length(NEW.name) + 7)"
    )
    longer = (
        f"(SELECT count(*) FROM invoices WHERE substr(number, 1, length(NEW.name) + 1) = {prefix} "
        f"AND CAST(substr(number, length(NEW.name) + 2) AS INTEGER) BETWEEN {first} AND NEW.last)"
    )
    return (
        f"(CASE WHEN NEW.last < 1000000 THEN {six} ELSE {longer} END) <> NEW.last - ({first}) + 1"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("as_of", Instant(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("batches_total", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("accounts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("invoices_issued", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failures", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("started_at", Instant(timezone=True), nullable=False),
        sa.Column("finished_at", Instant(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('running', 'done')", name=op.f("ck_billing_runs_status")),
        sa.CheckConstraint(
            "batches_done BETWEEN 0 AND batches_total", name=op.f("ck_billing_runs_batches")
        ),
        sa.CheckConstraint(
            "(status = 'done') = (batches_done = batches_total AND finished_at IS NOT NULL)",
            name=op.f("ck_billing_runs_done"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
    )
    op.create_index("ix_billing_runs_started_at", "billing_runs", ["started_at"])
    op.create_table(
        "billing_run_batches",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("done_at", Instant(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["billing_runs.id"], name=op.f("fk_billing_run_batches_run_id_billing_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "batch", name=op.f("pk_billing_run_batches")),
    )

    if dialect == "postgresql":
        op.execute(_pg_invoices_frozen(numbered_once=True))
        op.execute(_pg_number_sequences_forward(moves_by_one=False))
        op.execute(_pg_invoices_lines_complete(numbered=True))
        op.execute(_PG_SEQUENCE_USED)
        op.execute(
            "CREATE TRIGGER number_sequences_used AFTER INSERT OR UPDATE ON number_sequences "
            "FOR EACH ROW EXECUTE FUNCTION number_sequences_used()"
        )
        # procrastinate's own SQL, run as it is (no bind parameters: % stays %)
        raw = op.get_bind().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute(PROCRASTINATE_SCHEMA.read_text(encoding="utf-8"))
        return

    op.execute("DROP TRIGGER invoices_frozen")
    op.execute(
        "CREATE TRIGGER invoices_frozen BEFORE UPDATE ON invoices "
        f"WHEN {_frozen_condition('IS NOT', numbered_once=True)} "
        "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END"
    )
    for name in ("number_sequences_start", "number_sequences_forward"):
        op.execute(f"DROP TRIGGER {name}")
    op.execute(
        "CREATE TRIGGER number_sequences_start BEFORE INSERT ON number_sequences "
        "WHEN NEW.last < 1 "
        "BEGIN SELECT RAISE(ABORT, 'a number sequence starts at 1 or more'); END"
    )
    op.execute(
        "CREATE TRIGGER number_sequences_forward BEFORE UPDATE ON number_sequences "
        "WHEN NEW.name <> OLD.name OR NEW.last <= OLD.last "
        "BEGIN SELECT RAISE(ABORT, 'a number sequence moves forward, under its name'); END"
    )
    op.execute(
        "CREATE TRIGGER number_sequences_used_insert AFTER INSERT ON number_sequences "
        f"WHEN {_sqlite_taken_unused('1')} "
        f"BEGIN SELECT RAISE(ABORT, '{_SEQUENCE_MESSAGE}'); END"
    )
    op.execute(
        "CREATE TRIGGER number_sequences_used_update AFTER UPDATE ON number_sequences "
        f"WHEN {_sqlite_taken_unused('OLD.last + 1')} "
        f"BEGIN SELECT RAISE(ABORT, '{_SEQUENCE_MESSAGE}'); END"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in PROCRASTINATE_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        op.execute(
            """
            DO $$
            DECLARE f record;
            BEGIN
              FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc
                       WHERE proname LIKE 'procrastinate\\_%'
                         AND pronamespace = 'public'::regnamespace
              LOOP
                EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE';
              END LOOP;
            END $$;
            """
        )
        for type_ in PROCRASTINATE_TYPES:
            op.execute(f"DROP TYPE IF EXISTS {type_} CASCADE")
        op.execute("DROP TRIGGER number_sequences_used ON number_sequences")
        op.execute("DROP FUNCTION number_sequences_used()")
        op.execute(_pg_invoices_lines_complete(numbered=False))
        op.execute(_pg_number_sequences_forward(moves_by_one=True))
        op.execute(_pg_invoices_frozen(numbered_once=False))
    else:
        for name in (
            "number_sequences_used_update",
            "number_sequences_used_insert",
            "number_sequences_forward",
            "number_sequences_start",
            "invoices_frozen",
        ):
            op.execute(f"DROP TRIGGER {name}")
        op.execute(
            "CREATE TRIGGER invoices_frozen BEFORE UPDATE ON invoices "
            f"WHEN {_frozen_condition('IS NOT', numbered_once=False)} "
            "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END"
        )
        op.execute(
            "CREATE TRIGGER number_sequences_start BEFORE INSERT ON number_sequences "
            "WHEN NEW.last <> 1 "
            "BEGIN SELECT RAISE(ABORT, 'a number sequence starts at 1'); END"
        )
        op.execute(
            "CREATE TRIGGER number_sequences_forward BEFORE UPDATE ON number_sequences "
            "WHEN NEW.name <> OLD.name OR NEW.last <> OLD.last + 1 "
            "BEGIN SELECT RAISE(ABORT, "
            "'a number sequence moves forward by one, under its name'); END"
        )
    op.drop_table("billing_run_batches")
    op.drop_index("ix_billing_runs_started_at", table_name="billing_runs")
    op.drop_table("billing_runs")
