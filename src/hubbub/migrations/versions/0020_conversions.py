"""Conversions recorded per workspace (CSV import, API), keyed by the reporter's own id

Revision ID: 0020_conversions
Revises: 0019_author_rollups
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_conversions"
down_revision: str | None = "0019_author_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_conversions_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "conversions",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("topic_id", ID, nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=4, asdecimal=False), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        _fk("workspace_id", "workspaces", "CASCADE"),
        _fk("topic_id", "topics", "SET NULL"),
        _fk("created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversions")),
    )
    op.create_index(
        "uq_conversions_workspace_external",
        "conversions",
        ["workspace_id", "external_id"],
        unique=True,
    )
    op.create_index(
        "ix_conversions_workspace_occurred", "conversions", ["workspace_id", "occurred_at"]
    )
    op.create_index("ix_conversions_topic_occurred", "conversions", ["topic_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_conversions_topic_occurred", table_name="conversions")
    op.drop_index("ix_conversions_workspace_occurred", table_name="conversions")
    op.drop_index("uq_conversions_workspace_external", table_name="conversions")
    op.drop_table("conversions")
