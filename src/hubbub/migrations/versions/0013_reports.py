"""Scheduled reports: schedules and the run ledger (one row per schedule and period)

Revision ID: 0013_reports
Revises: 0012_measure
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_reports"
down_revision: str | None = "0012_measure"
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
        "report_schedules",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cadence", sa.String(length=8), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("send_hour", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        _fk("report_schedules", "workspace_id", "workspaces", "CASCADE"),
        _fk("report_schedules", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )
    op.create_index(
        "uq_report_schedules_workspace_name",
        "report_schedules",
        ["workspace_id", "name"],
        unique=True,
    )

    op.create_table(
        "report_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("schedule_id", ID, nullable=False),
        sa.Column("period_start", TIME, nullable=False),
        sa.Column("period_end", TIME, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        _fk("report_runs", "workspace_id", "workspaces", "CASCADE"),
        _fk("report_runs", "schedule_id", "report_schedules", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_runs")),
    )
    op.create_index(
        "uq_report_runs_schedule_period",
        "report_runs",
        ["schedule_id", "period_start"],
        unique=True,
    )
    op.create_index("ix_report_runs_workspace", "report_runs", ["workspace_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_report_runs_workspace", table_name="report_runs")
    op.drop_index("uq_report_runs_schedule_period", table_name="report_runs")
    op.drop_table("report_runs")
    op.drop_index("uq_report_schedules_workspace_name", table_name="report_schedules")
    op.drop_table("report_schedules")
