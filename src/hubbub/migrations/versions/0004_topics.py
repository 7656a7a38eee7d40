"""Topics, topic matches, post enrichments and hourly rollups

Revision ID: 0004_topics
Revises: 0003_accounts
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004_topics"
down_revision: str | None = "0003_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def _cell() -> list[sa.Column[Any]]:
    """The dimensions shared by a rollup cell and its author set."""
    return [
        sa.Column("topic_id", ID, nullable=False),
        sa.Column("hour", TIME, nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("sentiment_label", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        _fk("topics", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
    )
    op.create_index("uq_topics_workspace_name", "topics", ["workspace_id", "name"], unique=True)

    op.create_table(
        "topic_matches",
        sa.Column("topic_id", ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        _fk("topic_matches", "topic_id", "topics"),
        _fk("topic_matches", "post_id", "posts"),
        _fk("topic_matches", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("topic_id", "post_id", name=op.f("pk_topic_matches")),
    )
    op.create_index("ix_topic_matches_topic_created", "topic_matches", ["topic_id", "created_at"])
    op.create_index("ix_topic_matches_post", "topic_matches", ["post_id"])
    op.create_index(
        "ix_topic_matches_workspace_created", "topic_matches", ["workspace_id", "created_at"]
    )

    op.create_table(
        "post_enrichments",
        sa.Column("post_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("lang_detected", sa.Boolean(), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("sentiment_label", sa.String(length=16), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        _fk("post_enrichments", "post_id", "posts"),
        _fk("post_enrichments", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_enrichments")),
    )
    op.create_index("ix_post_enrichments_workspace", "post_enrichments", ["workspace_id"])

    op.create_table(
        "hourly_rollups",
        *_cell(),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("unique_authors", sa.Integer(), nullable=False),
        sa.Column("potential_reach", sa.BigInteger(), nullable=False),
        sa.Column("engagement", sa.BigInteger(), nullable=False),
        _fk("hourly_rollups", "topic_id", "topics"),
        _fk("hourly_rollups", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint(
            "topic_id",
            "hour",
            "network",
            "sentiment_label",
            "lang",
            name=op.f("pk_hourly_rollups"),
        ),
    )
    op.create_index("ix_hourly_rollups_workspace_hour", "hourly_rollups", ["workspace_id", "hour"])

    op.create_table(
        "hourly_rollup_authors",
        *_cell(),
        sa.Column("author_id", ID, nullable=False),
        _fk("hourly_rollup_authors", "topic_id", "topics"),
        _fk("hourly_rollup_authors", "author_id", "authors"),
        sa.PrimaryKeyConstraint(
            "topic_id",
            "hour",
            "network",
            "sentiment_label",
            "lang",
            "author_id",
            name=op.f("pk_hourly_rollup_authors"),
        ),
    )


def downgrade() -> None:
    for table in (
        "hourly_rollup_authors",
        "hourly_rollups",
        "post_enrichments",
        "topic_matches",
        "topics",
    ):
        op.drop_table(table)
