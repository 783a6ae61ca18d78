"""people and integrators: user tokens (opaque, stored as hashes, with an expiry),
operator keys' last use and revocation, idempotency keys

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import seatledger.adapters.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Instant = seatledger.adapters.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "user_tokens",
        # NOTE: a sign-in (or an operator-minted integration token): only its hash is
        # kept. Every request checks the user as it is now (status, valid_to, role).
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),  # the role it was issued for
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("expires_at", Instant(timezone=True), nullable=False),
        sa.Column("revoked_at", Instant(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_user_tokens_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_tokens_token_hash")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_user_tokens_expiry")),
    )
    op.create_index("ix_user_tokens_user", "user_tokens", ["user_id"])
    op.add_column("operator_keys", sa.Column("last_used_at", Instant(timezone=True), nullable=True))
    op.add_column("operator_keys", sa.Column("revoked_at", Instant(timezone=True), nullable=True))
    op.create_table(
        "idempotency_keys",
        # NOTE: claimed by this unique insert in the same transaction as the effect:
        # a concurrent retry waits on it, then replays the stored answer.
        sa.Column("caller", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),  # method, path, body
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_column("operator_keys", "revoked_at")
    op.drop_column("operator_keys", "last_used_at")
    op.drop_index("ix_user_tokens_user", table_name="user_tokens")
    op.drop_table("user_tokens")
