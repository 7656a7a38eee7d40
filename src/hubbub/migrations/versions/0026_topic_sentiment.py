"""Aspect sentiment: a per-topic verdict on matches of posts naming several topics

Revision ID: 0026_topic_sentiment
Revises: 0025_sentiment_tier
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_topic_sentiment"
down_revision: str | None = "0025_sentiment_tier"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every existing match: it was counted under its post's label, and stays so.
    op.add_column("topic_matches", sa.Column("sentiment_label", sa.String(16), nullable=True))
    op.add_column("topic_matches", sa.Column("sentiment_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("topic_matches") as batch:
        batch.drop_column("sentiment_score")
        batch.drop_column("sentiment_label")
