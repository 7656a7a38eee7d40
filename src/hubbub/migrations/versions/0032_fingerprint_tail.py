"""Posts' random-keyed secondary indexes leave the commit path of an import

Two indexes of ``posts`` took a random page per stored post at every commit, so an import
wrote ~1.7 times the pages of a bare insert (docs/performance.md, issue #2):

* ``ix_posts_workspace_thread`` is dropped: no query reads posts by thread root.
* ``ix_posts_fingerprint`` becomes a key table, ``post_fingerprints``, fed in sorted bulk from
  a small ``post_fingerprint_tail`` that the write path fills as posts are stored or edited.

Revision ID: 0032_fingerprint_tail
Revises: 0031_inbox_token_authors
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_fingerprint_tail"
down_revision: str | None = "0031_inbox_token_authors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.drop_index("ix_posts_workspace_thread", table_name="posts")
    op.create_table(
        "post_fingerprints",
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", big_id, nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("fingerprint", "workspace_id", "post_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "post_fingerprint_tail",
        sa.Column("post_id", big_id, autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", big_id, nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id"),
    )
    op.create_index(
        "ix_post_fingerprint_tail_key", "post_fingerprint_tail", ["fingerprint", "workspace_id"]
    )
    op.execute(
        "INSERT INTO post_fingerprints (fingerprint, workspace_id, post_id)"
        " SELECT fingerprint, workspace_id, id FROM posts WHERE fingerprint IS NOT NULL"
        " ORDER BY fingerprint, workspace_id, id"
    )
    op.drop_index("ix_posts_fingerprint", table_name="posts")


def downgrade() -> None:
    op.create_index("ix_posts_fingerprint", "posts", ["fingerprint", "workspace_id"])
    op.drop_index("ix_post_fingerprint_tail_key", table_name="post_fingerprint_tail")
    op.drop_table("post_fingerprint_tail")
    op.drop_table("post_fingerprints")
    op.create_index("ix_posts_workspace_thread", "posts", ["workspace_id", "thread_root"])
