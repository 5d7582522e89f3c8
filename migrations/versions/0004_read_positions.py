"""Read positions and mentions: room_members.last_read_id, message_mentions, a (room_id, id) index.

Existing members start with everything read (their position is the room's newest message),
so an upgrade does not light up every room.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("room_members") as batch:
        batch.add_column(sa.Column("last_read_id", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE room_members SET last_read_id = COALESCE("
        "(SELECT MAX(id) FROM chat_messages WHERE chat_messages.room_id = room_members.room_id), 0)"
    )
    op.create_index("ix_chat_messages_room_id_id", "chat_messages", ["room_id", "id"], unique=False)
    op.create_table(
        "message_mentions",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "user_id"),
    )
    op.create_index(
        "ix_message_mentions_user_room_message",
        "message_mentions",
        ["user_id", "room_id", "message_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_message_mentions_user_room_message", table_name="message_mentions")
    op.drop_table("message_mentions")
    op.drop_index("ix_chat_messages_room_id_id", table_name="chat_messages")
    with op.batch_alter_table("room_members") as batch:
        batch.drop_column("last_read_id")
