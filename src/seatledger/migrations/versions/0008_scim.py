"""scim: the emails an identity provider lists for a user, workspaces deleted
(SCIM Groups) and their last change

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import seatledger.adapters.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Instant = seatledger.adapters.db.types.UTCDateTime

# NOTE: the default workspace is no SCIM Group and is never deleted; a deleted
# workspace stays deleted (invitations and the audit log still name it).
_DEFAULT_DELETED = "NEW.is_default AND NEW.deleted_at IS NOT NULL"
_UNDELETED = "OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL"
_MESSAGE = "the default workspace is never deleted, and a deleted workspace stays deleted"


def upgrade() -> None:
    # JSON: [{"value", "type", "primary"}], as the identity provider sent them.
    op.add_column("users", sa.Column("listed_emails", sa.Text(), nullable=True))
    op.add_column("workspaces", sa.Column("updated_at", Instant(timezone=True), nullable=True))
    op.add_column("workspaces", sa.Column("deleted_at", Instant(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION workspaces_deletion_guard() RETURNS trigger AS $$
            BEGIN
              IF ({_DEFAULT_DELETED}) OR ({_UNDELETED}) THEN
                RAISE EXCEPTION '{_MESSAGE}';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER workspaces_deletion_guard BEFORE UPDATE ON workspaces "
            "FOR EACH ROW EXECUTE FUNCTION workspaces_deletion_guard()"
        )
        return
    op.execute(
        "CREATE TRIGGER workspaces_deletion_guard BEFORE UPDATE ON workspaces "
        f"WHEN ({_DEFAULT_DELETED}) OR ({_UNDELETED}) "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS workspaces_deletion_guard ON workspaces")
        op.execute("DROP FUNCTION IF EXISTS workspaces_deletion_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS workspaces_deletion_guard")
    op.drop_column("workspaces", "deleted_at")
    op.drop_column("workspaces", "updated_at")
    op.drop_column("users", "listed_emails")
