"""Goals and business cases

Revision ID: 0012_measure
Revises: 0011_webhooks
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_measure"
down_revision: str | None = "0011_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "measure_goals",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("topic_id", ID, nullable=True),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        _fk("measure_goals", "workspace_id", "workspaces", "CASCADE"),
        _fk("measure_goals", "topic_id", "topics", "CASCADE"),
        _fk("measure_goals", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_goals")),
    )
    op.create_index(
        "ix_measure_goals_workspace_quarter", "measure_goals", ["workspace_id", "quarter"]
    )
    op.create_table(
        "measure_business_cases",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("costs", sa.Float(), nullable=False),
        sa.Column("expected_reach", sa.Float(), nullable=False),
        sa.Column("click_rate", sa.Float(), nullable=False),
        sa.Column("conversion_rate", sa.Float(), nullable=False),
        sa.Column("average_order_value", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_by", ID, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        _fk("measure_business_cases", "workspace_id", "workspaces", "CASCADE"),
        _fk("measure_business_cases", "updated_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_measure_business_cases")),
    )


def downgrade() -> None:
    op.drop_table("measure_business_cases")
    op.drop_index("ix_measure_goals_workspace_quarter", table_name="measure_goals")
    op.drop_table("measure_goals")
