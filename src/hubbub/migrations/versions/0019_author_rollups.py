"""Per-day author counts per topic: top authors from a rollup

Revision ID: 0019_author_rollups
Revises: 0018_match_authors
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_author_rollups"
down_revision: str | None = "0018_match_authors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The UTC day of a match as each backend stores it: SQLite holds UTC datetimes as
# "YYYY-MM-DD HH:MM:SS.ffffff" text, PostgreSQL as timestamptz.
_DAY = {
    "sqlite": "substr(created_at, 1, 10) || ' 00:00:00.000000'",
    "postgresql": "date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}


def fill_sql(dialect: str) -> str:
    """Count the stored matches into the rollup (matches recorded before it existed)."""
    day = _DAY[dialect]
    return (
        "INSERT INTO author_rollups (topic_id, author_id, day, network, posts)"  # noqa: S608
        f" SELECT topic_id, author_id, {day}, network, count(*) FROM topic_matches"
        f" WHERE author_id IS NOT NULL GROUP BY topic_id, author_id, {day}, network"
    )


def upgrade() -> None:
    op.create_table(
        "author_rollups",
        sa.Column("topic_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_author_rollups_author_id_authors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_author_rollups_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "topic_id", "author_id", "day", "network", name=op.f("pk_author_rollups")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_author_rollups_topic_posts",
        "author_rollups",
        ["topic_id", "network", "posts", "day", "author_id"],
    )
    op.execute(fill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_index("ix_author_rollups_topic_posts", table_name="author_rollups")
    op.drop_table("author_rollups")
