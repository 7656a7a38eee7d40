"""Author marks (advocate, employee, partner, competitor, blocked)

Revision ID: 0005_graph
Revises: 0004_topics
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_graph"
down_revision: str | None = "0004_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "author_marks",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("mark", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_author_marks_author_id_authors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_author_marks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_marks")),
    )
    op.create_index(
        "uq_author_marks_author_mark", "author_marks", ["author_id", "mark"], unique=True
    )
    op.create_index("ix_author_marks_workspace", "author_marks", ["workspace_id", "mark"])


def downgrade() -> None:
    op.drop_index("ix_author_marks_workspace", table_name="author_marks")
    op.drop_index("uq_author_marks_author_mark", table_name="author_marks")
    op.drop_table("author_marks")
