"""documents AP teams accept: the seller's settings, the account's billing details,
each document's parties and terms as they were when it was issued, and the PDF of each
document kept once rendered

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import seatledger.adapters.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# what a document keeps of its parties and terms: written with it, never changed
_DOCUMENT_TERMS = (
    "seller",
    "buyer",
    "due_date",
    "payment_method",
    "payment_terms_days",
    "locale",
    "tax_rate",
)


def upgrade() -> None:
    op.create_table(
        "seller_settings",
        # NOTE: one row: the installation is the seller of every document.
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address_lines", sa.Text(), nullable=False),  # JSON list of lines
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_id", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "updated_at", seatledger.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_seller_settings_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_settings")),
    )
    op.add_column("accounts", sa.Column("billing", sa.Text(), nullable=True))  # JSON Party
    op.add_column("invoices", sa.Column("seller", sa.Text(), nullable=True))  # JSON Party
    op.add_column("invoices", sa.Column("buyer", sa.Text(), nullable=True))  # JSON Party
    op.add_column("invoices", sa.Column("due_date", sa.Date(), nullable=True))
    op.add_column("invoices", sa.Column("payment_method", sa.String(length=20), nullable=True))
    op.add_column("invoices", sa.Column("payment_terms_days", sa.Integer(), nullable=True))
    op.add_column("invoices", sa.Column("locale", sa.String(length=35), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("tax_rate", seatledger.adapters.db.types.Money(length=40), nullable=True),
    )
    op.create_table(
        "invoice_pdfs",
        # NOTE: insert-only: a document's PDF is rendered once and kept as it was.
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column(
            "rendered_at", seatledger.adapters.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_pdfs_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_pdfs")),
    )
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _DOCUMENT_TERMS)
        op.execute(
            """
            CREATE FUNCTION refuse_change() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            f"CREATE TRIGGER invoices_terms_frozen BEFORE UPDATE ON invoices FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER invoice_pdfs_insert_only BEFORE UPDATE OR DELETE ON invoice_pdfs "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER invoice_pdfs_no_truncate BEFORE TRUNCATE ON invoice_pdfs "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
    else:
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _DOCUMENT_TERMS)
        op.execute(
            f"CREATE TRIGGER invoices_terms_frozen BEFORE UPDATE ON invoices WHEN {changed} "
            "BEGIN SELECT RAISE(ABORT, 'invoices is insert-only'); END"
        )
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER invoice_pdfs_no_{action.lower()} BEFORE {action} ON invoice_pdfs "
                "BEGIN SELECT RAISE(ABORT, 'invoice_pdfs is insert-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoice_pdfs_no_truncate ON invoice_pdfs")
        op.execute("DROP TRIGGER IF EXISTS invoice_pdfs_insert_only ON invoice_pdfs")
        op.execute("DROP TRIGGER IF EXISTS invoices_terms_frozen ON invoices")
        op.execute("DROP FUNCTION IF EXISTS refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS invoice_pdfs_no_update")
        op.execute("DROP TRIGGER IF EXISTS invoice_pdfs_no_delete")
        op.execute("DROP TRIGGER IF EXISTS invoices_terms_frozen")
    op.drop_table("invoice_pdfs")
    for column in reversed(_DOCUMENT_TERMS):
        op.drop_column("invoices", column)
    op.drop_column("accounts", "billing")
    op.drop_table("seller_settings")
