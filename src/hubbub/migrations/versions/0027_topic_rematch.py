"""Re-matching a topic's stored posts after its rule changed: the pending mark and its cursor

Revision ID: 0027_topic_rematch
Revises: 0026_topic_sentiment
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_topic_rematch"
down_revision: str | None = "0026_topic_sentiment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every existing topic: nothing is waiting to be matched again.
    op.add_column(
        "topics", sa.Column("rematch_requested_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("topics", sa.Column("rematch_cursor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("topics") as batch:
        batch.drop_column("rematch_cursor")
        batch.drop_column("rematch_requested_at")
