"""Daily term rollups: posts per term × day × topic × network × sentiment class × language

Revision ID: 0015_term_rollups
Revises: 0014_inbox_indexes
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_term_rollups"
down_revision: str | None = "0014_inbox_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Existing matches get their terms from `hubbub topic backfill --terms`.
    op.create_table(
        "term_rollups",
        sa.Column("topic_id", ID, nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("sentiment_label", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_term_rollups_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_term_rollups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "topic_id",
            "day",
            "network",
            "sentiment_label",
            "lang",
            "term",
            name=op.f("pk_term_rollups"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_term_rollups_workspace_day", "term_rollups", ["workspace_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_term_rollups_workspace_day", table_name="term_rollups")
    op.drop_table("term_rollups")
