"""Message edits: chat_messages.edited_at, when the author last edited the text.

Existing messages were never edited: the column starts NULL everywhere.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    # A nullable column without a default: a plain ALTER TABLE on both engines (SQLite
    # adds it without copying the table).
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this migration (edit times are lost; the edited texts stay)."""
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_column("edited_at")
