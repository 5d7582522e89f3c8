"""Moderation: roles and mutes on memberships, room bans, soft-deleted messages.

Upgrades a database made by 0001 with its data: every room's owner gets the role
``owner``, every other member ``member``; no message is deleted, nobody is banned or muted.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    # batch_alter_table: SQLite cannot add a foreign key to an existing table, so there the
    # table is copied; PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table("room_members") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), server_default="member", nullable=False))
        batch.add_column(sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE room_members SET role = 'owner' WHERE EXISTS (SELECT 1 FROM rooms"
        " WHERE rooms.id = room_members.room_id AND rooms.owner_id = room_members.user_id)"
    )
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deleted_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_chat_messages_deleted_by_users", "users", ["deleted_by"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "room_bans",
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "user_id"),
    )


def downgrade() -> None:
    """Revert this migration (bans, mutes, roles and deletion marks are lost)."""
    op.drop_table("room_bans")
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_constraint("fk_chat_messages_deleted_by_users", type_="foreignkey")
        batch.drop_column("deleted_by")
        batch.drop_column("deleted_at")
    with op.batch_alter_table("room_members") as batch:
        batch.drop_column("muted_until")
        batch.drop_column("role")
