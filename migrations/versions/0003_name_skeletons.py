"""Look-alike names: users.name_skeleton, the TR39 skeleton of each name, indexed.

Existing rows are backfilled from their names. The index is not unique: names stored
before this revision may already look alike, and both keep working (new sign-ups are
checked against every one of them).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pykcworkshop.chat.confusables import name_skeleton

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_users = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("name_skeleton", sa.String()),
)


def upgrade() -> None:
    """Add the column, fill it from every name, then index it and make it required."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_skeleton", sa.String(length=256), nullable=True))
    if op.get_context().as_sql:
        # Offline SQL cannot compute skeletons: the casefolded name stands in (exact for
        # ASCII names); an online upgrade fills in the real ones.
        op.execute("UPDATE users SET name_skeleton = name_key")
    else:
        connection = op.get_bind()
        for user_id, name in connection.execute(sa.select(_users.c.id, _users.c.name)).all():
            connection.execute(
                _users.update().where(_users.c.id == user_id).values(name_skeleton=name_skeleton(name))
            )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("name_skeleton", existing_type=sa.String(length=256), nullable=False)
        batch.create_index("ix_users_name_skeleton", ["name_skeleton"], unique=False)


def downgrade() -> None:
    """Drop the index and the column."""
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_name_skeleton")
        batch.drop_column("name_skeleton")
