"""Reads of the inbox: conversation lists and filters, SLA breaches, a conversation's parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from hubbub.inbox.models import (
    BusinessHours,
    Conversation,
    ConversationPost,
    Note,
    OutboundReply,
    Queue,
    ReplyAttempt,
    SavedReply,
    WorkspaceAccount,
)
from hubbub.inbox.sla import DEFAULT_WEEKLY, Schedule
from hubbub.posts.models import Author, Post

OPEN_STATUSES = ("new", "open")
DEFAULT_FIRST_RESPONSE_MINUTES = 60
DEFAULT_NEXT_RESPONSE_MINUTES = 120
DEFAULT_WARN = timedelta(minutes=15)


@dataclass(frozen=True)
class Policy:
    """The workspace's business hours and SLA targets (defaults when none are set)."""

    schedule: Schedule
    first_response_minutes: int
    next_response_minutes: int


def policy(session: Session, workspace_id: int) -> Policy:
    row = session.get(BusinessHours, workspace_id)
    if row is None:
        return Policy(
            Schedule.parse("UTC", DEFAULT_WEEKLY),
            DEFAULT_FIRST_RESPONSE_MINUTES,
            DEFAULT_NEXT_RESPONSE_MINUTES,
        )
    return Policy(
        Schedule.parse(row.timezone, row.weekly),
        row.first_response_minutes,
        row.next_response_minutes,
    )


def accounts(session: Session, workspace_id: int) -> list[WorkspaceAccount]:
    return list(
        session.scalars(
            select(WorkspaceAccount)
            .where(WorkspaceAccount.workspace_id == workspace_id)
            .order_by(WorkspaceAccount.id)
        )
    )


def queue_by_name(session: Session, workspace_id: int, name: str) -> Queue | None:
    return session.scalar(
        select(Queue).where(Queue.workspace_id == workspace_id, Queue.name == name)
    )


def queues(session: Session, workspace_id: int) -> list[Queue]:
    return list(
        session.scalars(
            select(Queue).where(Queue.workspace_id == workspace_id).order_by(Queue.name)
        )
    )


def saved_replies(session: Session, workspace_id: int) -> list[SavedReply]:
    return list(
        session.scalars(
            select(SavedReply)
            .where(SavedReply.workspace_id == workspace_id)
            .order_by(SavedReply.name)
        )
    )


def saved_reply(session: Session, workspace_id: int, name: str) -> SavedReply | None:
    return session.scalar(
        select(SavedReply).where(SavedReply.workspace_id == workspace_id, SavedReply.name == name)
    )


def conversation(session: Session, workspace_id: int, conversation_id: int) -> Conversation | None:
    """The conversation when it belongs to the workspace (never another workspace's)."""
    found = session.get(Conversation, conversation_id)
    if found is None or found.workspace_id != workspace_id:
        return None
    return found


def _due_within(now: datetime, warn: timedelta) -> Select[Any]:
    horizon = now + warn
    return select(Conversation.id).where(
        Conversation.status.in_(OPEN_STATUSES),
        or_(
            and_(
                Conversation.first_responded_at.is_(None),
                Conversation.first_response_due <= horizon,
            ),
            Conversation.next_response_due <= horizon,
        ),
    )


def list_conversations(
    session: Session,
    workspace_id: int,
    *,
    status: str | None = None,
    assignee_user_id: int | None = None,
    queue_id: int | None = None,
    breaching: bool = False,
    now: datetime | None = None,
    warn: timedelta = DEFAULT_WARN,
    limit: int = 50,
) -> list[Conversation]:
    """Highest priority first; ``breaching`` keeps those past or within ``warn`` of an SLA due
    time (open ones only: a conversation waiting on the customer has no clock running)."""
    query = select(Conversation).where(Conversation.workspace_id == workspace_id)
    if status is not None:
        query = query.where(Conversation.status == status)
    if assignee_user_id is not None:
        query = query.where(Conversation.assignee_user_id == assignee_user_id)
    if queue_id is not None:
        query = query.where(Conversation.queue_id == queue_id)
    if breaching:
        if now is None:
            raise ValueError("breaching needs now")
        query = query.where(Conversation.id.in_(_due_within(now, warn)))
    query = query.order_by(Conversation.priority.desc(), Conversation.id).limit(limit)
    return list(session.scalars(query))


def due_at(found: Conversation) -> datetime | None:
    """The SLA due time that runs now, if any."""
    if found.status not in OPEN_STATUSES:
        return None
    if found.first_responded_at is None:
        return found.first_response_due
    return found.next_response_due


def posts_of(session: Session, conversation_id: int) -> list[tuple[Post, Author, bool]]:
    """The conversation's posts, oldest first, with authors and whether each is ours."""
    rows = session.execute(
        select(Post, Author, ConversationPost.ours)
        .join(ConversationPost, ConversationPost.post_id == Post.id)
        .join(Author, Author.id == Post.author_id)
        .where(ConversationPost.conversation_id == conversation_id)
        .order_by(Post.created_at, Post.id)
    ).all()
    return [(post, author, bool(ours)) for post, author, ours in rows]


def notes_of(session: Session, conversation_id: int) -> list[Note]:
    return list(
        session.scalars(
            select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)
        )
    )


def replies_of(session: Session, conversation_id: int) -> list[OutboundReply]:
    return list(
        session.scalars(
            select(OutboundReply)
            .where(OutboundReply.conversation_id == conversation_id)
            .order_by(OutboundReply.id)
        )
    )


def attempts_of(session: Session, reply_id: int) -> list[ReplyAttempt]:
    return list(
        session.scalars(
            select(ReplyAttempt).where(ReplyAttempt.reply_id == reply_id).order_by(ReplyAttempt.id)
        )
    )


def author_history(
    session: Session, workspace_id: int, author_id: int, limit: int = 20
) -> list[Conversation]:
    """Every conversation the author has written in, newest first."""
    ids = (
        select(ConversationPost.conversation_id)
        .join(Post, Post.id == ConversationPost.post_id)
        .where(Post.author_id == author_id, Post.workspace_id == workspace_id)
    )
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.id.in_(ids))
            .order_by(Conversation.created_at.desc())
            .limit(limit)
        )
    )
