"""Topic matches carry their post's author: top authors from one index

Revision ID: 0018_match_authors
Revises: 0017_inbox_views
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_match_authors"
down_revision: str | None = "0017_inbox_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("topic_matches") as batch:
        batch.add_column(sa.Column("author_id", ID, nullable=True))
    op.execute(
        "UPDATE topic_matches SET author_id ="
        " (SELECT posts.author_id FROM posts WHERE posts.id = topic_matches.post_id)"
    )
    op.create_index(
        "ix_topic_matches_topic_created_author",
        "topic_matches",
        ["topic_id", "created_at", "author_id"],
    )
    # The new index starts with the same columns: the old one would only slow writes.
    op.drop_index("ix_topic_matches_topic_created", table_name="topic_matches")


def downgrade() -> None:
    op.create_index("ix_topic_matches_topic_created", "topic_matches", ["topic_id", "created_at"])
    op.drop_index("ix_topic_matches_topic_created_author", table_name="topic_matches")
    with op.batch_alter_table("topic_matches") as batch:
        batch.drop_column("author_id")
