"""Alerts: raised alerts, playbooks, their run log, reply drafts, crisis mode

Revision ID: 0007_alerts
Revises: 0006_search
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_alerts"
down_revision: str | None = "0006_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "alert_records",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _workspace_fk("alert_records"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_records")),
    )
    op.create_index(
        "uq_alert_records_workspace_key", "alert_records", ["workspace_id", "key"], unique=True
    )
    op.create_index("ix_alert_records_workspace_time", "alert_records", ["workspace_id", "time"])

    op.create_table(
        "playbooks",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        _workspace_fk("playbooks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbooks")),
    )
    op.create_index(
        "uq_playbooks_workspace_name", "playbooks", ["workspace_id", "name"], unique=True
    )

    op.create_table(
        "playbook_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("playbook_id", ID, nullable=False),
        sa.Column("playbook_name", sa.String(length=200), nullable=False),
        sa.Column("alert", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=500), nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["playbook_id"],
            ["playbooks.id"],
            name=op.f("fk_playbook_runs_playbook_id_playbooks"),
            ondelete="CASCADE",
        ),
        _workspace_fk("playbook_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_runs")),
    )
    op.create_index("ix_playbook_runs_workspace_at", "playbook_runs", ["workspace_id", "at"])
    op.create_index("ix_playbook_runs_playbook", "playbook_runs", ["playbook_id"])
    op.create_index("uq_playbook_runs_dedupe_key", "playbook_runs", ["dedupe_key"], unique=True)

    op.create_table(
        "reply_drafts",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("approval_chain", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["playbook_runs.id"],
            name=op.f("fk_reply_drafts_run_id_playbook_runs"),
            ondelete="SET NULL",
        ),
        _workspace_fk("reply_drafts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_drafts")),
    )
    op.create_index("ix_reply_drafts_workspace_status", "reply_drafts", ["workspace_id", "status"])

    op.create_table(
        "crisis_states",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("since", TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("holding_statement", sa.Text(), nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["playbook_runs.id"],
            name=op.f("fk_crisis_states_run_id_playbook_runs"),
            ondelete="SET NULL",
        ),
        _workspace_fk("crisis_states"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_crisis_states")),
    )


def downgrade() -> None:
    op.drop_table("crisis_states")
    op.drop_index("ix_reply_drafts_workspace_status", table_name="reply_drafts")
    op.drop_table("reply_drafts")
    op.drop_index("uq_playbook_runs_dedupe_key", table_name="playbook_runs")
    op.drop_index("ix_playbook_runs_playbook", table_name="playbook_runs")
    op.drop_index("ix_playbook_runs_workspace_at", table_name="playbook_runs")
    op.drop_table("playbook_runs")
    op.drop_index("uq_playbooks_workspace_name", table_name="playbooks")
    op.drop_table("playbooks")
    op.drop_index("ix_alert_records_workspace_time", table_name="alert_records")
    op.drop_index("uq_alert_records_workspace_key", table_name="alert_records")
    op.drop_table("alert_records")
