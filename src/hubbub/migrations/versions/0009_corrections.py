"""Sentiment and intent corrections, per-workspace calibration

Revision ID: 0009_corrections
Revises: 0008_inbox
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_corrections"
down_revision: str | None = "0008_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "enrichment_corrections",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("token_id", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("label", sa.String(length=16), nullable=True),
        sa.Column("intents", sa.JSON(), nullable=True),
        sa.Column("model_label", sa.String(length=16), nullable=False),
        sa.Column("model_score", sa.Float(), nullable=False),
        sa.Column("model_intents", sa.JSON(), nullable=False),
        sa.Column("model_proba", sa.JSON(), nullable=False),
        _fk("enrichment_corrections", "workspace_id", "workspaces", "CASCADE"),
        _fk("enrichment_corrections", "post_id", "posts", "CASCADE"),
        _fk("enrichment_corrections", "user_id", "users", "SET NULL"),
        _fk("enrichment_corrections", "token_id", "api_tokens", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_corrections")),
    )
    op.create_index(
        "ix_enrichment_corrections_workspace", "enrichment_corrections", ["workspace_id", "id"]
    )
    op.create_index("ix_enrichment_corrections_post", "enrichment_corrections", ["post_id", "id"])

    op.create_table(
        "sentiment_calibrations",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fitted_at", TIME, nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        _fk("sentiment_calibrations", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_sentiment_calibrations")),
    )


def downgrade() -> None:
    op.drop_table("sentiment_calibrations")
    op.drop_index("ix_enrichment_corrections_post", table_name="enrichment_corrections")
    op.drop_index("ix_enrichment_corrections_workspace", table_name="enrichment_corrections")
    op.drop_table("enrichment_corrections")
