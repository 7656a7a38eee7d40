"""Inbox: when the customer deleted every post of theirs in a conversation

``inbox_conversations.withdrawn_at`` is set when a conversation is closed because nothing the
customer wrote in it is left on the network, and cleared when they post in the thread again.

Revision ID: 0030_conversation_withdrawn
Revises: 0029_rollup_cover
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_conversation_withdrawn"
down_revision: str | None = "0029_rollup_cover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Conversations whose posts were deleted before this are found by the worker's first
    # tick after the upgrade (it looks at every open conversation once at start).
    op.add_column(
        "inbox_conversations",
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("inbox_conversations") as batch:
        batch.drop_column("withdrawn_at")
