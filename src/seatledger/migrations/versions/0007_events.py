"""events: the hash-chained audit log and its chain heads, the webhook endpoints
and their outbox of deliveries, SCIM tokens, external ids for SCIM

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import seatledger.adapters.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Instant = seatledger.adapters.db.types.UTCDateTime
INSTALLATION_CHAIN = "installation"  # domain.audit.INSTALLATION_CHAIN


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("users", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index("ix_users_account_external_id", "users", ["account_id", "external_id"])
    op.add_column("workspaces", sa.Column("external_id", sa.String(length=255), nullable=True))

    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("hash", sa.String(length=64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_heads")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_audit_heads_position")),
    )
    op.execute(
        f"INSERT INTO audit_heads (chain, position, hash) VALUES ('{INSTALLATION_CHAIN}', 0, '')"
    )
    op.execute("INSERT INTO audit_heads (chain, position, hash) SELECT id, 0, '' FROM accounts")
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("at", Instant(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_audit_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("chain", "position", name="uq_audit_events_chain_position"),
    )
    op.create_index(
        "ix_audit_events_account_type_position", "audit_events", ["account_id", "type", "position"]
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("deleted_at", Instant(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhook_endpoints_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", Instant(timezone=True), nullable=True),
        sa.Column("last_attempt_at", Instant(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("delivered_at", Instant(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_audit_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_deliveries_attempts")),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "created_at"]
    )
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("last_used_at", Instant(timezone=True), nullable=True),
        sa.Column("revoked_at", Instant(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_scim_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    op.create_index("ix_scim_tokens_account_id", "scim_tokens", ["account_id"])
    _guards(dialect)


# NOTE: the audit log is history: an entry is never changed or removed, a chain's
# head position never moves back and a head is never removed (so a deletion of the
# last entries leaves a head longer than its chain: `seatledger audit verify`).
_HEAD_MOVES_BACK = "NEW.position < OLD.position OR NEW.chain <> OLD.chain"


def _guards(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'audit_events is append-only';
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            f"""
            CREATE FUNCTION audit_heads_forward_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' OR {_HEAD_MOVES_BACK} THEN
                RAISE EXCEPTION 'an audit chain head only moves forward and is never removed';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE OR DELETE ON audit_heads "
            "FOR EACH ROW EXECUTE FUNCTION audit_heads_forward_only()"
        )
        for table in ("audit_events", "audit_heads"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION history_no_truncate()"
            )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
    op.execute(
        "CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE ON audit_heads "
        f"WHEN {_HEAD_MOVES_BACK} BEGIN SELECT RAISE(ABORT, "
        "'an audit chain head only moves forward and is never removed'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads BEGIN SELECT "
        "RAISE(ABORT, 'an audit chain head only moves forward and is never removed'); END"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in ("audit_events", "audit_heads"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_heads_forward_only ON audit_heads")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_heads_forward_only()")
    else:
        for name in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_heads_forward_only",
            "audit_heads_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_scim_tokens_account_id", table_name="scim_tokens")
    op.drop_table("scim_tokens")
    op.drop_index("ix_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_audit_events_account_type_position", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("audit_heads")
    op.drop_column("workspaces", "external_id")
    op.drop_index("ix_users_account_external_id", table_name="users")
    op.drop_column("users", "external_id")
