"""Short links of known shorteners and where their redirects lead (link_resolutions), with
the posts that carry them

Revision ID: 0021_link_resolutions
Revises: 0020_conversions
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_link_resolutions"
down_revision: str | None = "0020_conversions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "link_resolutions",
        sa.Column("id", ID, nullable=False),
        sa.Column("short_url", sa.String(length=512), nullable=False),
        sa.Column("shortener", sa.String(length=253), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("final_domain", sa.String(length=253), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("hops", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_resolutions")),
    )
    op.create_index("uq_link_resolutions_short_url", "link_resolutions", ["short_url"], unique=True)
    op.create_index(
        "ix_link_resolutions_status_due", "link_resolutions", ["status", "next_attempt_at"]
    )
    op.create_table(
        "link_resolution_posts",
        sa.Column("resolution_id", ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["resolution_id"],
            ["link_resolutions.id"],
            name=op.f("fk_link_resolution_posts_resolution_id_link_resolutions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_link_resolution_posts_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_link_resolution_posts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resolution_id", "post_id", name=op.f("pk_link_resolution_posts")),
    )
    op.create_index("ix_link_resolution_posts_post", "link_resolution_posts", ["post_id"])
    op.create_index(
        "ix_link_resolution_posts_workspace",
        "link_resolution_posts",
        ["workspace_id", "resolution_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_link_resolution_posts_workspace", table_name="link_resolution_posts")
    op.drop_index("ix_link_resolution_posts_post", table_name="link_resolution_posts")
    op.drop_table("link_resolution_posts")
    op.drop_index("ix_link_resolutions_status_due", table_name="link_resolutions")
    op.drop_index("uq_link_resolutions_short_url", table_name="link_resolutions")
    op.drop_table("link_resolutions")
