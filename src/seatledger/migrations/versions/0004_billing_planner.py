"""billing planner: contract terms (anchor, trial, renewal capacity, minimum spend,
quarter and half-year intervals), each account's billing state, its payment terms and
locale

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import seatledger.adapters.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CONTRACT_CHECKS = {
    "trial": "trial_end IS NULL OR trial_end > start_date",
    "interval": "billing_interval IN ('month', 'quarter', 'half_year', 'year')",
    "renewal_capacity": "renewal_capacity IN ('carry', 'in_use')",
    "minimum_spend": "minimum_spend IS NULL OR CAST(minimum_spend AS NUMERIC) "
    "BETWEEN 0 AND 1000000000000000",
}
# NOTE: the input bounds (domain/contracts.py: MAX_CAPACITY, MAX_UNIT_PRICE) that keep
# every invoice within the money columns, guarded by the database too. Money is text
# on SQLite, hence the casts.
_POOL_TERMS_BOUNDS = (
    "capacity BETWEEN 0 AND 1000000 AND minimum BETWEEN 0 AND 1000000 "
    "AND CAST(unit_price AS NUMERIC) BETWEEN 0 AND 1000000000"
)
_TARGET_BOUNDS = "target_capacity BETWEEN 0 AND 1000000"


# (table, name, condition): real CHECKs on PostgreSQL; on SQLite, where adding a CHECK
# means rebuilding the table (which the foreign keys pointing at it refuse), triggers
# that refuse a row breaking them on INSERT and UPDATE.
_CHECKS = [("contracts", name, condition) for name, condition in _CONTRACT_CHECKS.items()] + [
    ("accounts", "payment_terms_days", "payment_terms_days BETWEEN 0 AND 365"),
    ("contract_pools", "bounds", _POOL_TERMS_BOUNDS),
    ("seat_requests", "target_bounds", _TARGET_BOUNDS),
]


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("payment_terms_days", sa.Integer(), nullable=False, server_default="30"),
    )
    op.add_column(
        "accounts", sa.Column("locale", sa.String(length=35), nullable=False, server_default="en")
    )
    op.add_column("contracts", sa.Column("billing_anchor", sa.Date(), nullable=True))
    op.add_column("contracts", sa.Column("trial_end", sa.Date(), nullable=True))
    op.add_column(
        "contracts",
        sa.Column("renewal_capacity", sa.String(length=10), nullable=False, server_default="carry"),
    )
    op.add_column(
        "contracts",
        sa.Column("minimum_spend", seatledger.adapters.db.types.Money(length=40), nullable=True),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, name, condition in _CHECKS:
        if postgres:
            op.create_check_constraint(name, table, condition)
            continue
        for action in ("insert", "update"):
            op.execute(
                f"CREATE TRIGGER ck_{table}_{name}_{action} BEFORE {action.upper()} ON {table} "
                f"WHEN NOT ({_new(condition)}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {table}.{name}'); END"
            )
    op.create_table(
        "billing_states",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("since", seatledger.adapters.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("base", sa.Text(), nullable=False, server_default="{}"),
        sa.Column(
            "billed_through", seatledger.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("pending", sa.Text(), nullable=False, server_default="[]"),
        sa.Column(
            "next_due_at", seatledger.adapters.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_billing_states_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_states")),
    )
    op.create_index("ix_billing_states_next_due_at", "billing_states", ["next_due_at"])
    op.create_index("ix_billing_markers_account_done", "billing_markers", ["account_id", "done_at"])
    op.create_index("ix_seat_ledger_account_at", "seat_ledger", ["account_id", "at"])
    # NOTE: accounts billed before this revision start from the beginning of their
    # history once (since NULL) and are due at once.
    op.execute(
        "INSERT INTO billing_states (account_id, base, pending, next_due_at) "
        "SELECT DISTINCT account_id, '{}', '[]', MIN(created_at) FROM contracts "
        "GROUP BY account_id"
    )


def _new(condition: str) -> str:
    """The condition on the row being written (NEW.column)."""
    import re

    columns = (
        "payment_terms_days",
        "billing_interval",
        "renewal_capacity",
        "minimum_spend",
        "trial_end",
        "start_date",
        "capacity",
        "minimum",
        "unit_price",
        "target_capacity",
    )
    return re.sub(r"\b(" + "|".join(columns) + r")\b", r"NEW.\1", condition)


def downgrade() -> None:
    op.drop_index("ix_seat_ledger_account_at", table_name="seat_ledger")
    op.drop_index("ix_billing_markers_account_done", table_name="billing_markers")
    op.drop_index("ix_billing_states_next_due_at", table_name="billing_states")
    op.drop_table("billing_states")
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, name, _condition in _CHECKS:
        if postgres:
            op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        else:
            for action in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS ck_{table}_{name}_{action}")
    for column in ("minimum_spend", "renewal_capacity", "trial_end", "billing_anchor"):
        op.drop_column("contracts", column)
    for column in ("locale", "payment_terms_days"):
        op.drop_column("accounts", column)
