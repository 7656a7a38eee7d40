"""Inbox: which API token queued a reply or wrote a note

``inbox_replies.created_by_token_id`` and ``inbox_notes.author_token_id`` name the token that
acted through the API, so the conversation page says "API token «name»" instead of taking the
reply for one typed on the command line. Rows from before stay NULL.

Revision ID: 0031_inbox_token_authors
Revises: 0030_conversation_withdrawn
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_inbox_token_authors"
down_revision: str | None = "0030_conversation_withdrawn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("inbox_replies", "created_by_token_id"), ("inbox_notes", "author_token_id"))


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, big_id, nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_{column}_api_tokens",
                "api_tokens",
                [column],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_{column}_api_tokens", type_="foreignkey")
            batch.drop_column(column)
