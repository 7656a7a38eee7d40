"""Incremental interaction graph state

Revision ID: 0010_graph_incremental
Revises: 0009_corrections
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_graph_incremental"
down_revision: str | None = "0009_corrections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "interaction_edges",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("topic_id", sa.BigInteger(), nullable=False),
        sa.Column("source_author_id", ID, nullable=False),
        sa.Column("target_network", sa.String(length=32), nullable=False),
        sa.Column("target_native_id", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("weight_ref", sa.Double(), nullable=False),
        sa.Column("first_at", WHEN, nullable=False),
        sa.Column("last_at", WHEN, nullable=False),
        _fk("interaction_edges", "source_author_id", "authors"),
        _fk("interaction_edges", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_edges")),
    )
    op.create_index(
        "uq_interaction_edges_key",
        "interaction_edges",
        ["workspace_id", "topic_id", "source_author_id", "target_network", "target_native_id",
         "kind"],
        unique=True,
    )  # fmt: skip
    op.create_index("ix_interaction_edges_source", "interaction_edges", ["source_author_id"])
    op.create_table(
        "interaction_refs",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("target_native_id", sa.String(length=1024), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        _fk("interaction_refs", "post_id", "posts"),
        _fk("interaction_refs", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_refs")),
    )
    op.create_index(
        "uq_interaction_refs_post_kind", "interaction_refs", ["post_id", "kind"], unique=True
    )
    op.create_index(
        "ix_interaction_refs_target",
        "interaction_refs",
        ["target_native_id", "workspace_id", "network"],
    )
    op.create_table(
        "graph_state",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("topic_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_post_id", sa.BigInteger(), nullable=False),
        sa.Column("last_tombstone_id", sa.BigInteger(), nullable=False),
        sa.Column("matches", sa.BigInteger(), nullable=False),
        sa.Column("half_life_seconds", sa.Double(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk("graph_state", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("workspace_id", "topic_id", name=op.f("pk_graph_state")),
    )


def downgrade() -> None:
    op.drop_table("graph_state")
    op.drop_index("ix_interaction_refs_target", table_name="interaction_refs")
    op.drop_index("uq_interaction_refs_post_kind", table_name="interaction_refs")
    op.drop_table("interaction_refs")
    op.drop_index("ix_interaction_edges_source", table_name="interaction_edges")
    op.drop_index("uq_interaction_edges_key", table_name="interaction_edges")
    op.drop_table("interaction_edges")
