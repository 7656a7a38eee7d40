"""Inbox: the brand's accounts, queues, business hours, conversations, notes, saved replies,
outbound replies and their attempt log

Revision ID: 0008_inbox
Revises: 0007_alerts
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_inbox"
down_revision: str | None = "0007_alerts"
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
        "inbox_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("native_author_id", sa.String(length=512), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("service_url", sa.String(length=2048), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        _fk("inbox_accounts", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_accounts")),
    )
    op.create_index(
        "uq_inbox_accounts_identity",
        "inbox_accounts",
        ["workspace_id", "network", "native_author_id"],
        unique=True,
    )

    op.create_table(
        "inbox_queues",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _fk("inbox_queues", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_queues")),
    )
    op.create_index(
        "uq_inbox_queues_workspace_name", "inbox_queues", ["workspace_id", "name"], unique=True
    )

    op.create_table(
        "inbox_business_hours",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("next_response_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        _fk("inbox_business_hours", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_inbox_business_hours")),
    )

    op.create_table(
        "inbox_conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("thread_key", sa.String(length=1024), nullable=False),
        sa.Column("root_post_id", ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("priority_explanation", sa.JSON(), nullable=False),
        sa.Column("assignee_user_id", ID, nullable=True),
        sa.Column("queue_id", ID, nullable=True),
        sa.Column("first_response_due", TIME, nullable=True),
        sa.Column("next_response_due", TIME, nullable=True),
        sa.Column("first_responded_at", TIME, nullable=True),
        sa.Column("last_customer_post_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        _fk("inbox_conversations", "workspace_id", "workspaces", "CASCADE"),
        _fk("inbox_conversations", "root_post_id", "posts", "CASCADE"),
        _fk("inbox_conversations", "assignee_user_id", "users", "SET NULL"),
        _fk("inbox_conversations", "queue_id", "inbox_queues", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_conversations")),
    )
    op.create_index(
        "uq_inbox_conversations_thread",
        "inbox_conversations",
        ["workspace_id", "network", "thread_key"],
        unique=True,
    )
    op.create_index(
        "ix_inbox_conversations_workspace_status",
        "inbox_conversations",
        ["workspace_id", "status", "priority"],
    )
    op.create_index("ix_inbox_conversations_assignee", "inbox_conversations", ["assignee_user_id"])

    op.create_table(
        "inbox_conversation_posts",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("ours", sa.Boolean(), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        _fk("inbox_conversation_posts", "conversation_id", "inbox_conversations", "CASCADE"),
        _fk("inbox_conversation_posts", "post_id", "posts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_conversation_posts")),
    )
    op.create_index(
        "uq_inbox_conversation_posts_post", "inbox_conversation_posts", ["post_id"], unique=True
    )
    op.create_index(
        "ix_inbox_conversation_posts_conversation",
        "inbox_conversation_posts",
        ["conversation_id"],
    )

    op.create_table(
        "inbox_notes",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("author_user_id", ID, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _fk("inbox_notes", "conversation_id", "inbox_conversations", "CASCADE"),
        _fk("inbox_notes", "author_user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_notes")),
    )
    op.create_index("ix_inbox_notes_conversation", "inbox_notes", ["conversation_id"])

    op.create_table(
        "inbox_saved_replies",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _fk("inbox_saved_replies", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_saved_replies")),
    )
    op.create_index(
        "uq_inbox_saved_replies_workspace_name",
        "inbox_saved_replies",
        ["workspace_id", "name"],
        unique=True,
    )

    op.create_table(
        "inbox_replies",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("in_reply_to_post_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=True),
        sa.Column("remote_url", sa.String(length=2048), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        _fk("inbox_replies", "workspace_id", "workspaces", "CASCADE"),
        _fk("inbox_replies", "conversation_id", "inbox_conversations", "CASCADE"),
        _fk("inbox_replies", "in_reply_to_post_id", "posts", "CASCADE"),
        _fk("inbox_replies", "account_id", "inbox_accounts", "SET NULL"),
        _fk("inbox_replies", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_replies")),
    )
    op.create_index(
        "uq_inbox_replies_idempotency_key", "inbox_replies", ["idempotency_key"], unique=True
    )
    op.create_index("ix_inbox_replies_conversation", "inbox_replies", ["conversation_id"])
    op.create_index("ix_inbox_replies_state", "inbox_replies", ["workspace_id", "state"])

    op.create_table(
        "inbox_reply_attempts",
        sa.Column("id", ID, nullable=False),
        sa.Column("reply_id", ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        _fk("inbox_reply_attempts", "reply_id", "inbox_replies", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_reply_attempts")),
    )
    op.create_index("ix_inbox_reply_attempts_reply", "inbox_reply_attempts", ["reply_id"])


def downgrade() -> None:
    op.drop_table("inbox_reply_attempts")
    op.drop_table("inbox_replies")
    op.drop_table("inbox_saved_replies")
    op.drop_table("inbox_notes")
    op.drop_table("inbox_conversation_posts")
    op.drop_table("inbox_conversations")
    op.drop_table("inbox_business_hours")
    op.drop_table("inbox_queues")
    op.drop_table("inbox_accounts")
