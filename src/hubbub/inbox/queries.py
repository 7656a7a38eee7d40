"""Reads of the inbox: conversation lists and filters, SLA breaches, a conversation's parts."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from hubbub.core.clock import parse_timestamp
from hubbub.inbox.models import (
    BusinessHours,
    Conversation,
    ConversationPost,
    ConversationView,
    Note,
    OutboundReply,
    Queue,
    ReplyAttempt,
    SavedReply,
    WorkspaceAccount,
)
from hubbub.inbox.sla import DEFAULT_WEEKLY, Schedule
from hubbub.listening.models import TopicMatch
from hubbub.posts.models import Author, Post, Tombstone
from hubbub.store.dialect import json_list_contains

OPEN_STATUSES = ("new", "open")
#: Statuses with nothing left to do; ``open_first`` lists them after the rest.
SETTLED_STATUSES = ("resolved", "spam")
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


def can_send_on(session: Session, workspace_id: int, network: str) -> bool:
    """Whether one of the workspace's own accounts on ``network`` can send a reply now (it has
    its server and credentials); otherwise queued replies wait for one."""
    return any(
        account.network == network and account.service_url and account.credentials
        for account in accounts(session, workspace_id)
    )


def reply_account(session: Session, workspace_id: int, network: str) -> WorkspaceAccount | None:
    """The workspace's own account a reply on ``network`` goes out from (the first added)."""
    return session.scalar(
        select(WorkspaceAccount)
        .where(WorkspaceAccount.workspace_id == workspace_id, WorkspaceAccount.network == network)
        .order_by(WorkspaceAccount.id)
        .limit(1)
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


def _due_by(horizon: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """Open conversations whose running SLA clock is due by ``horizon``."""
    return and_(
        Conversation.status.in_(OPEN_STATUSES),
        or_(
            and_(
                Conversation.first_responded_at.is_(None),
                Conversation.first_response_due <= horizon,
            ),
            Conversation.next_response_due <= horizon,
        ),
    )


def _due_within(now: datetime, warn: timedelta) -> Select[Any]:
    return select(Conversation.id).where(_due_by(now + warn))


def list_conversations(
    session: Session,
    workspace_id: int,
    *,
    status: str | None = None,
    assignee_user_id: int | None = None,
    queue_id: int | None = None,
    breaching: bool = False,
    mentioning_user_id: int | None = None,
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
    if mentioning_user_id is not None:
        query = query.where(
            Conversation.id.in_(mentioning(session, workspace_id, mentioning_user_id))
        )
    if breaching:
        if now is None:
            raise ValueError("breaching needs now")
        query = query.where(Conversation.id.in_(_due_within(now, warn)))
    query = query.order_by(Conversation.priority.desc(), Conversation.id).limit(limit)
    return list(session.scalars(query))


def viewers(
    session: Session, conversation_id: int, *, since: datetime, other_than: int | None
) -> list[tuple[int, datetime]]:
    """Teammates (user id, last seen) who had the conversation open since ``since``."""
    query = select(ConversationView.user_id, ConversationView.seen_at).where(
        ConversationView.conversation_id == conversation_id, ConversationView.seen_at >= since
    )
    if other_than is not None:
        query = query.where(ConversationView.user_id != other_than)
    rows = session.execute(query.order_by(ConversationView.seen_at.desc()))
    return [(int(user_id), seen_at) for user_id, seen_at in rows]


def mentioning(session: Session, workspace_id: int, user_id: int) -> Select[Any]:
    """Ids of the workspace's conversations with a note that @-mentions the user."""
    return (
        select(Note.conversation_id)
        .join(Conversation, Conversation.id == Note.conversation_id)
        .where(
            Conversation.workspace_id == workspace_id,
            json_list_contains(Note.mentions, user_id, session.get_bind().dialect),
        )
    )


def unread_mentions(session: Session, workspace_id: int, user_id: int) -> dict[int, int]:
    """Per conversation, notes mentioning the user written since they last had it open."""
    seen = (
        select(ConversationView.seen_at)
        .where(
            ConversationView.conversation_id == Note.conversation_id,
            ConversationView.user_id == user_id,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Note.conversation_id, func.count())
        .join(Conversation, Conversation.id == Note.conversation_id)
        .where(
            Conversation.workspace_id == workspace_id,
            json_list_contains(Note.mentions, user_id, session.get_bind().dialect),
            or_(seen.is_(None), Note.created_at > seen),
        )
        .group_by(Note.conversation_id)
    )
    return {int(conversation_id): int(count) for conversation_id, count in rows}


def due_at(found: Conversation) -> datetime | None:
    """The SLA due time that runs now, if any."""
    return running_due(
        found.status, found.first_responded_at, found.first_response_due, found.next_response_due
    )


def running_due(
    status: str,
    first_responded_at: datetime | None,
    first_response_due: datetime | None,
    next_response_due: datetime | None,
) -> datetime | None:
    if status not in OPEN_STATUSES:
        return None
    return first_response_due if first_responded_at is None else next_response_due


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


def due_reply_ids(
    session: Session,
    workspace_id: int,
    now: datetime,
    *,
    lease: timedelta,
    max_attempts: int,
    limit: int = 50,
) -> list[int]:
    """Replies a sender should try now, oldest first: queued ones; failed or rate-limited ones
    whose retry time has come (never past ``max_attempts``); and ones whose sender died
    mid-send (lease over). Replies waiting for credentials wait for a person."""
    retry_due = and_(
        OutboundReply.state.in_(("failed", "rate_limited")),
        OutboundReply.retry_at.is_not(None),
        OutboundReply.retry_at <= now,
        OutboundReply.attempts < max_attempts,
    )
    stale = and_(OutboundReply.state == "sending", OutboundReply.claimed_at < now - lease)
    queued = and_(
        OutboundReply.state == "queued",
        or_(OutboundReply.retry_at.is_(None), OutboundReply.retry_at <= now),
    )
    return list(
        session.scalars(
            select(OutboundReply.id)
            .where(OutboundReply.workspace_id == workspace_id, or_(queued, retry_due, stale))
            .order_by(OutboundReply.id)
            .limit(limit)
        )
    )


def customer_posts(session: Session, conversation_id: int) -> list[Post]:
    """The customer's posts in the conversation (not ours), oldest first, deleted ones too."""
    return list(
        session.scalars(
            select(Post)
            .join(ConversationPost, ConversationPost.post_id == Post.id)
            .where(
                ConversationPost.conversation_id == conversation_id,
                ConversationPost.ours.is_(False),
            )
            .order_by(Post.created_at, Post.id)
        )
    )


def replies_to_deleted_posts(
    session: Session, conversation_id: int, states: Sequence[str]
) -> list[int]:
    """Ids of the conversation's replies in ``states`` whose parent post is deleted."""
    return list(
        session.scalars(
            select(OutboundReply.id)
            .join(Post, Post.id == OutboundReply.in_reply_to_post_id)
            .where(
                OutboundReply.conversation_id == conversation_id,
                OutboundReply.state.in_(states),
                Post.deleted.is_(True),
            )
            .order_by(OutboundReply.id)
        )
    )


def conversations_with_deleted_posts(
    session: Session, workspace_id: int, statuses: Sequence[str], reply_states: Sequence[str]
) -> list[int]:
    """Conversations in ``statuses`` holding a deleted customer post, and conversations (any
    status) with a reply in ``reply_states`` to a deleted post: where a delete may still need
    handling. Read from those conversations and replies, never the whole history."""
    deleted_customer_post = (
        select(ConversationPost.id)
        .join(Post, Post.id == ConversationPost.post_id)
        .where(
            ConversationPost.conversation_id == Conversation.id,
            ConversationPost.ours.is_(False),
            Post.deleted.is_(True),
        )
        .exists()
    )
    open_ones = set(
        session.scalars(
            select(Conversation.id).where(
                Conversation.workspace_id == workspace_id,
                Conversation.status.in_(statuses),
                deleted_customer_post,
            )
        )
    )
    unsent = set(
        session.scalars(
            select(OutboundReply.conversation_id)
            .join(Post, Post.id == OutboundReply.in_reply_to_post_id)
            .where(
                OutboundReply.workspace_id == workspace_id,
                OutboundReply.state.in_(reply_states),
                Post.deleted.is_(True),
            )
        )
    )
    return sorted(open_ones | unsent)


def last_tombstone_id(session: Session) -> int:
    """The newest delete stored in any workspace (0 when none): where a worker starts."""
    return int(session.scalar(select(func.max(Tombstone.id))) or 0)


def conversations_with_deletes(
    session: Session, workspace_id: int, after: int, limit: int
) -> tuple[list[int], int]:
    """Conversations holding a post deleted by one of the workspace's next ``limit`` deletes
    (tombstones) after ``after``, and the id of the last of those deletes."""
    ids = list(
        session.scalars(
            select(Tombstone.id)
            .where(Tombstone.workspace_id == workspace_id, Tombstone.id > after)
            .order_by(Tombstone.id)
            .limit(limit)
        )
    )
    if not ids:
        return [], after
    found = session.scalars(
        select(ConversationPost.conversation_id)
        .distinct()
        .join(Post, Post.id == ConversationPost.post_id)
        .join(
            Tombstone,
            and_(
                Tombstone.native_id == Post.native_id,
                Tombstone.workspace_id == Post.workspace_id,
                Tombstone.network == Post.network,
            ),
        )
        .where(
            Tombstone.workspace_id == workspace_id,
            Tombstone.id > after,
            Tombstone.id <= ids[-1],
        )
    )
    return sorted(found), ids[-1]


def attempts_of(session: Session, reply_id: int) -> list[ReplyAttempt]:
    return list(
        session.scalars(
            select(ReplyAttempt).where(ReplyAttempt.reply_id == reply_id).order_by(ReplyAttempt.id)
        )
    )


def author_history(
    session: Session, workspace_id: int, author_id: int, limit: int = 20
) -> list[Conversation]:
    """Every conversation the author has written in, the one the customer last wrote in first
    (when Hubbub opened a conversation says little: a backfill opens old threads today)."""
    ids = (
        select(ConversationPost.conversation_id)
        .join(Post, Post.id == ConversationPost.post_id)
        .where(Post.author_id == author_id, Post.workspace_id == workspace_id)
    )
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.id.in_(ids))
            .order_by(Conversation.last_customer_post_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
    )


# ---- the conversations API: filters and keyset pages -----------------------------------------

SORTS = ("priority", "waiting")


class ListError(ValueError):
    """A filter or cursor the list cannot use, naming the parameter (shown to the client)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ConversationFilter:
    """What a conversation list keeps; ``None`` means no constraint.

    ``unassigned`` keeps conversations with no assignee (``assignee_user_id`` is then unset).
    ``text`` is matched case-insensitively against the text of every post of the conversation.
    ``due_by`` keeps open ones whose running SLA clock is due by then (past or about to be);
    ``mentioning_user_id`` those with a note @-mentioning that user. ``open_first`` lists the
    unresolved (new, open, waiting) before resolved and spam, each group in the sort's order.
    """

    workspace_id: int
    status: str | None = None
    assignee_user_id: int | None = None
    unassigned: bool = False
    queue_id: int | None = None
    priority_min: float | None = None
    intent: str | None = None
    network: str | None = None
    topic_id: int | None = None
    text: str | None = None
    due_by: datetime | None = None
    mentioning_user_id: int | None = None
    open_first: bool = False
    sort: str = "priority"


@dataclass(frozen=True)
class ConversationCursor:
    """Position after a page's last row: the sort, that row's sort key and its id, and for an
    ``open_first`` list whether that row was resolved or spam (``settled``).

    Keyset positions stay valid when conversations are added, so paging on never repeats or
    skips a row whose sort key did not change meanwhile.
    """

    sort: str
    key: float | datetime
    conversation_id: int
    settled: bool | None = None

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else repr(float(self.key))
        raw = f"{self.sort}|{key}|{self.conversation_id}"
        if self.settled is not None:
            raw += f"|{int(self.settled)}"
        return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ConversationCursor:
        """Parse what :meth:`encode` made; raises :class:`ListError` on anything else."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            sort, key, conversation_id, *group = raw.split("|")
            if group not in ([], ["0"], ["1"]):
                raise ValueError(group)
            settled = group == ["1"] if group else None
            number = int(conversation_id)
            value: float | datetime
            if sort == "priority":
                value = float(key)
                if not math.isfinite(value):
                    raise ValueError(key)
            elif sort == "waiting":
                value = parse_timestamp(key)
            else:
                raise ValueError(sort)
            if not 0 < number < 2**63:
                raise ValueError(conversation_id)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ListError("cursor", "is not one this server issued") from None
        return cls(sort, value, number, settled)


@dataclass
class ConversationPage:
    rows: Sequence[Row[Any]]
    next_cursor: ConversationCursor | None


def _escaped_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filtered(shape: _ListShape, query: Select[Any]) -> Select[Any]:
    """``query`` narrowed by the filters ``shape`` names, each value a bind parameter (see
    :func:`_list_params`), so one statement serves every request of the same shape."""
    query = query.where(Conversation.workspace_id == bindparam("workspace_id"))
    if shape.status:
        query = query.where(Conversation.status == bindparam("status"))
    if shape.unassigned:
        query = query.where(Conversation.assignee_user_id.is_(None))
    elif shape.assignee:
        query = query.where(Conversation.assignee_user_id == bindparam("assignee_user_id"))
    if shape.queue:
        query = query.where(Conversation.queue_id == bindparam("queue_id"))
    if shape.priority_min:
        query = query.where(Conversation.priority >= bindparam("priority_min"))
    if shape.due_by:
        query = query.where(_due_by(bindparam("due_by")))
    if shape.network:
        query = query.where(Conversation.network == bindparam("network"))
    if shape.intent:
        # The intent lives only in the priority explanation (one ``{"factor": "intent",
        # "value": label}`` part); labels are a closed set that no other part's value equals,
        # so the quoted label in the JSON text identifies it on every backend.
        query = query.where(
            cast(Conversation.priority_explanation, Text).like(
                bindparam("intent_like", type_=Text), escape="\\"
            )
        )
    if shape.topic:
        matched = (
            select(ConversationPost.id)
            .join(
                TopicMatch,
                and_(
                    TopicMatch.post_id == ConversationPost.post_id,
                    TopicMatch.topic_id == bindparam("topic_id"),
                ),
            )
            .where(ConversationPost.conversation_id == Conversation.id)
        )
        query = query.where(matched.exists())
    if shape.text:
        said = (
            select(ConversationPost.id)
            .join(Post, Post.id == ConversationPost.post_id)
            .where(
                ConversationPost.conversation_id == Conversation.id,
                Post.text.ilike(bindparam("text_like", type_=Text), escape="\\"),
            )
        )
        query = query.where(said.exists())
    return query


@dataclass(frozen=True)
class _ListShape:
    """Which filters a list request sets, its sort and whether it continues a page: what its
    statement depends on (the values are bound)."""

    status: bool
    unassigned: bool
    assignee: bool
    queue: bool
    priority_min: bool
    network: bool
    intent: bool
    topic: bool
    text: bool
    due_by: bool
    open_first: bool
    sort: str
    after: bool
    after_settled: bool | None

    @classmethod
    def of(cls, f: ConversationFilter, after: ConversationCursor | None) -> _ListShape:
        return cls(
            status=f.status is not None,
            unassigned=f.unassigned,
            assignee=f.assignee_user_id is not None,
            queue=f.queue_id is not None,
            priority_min=f.priority_min is not None,
            network=f.network is not None,
            intent=f.intent is not None,
            topic=f.topic_id is not None,
            text=bool(f.text),
            due_by=f.due_by is not None,
            open_first=f.open_first,
            sort=f.sort,
            after=after is not None,
            after_settled=after.settled if after is not None else None,
        )


def _list_params(f: ConversationFilter, after: ConversationCursor | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "workspace_id": f.workspace_id,
        "status": f.status,
        "assignee_user_id": f.assignee_user_id,
        "queue_id": f.queue_id,
        "priority_min": f.priority_min,
        "network": f.network,
        "intent_like": _escaped_like(f'"{f.intent}"') if f.intent is not None else None,
        "topic_id": f.topic_id,
        "text_like": _escaped_like(f.text) if f.text else None,
        "due_by": f.due_by,
    }
    if after is not None:
        params["after_key"] = after.key
        params["after_id"] = after.conversation_id
    return params


LIST_COLUMNS: tuple[Any, ...] = (
    Conversation.id,
    Conversation.network,
    Conversation.thread_key,
    Conversation.status,
    Conversation.reason,
    Conversation.priority,
    # As stored: the API copies the JSON text into its answer without parsing it (SQLite's
    # driver returns text; a server database's driver still returns the parsed list).
    type_coerce(Conversation.priority_explanation, Text).label("priority_explanation"),
    Conversation.assignee_user_id,
    Conversation.queue_id,
    Conversation.first_response_due,
    Conversation.next_response_due,
    Conversation.first_responded_at,
    Conversation.last_customer_post_at,
    Conversation.created_at,
    Conversation.updated_at,
    Conversation.root_post_id,
    Post.native_id.label("root_native_id"),
    Post.url.label("root_url"),
    Post.created_at.label("root_created_at"),
    Post.text.label("root_text"),
    Author.handle.label("root_author_handle"),
    Author.display_name.label("root_author_name"),
)
"""What a list shows of a conversation and of the post it started from, as plain columns:
one query a page, no ORM objects (the API's list is its busiest route)."""


def _mentioning_narrowed(
    session: Session, f: ConversationFilter, query: Select[Any]
) -> Select[Any]:
    """``query`` kept to conversations with a note @-mentioning ``f.mentioning_user_id``: added
    after the cached statement is built, as JSON containment differs between databases."""
    if f.mentioning_user_id is None:
        return query
    ids = mentioning(session, f.workspace_id, f.mentioning_user_id)
    return query.where(Conversation.id.in_(ids))


def page_conversations(
    session: Session, f: ConversationFilter, limit: int, after: ConversationCursor | None = None
) -> ConversationPage:
    """One page in the filter's sort: ``priority`` is highest first (ties: newest id first),
    ``waiting`` longest-waiting first (ties: oldest id first), after the unresolved ones when
    ``open_first``; strictly after ``after``. Rows carry :data:`LIST_COLUMNS`.
    """
    if after is not None and after.sort != f.sort:
        raise ListError("cursor", f"was issued for sort={after.sort}, not sort={f.sort}")
    if after is not None and (after.settled is not None) != f.open_first:
        raise ListError("cursor", "was issued for another order of this list")
    statement = _mentioning_narrowed(session, f, _list_statement(_ListShape.of(f, after)))
    params = {**_list_params(f, after), "limit": limit + 1}
    # Through the connection, not the session: plain rows, without the ORM's result layer.
    rows = session.connection().execute(statement, params).all()
    if len(rows) <= limit:
        return ConversationPage(rows, None)
    last = rows[limit - 1]
    key_of: float | datetime = last.priority if f.sort == "priority" else last.last_customer_post_at
    settled = last.status in SETTLED_STATUSES if f.open_first else None
    return ConversationPage(rows[:limit], ConversationCursor(f.sort, key_of, last.id, settled))


def count_conversations(session: Session, f: ConversationFilter) -> int:
    """How many conversations the filter keeps, on every page together."""
    statement = _mentioning_narrowed(session, f, _count_statement(_ListShape.of(f, None)))
    return int(session.connection().execute(statement, _list_params(f, None)).scalar_one())


@lru_cache(maxsize=256)
def _count_statement(shape: _ListShape) -> Select[Any]:
    return _filtered(shape, select(func.count()).select_from(Conversation))


@lru_cache(maxsize=1024)
def _list_statement(shape: _ListShape) -> Select[Any]:
    """The page query of a shape, built once (building and coercing it cost as much as running
    it). The keyset condition starts with a plain range on the sort column, so the database
    seeks into the (workspace, sort column, id) index instead of counting past earlier pages."""
    query = _filtered(
        shape,
        select(*LIST_COLUMNS)
        .outerjoin(Post, Post.id == Conversation.root_post_id)
        .outerjoin(Author, Author.id == Post.author_id),
    )
    key: BindParameter[Any] = bindparam("after_key")
    after_id: BindParameter[int] = bindparam("after_id")
    order: list[ColumnElement[Any] | InstrumentedAttribute[Any]]
    if shape.sort == "priority":
        keyset = and_(
            Conversation.priority <= key,
            or_(Conversation.priority < key, Conversation.id < after_id),
        )
        order = [Conversation.priority.desc(), Conversation.id.desc()]
    else:
        keyset = and_(
            Conversation.last_customer_post_at >= key,
            or_(Conversation.last_customer_post_at > key, Conversation.id > after_id),
        )
        order = [Conversation.last_customer_post_at, Conversation.id]
    if shape.open_first:
        settled = Conversation.status.in_(SETTLED_STATUSES)
        if shape.after_settled:
            keyset = and_(settled, keyset)
        elif shape.after:  # still in the unresolved group: the rest of it, then every settled
            keyset = or_(settled, and_(Conversation.status.not_in(SETTLED_STATUSES), keyset))
        order = [case((settled, 1), else_=0), *order]
    if shape.after:
        query = query.where(keyset)
    return query.order_by(*order).limit(bindparam("limit"))


@dataclass(frozen=True)
class RootSummary:
    """What a conversation list shows of the first post: read as plain columns, so a page of
    conversations costs one light query instead of full post and author rows."""

    post_id: int
    native_id: str
    url: str | None
    created_at: datetime
    text: str
    author_handle: str | None
    author_name: str | None


def root_summaries(session: Session, post_ids: set[int]) -> dict[int, RootSummary]:
    if not post_ids:
        return {}
    rows = session.execute(
        select(
            Post.id,
            Post.native_id,
            Post.url,
            Post.created_at,
            Post.text,
            Author.handle,
            Author.display_name,
        )
        .join(Author, Author.id == Post.author_id)
        .where(Post.id.in_(post_ids))
    )
    return {row[0]: RootSummary(*row) for row in rows}
