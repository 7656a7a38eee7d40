"""Mention mails: the emails owed to teammates @-mentioned in inbox notes

Revision ID: 0024_mention_mails
Revises: 0023_notify_channels
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_mention_mails"
down_revision: str | None = "0023_notify_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbox_mention_mails",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("note_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_mention_mails_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["inbox_notes.id"],
            name=op.f("fk_inbox_mention_mails_note_id_inbox_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inbox_mention_mails_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_mention_mails")),
    )
    op.create_index(
        "uq_inbox_mention_mails_note_user",
        "inbox_mention_mails",
        ["note_id", "user_id"],
        unique=True,
    )
    op.create_index(
        "ix_inbox_mention_mails_due", "inbox_mention_mails", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("inbox_mention_mails")
