"""Inbox list indexes: keyset pages of the conversations API in priority or waiting order

Revision ID: 0014_inbox_indexes
Revises: 0013_reports
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_inbox_indexes"
down_revision: str | None = "0013_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: dict[str, list[str]] = {
    "ix_inbox_conversations_workspace_priority": ["workspace_id", "priority", "id"],
    "ix_inbox_conversations_workspace_waiting": ["workspace_id", "last_customer_post_at", "id"],
    "ix_inbox_conversations_status_waiting": [
        "workspace_id",
        "status",
        "last_customer_post_at",
        "id",
    ],
    "ix_inbox_conversations_workspace_assignee": [
        "workspace_id",
        "assignee_user_id",
        "priority",
        "id",
    ],
    "ix_inbox_conversations_workspace_queue": ["workspace_id", "queue_id", "priority", "id"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "inbox_conversations", columns)


def downgrade() -> None:
    for name in reversed(list(_INDEXES)):
        op.drop_index(name, table_name="inbox_conversations")
