"""Conversations around posts that need action, the team's tools on them, and outbound replies.

A conversation is keyed by its thread (``thread_key``: the network's id of the thread's root
post), so every post of one thread joins the same conversation. Replies carry a unique
idempotency key: the row is the outbox, and its key is what the network is asked about before
any retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.core.clock import utcnow
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime
from hubbub.workspaces.models import WorkspaceAccount

__all__ = ["WorkspaceAccount"]  # the brand's own accounts live with the workspace

STATUSES = ("new", "open", "waiting", "resolved", "spam")
#: ``discarded``: a person stopped the reply (or replaced it with an edited one); never sent.
REPLY_STATES = (
    "queued",
    "sending",
    "sent",
    "failed",
    "needs_credentials",
    "rate_limited",
    "discarded",
)


class Queue(Base):
    """A team queue; ``members`` are user ids in round-robin order, ``next_index`` whose turn."""

    __tablename__ = "inbox_queues"
    __table_args__ = (Index("uq_inbox_queues_workspace_name", "workspace_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    members: Mapped[list[int]] = mapped_column(JSON, default=list)
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusinessHours(Base):
    """When the team works (wall-clock hours per weekday in ``timezone``) and the SLA targets,
    counted in working minutes."""

    __tablename__ = "inbox_business_hours"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    next_response_minutes: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversation(Base):
    """The thread around a post that needs action, with its triage state and SLA clocks."""

    __tablename__ = "inbox_conversations"
    __table_args__ = (
        Index(
            "uq_inbox_conversations_thread", "workspace_id", "network", "thread_key", unique=True
        ),
        Index("ix_inbox_conversations_workspace_status", "workspace_id", "status", "priority"),
        Index("ix_inbox_conversations_assignee", "assignee_user_id"),
        # The API's list: keyset pages in priority or waiting order, per filter (0014).
        Index("ix_inbox_conversations_workspace_priority", "workspace_id", "priority", "id"),
        Index(
            "ix_inbox_conversations_workspace_waiting",
            "workspace_id",
            "last_customer_post_at",
            "id",
        ),
        Index(
            "ix_inbox_conversations_status_waiting",
            "workspace_id",
            "status",
            "last_customer_post_at",
            "id",
        ),
        Index(
            "ix_inbox_conversations_workspace_assignee",
            "workspace_id",
            "assignee_user_id",
            "priority",
            "id",
        ),
        Index(
            "ix_inbox_conversations_workspace_queue", "workspace_id", "queue_id", "priority", "id"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(32))
    thread_key: Mapped[str] = mapped_column(String(1024))
    root_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    priority_explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_queues.id", ondelete="SET NULL"))
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_customer_post_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the customer deleted the last of their posts here that was still up (the network's
    #: time of that delete): set when the conversation is closed for it, cleared when they
    #: post in the thread again. It also keeps a reopened conversation from being closed again.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationPost(Base):
    """A post of the conversation's thread; a post belongs to one conversation at most."""

    __tablename__ = "inbox_conversation_posts"
    __table_args__ = (
        Index("uq_inbox_conversation_posts_post", "post_id", unique=True),
        Index("ix_inbox_conversation_posts_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE")
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    ours: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Note(Base):
    """An internal note; never leaves Hubbub. ``mentions`` are the user ids it @-mentions."""

    __tablename__ = "inbox_notes"
    __table_args__ = (Index("ix_inbox_notes_conversation", "conversation_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE")
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MentionMail(Base):
    """An email owed to a teammate @-mentioned in a note: written with the note (so it is owed
    exactly when the note exists) and sent by the pipeline when SMTP is configured."""

    __tablename__ = "inbox_mention_mails"
    __table_args__ = (
        Index("uq_inbox_mention_mails_note_user", "note_id", "user_id", unique=True),
        Index("ix_inbox_mention_mails_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    note_id: Mapped[int] = mapped_column(ForeignKey("inbox_notes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # sent, expired, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConversationView(Base):
    """Who had a conversation open, and when last: the collision warning ("Bob is on this one
    too") and what counts as new for them (notes mentioning them since)."""

    __tablename__ = "inbox_views"
    __table_args__ = (
        Index("uq_inbox_views_conversation_user", "conversation_id", "user_id", unique=True),
        Index("ix_inbox_views_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedReply(Base):
    """A reply template; ``body`` is rendered in a Jinja sandbox with the conversation's
    variables."""

    __tablename__ = "inbox_saved_replies"
    __table_args__ = (
        Index("uq_inbox_saved_replies_workspace_name", "workspace_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboundReply(Base):
    """A reply to send exactly once; the row is the outbox entry and its key the dedupe key."""

    __tablename__ = "inbox_replies"
    __table_args__ = (
        Index("uq_inbox_replies_idempotency_key", "idempotency_key", unique=True),
        Index("ix_inbox_replies_conversation", "conversation_id"),
        Index("ix_inbox_replies_state", "workspace_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE")
    )
    in_reply_to_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_accounts.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24), default="queued")
    remote_id: Mapped[str | None] = mapped_column(String(1024))
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReplyAttempt(Base):
    """One try at sending a reply, whatever came of it: the attempt log."""

    __tablename__ = "inbox_reply_attempts"
    __table_args__ = (Index("ix_inbox_reply_attempts_reply", "reply_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("inbox_replies.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    http_status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
