"""Identity and fingerprint indexes lead with their selective column

PostgreSQL without statistics on a table (every new workspace) planned
``workspace_id = ? AND network = ? AND native_id IN (…)`` as a seek on the first two columns
and a row-by-row filter on the native ids, so each lookup cost a scan of the workspace. With
the native id (or fingerprint) first, the seek uses it whatever the statistics say.

Revision ID: 0002_selective_identity_indexes
Revises: 0001_ingest_core
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_selective_identity_indexes"
down_revision: str | None = "0001_ingest_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTITY_TABLES = ("authors", "posts", "interactions", "tombstones")


def upgrade() -> None:
    for table in IDENTITY_TABLES:
        op.drop_index(f"uq_{table}_identity", table_name=table)
        op.create_index(
            f"uq_{table}_identity", table, ["native_id", "workspace_id", "network"], unique=True
        )
    op.drop_index("ix_posts_workspace_fingerprint", table_name="posts")
    op.create_index("ix_posts_fingerprint", "posts", ["fingerprint", "workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_posts_fingerprint", table_name="posts")
    op.create_index("ix_posts_workspace_fingerprint", "posts", ["workspace_id", "fingerprint"])
    for table in IDENTITY_TABLES:
        op.drop_index(f"uq_{table}_identity", table_name=table)
        op.create_index(
            f"uq_{table}_identity", table, ["workspace_id", "network", "native_id"], unique=True
        )
