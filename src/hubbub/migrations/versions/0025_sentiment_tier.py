"""Sentiment tier: which tier labelled each stored enrichment

Revision ID: 0025_sentiment_tier
Revises: 0024_mention_mails
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_sentiment_tier"
down_revision: str | None = "0024_mention_mails"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every enrichment stored before this came from the default tier.
    op.add_column(
        "post_enrichments",
        sa.Column("sentiment_tier", sa.String(16), server_default="default", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("post_enrichments") as batch:
        batch.drop_column("sentiment_tier")
