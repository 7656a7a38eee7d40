"""Notification channels: named, encrypted apprise URLs that playbooks refer to

Revision ID: 0023_notify_channels
Revises: 0022_topic_graph_reshares
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_notify_channels"
down_revision: str | None = "0022_topic_graph_reshares"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notify_channels_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_channels")),
    )
    op.create_index(
        "uq_notify_channels_workspace_name",
        "notify_channels",
        ["workspace_id", "name"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("notify_channels")
