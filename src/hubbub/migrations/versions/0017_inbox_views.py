"""Who has a conversation open: collision warnings and unread mentions

Revision ID: 0017_inbox_views
Revises: 0016_source_lag
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_inbox_views"
down_revision: str | None = "0016_source_lag"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbox_views",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["inbox_conversations.id"],
            name=op.f("fk_inbox_views_conversation_id_inbox_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_inbox_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_views")),
    )
    op.create_index(
        "uq_inbox_views_conversation_user",
        "inbox_views",
        ["conversation_id", "user_id"],
        unique=True,
    )
    op.create_index("ix_inbox_views_user", "inbox_views", ["user_id"])


def downgrade() -> None:
    op.drop_table("inbox_views")
