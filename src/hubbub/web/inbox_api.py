"""Conversations API under ``/api/v1/w/{slug}/conversations``: filtered keyset lists, one
conversation with its posts, notes and replies, and the triage writes.

Every write goes through :mod:`hubbub.inbox.actions`, which checks the role again and writes the
audit entry, exactly as the inbox pages do; this module only translates HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.enrich.intent import LABELS
from hubbub.inbox.actions import (
    MAX_REPLY_CHARS,
    InboxError,
    add_note,
    assign,
    assign_to_queue,
    discard_reply,
    queue_reply,
    replace_reply,
    retry_reply,
    set_status,
)
from hubbub.inbox.models import Conversation, OutboundReply
from hubbub.inbox.queries import (
    SORTS,
    ConversationCursor,
    ConversationFilter,
    ConversationPage,
    ListError,
    RootSummary,
    conversation,
    due_at,
    notes_of,
    page_conversations,
    posts_of,
    queue_by_name,
    replies_of,
    root_summaries,
    running_due,
)
from hubbub.listening.actions import get_topic
from hubbub.listening.corrections.queries import verdicts
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import NO_NUL, RequestBody, RowId, SessionDep, read
from hubbub.web.filters import FilterError, read_network
from hubbub.web.problems import CONFLICT, PROBLEM_RESPONSES, problem
from hubbub.web.rest import PostOut

#: CPU seconds a list page that may be long is read in the event loop before a thread takes
#: over (see :func:`hubbub.web.deps.read`).
LONG_READ_BUDGET = 0.1

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["inbox"])

ReadInbox = Annotated[Access, Depends(Permit("inbox.read"))]
WorkInbox = Annotated[Access, Depends(Permit("inbox.work"))]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Status = Literal["new", "open", "waiting", "resolved", "spam"]
Intent = Literal[LABELS]  # type: ignore[valid-type]


class RootOut(BaseModel):
    """The post a conversation started from, as lists show it (the detail has every field)."""

    id: int
    native_id: str
    url: str | None
    created_at: datetime
    text: str
    author_handle: str | None
    author_name: str | None

    @classmethod
    def of(cls, root: RootSummary) -> RootOut:
        return cls(
            id=root.post_id,
            native_id=root.native_id,
            url=root.url,
            created_at=root.created_at,
            text=root.text,
            author_handle=root.author_handle,
            author_name=root.author_name,
        )


class ConversationOut(BaseModel):
    """A conversation as listed; ``root`` is the post it started from, ``due_at`` the SLA due
    time that runs now (none while waiting on the customer)."""

    id: int
    network: str
    thread_key: str
    status: str
    reason: str
    priority: float
    priority_explanation: list[dict[str, Any]]
    assignee_user_id: int | None
    queue_id: int | None
    first_response_due: datetime | None
    next_response_due: datetime | None
    first_responded_at: datetime | None
    last_customer_post_at: datetime
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    root: RootOut | None

    @classmethod
    def of(cls, found: Conversation, root: RootOut | None) -> ConversationOut:
        return cls(
            id=found.id,
            network=found.network,
            thread_key=found.thread_key,
            status=found.status,
            reason=found.reason,
            priority=found.priority,
            priority_explanation=list(found.priority_explanation or []),
            assignee_user_id=found.assignee_user_id,
            queue_id=found.queue_id,
            first_response_due=found.first_response_due,
            next_response_due=found.next_response_due,
            first_responded_at=found.first_responded_at,
            last_customer_post_at=found.last_customer_post_at,
            due_at=due_at(found),
            created_at=found.created_at,
            updated_at=found.updated_at,
            root=root,
        )


class ConversationList(BaseModel):
    """One page; pass ``next_cursor`` back as ``cursor`` (same filters and sort) for the next."""

    items: list[ConversationOut]
    next_cursor: str | None
    next: str | None


class ThreadPost(BaseModel):
    """A post of the conversation; ``ours`` when one of the workspace's own accounts wrote it."""

    ours: bool
    post: PostOut


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_user_id: int | None
    author_token_id: int | None  # an API token wrote it (then author_user_id is null)
    body: str
    mentions: list[int]
    created_at: datetime


class ReplyOut(BaseModel):
    """A queued or sent reply (the outbound worker sends it; its key is never shown).

    ``state``: queued, sending, sent, failed (``retry_at`` set: a temporary error to be
    retried; unset: refused for good), needs_credentials, rate_limited or discarded."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    in_reply_to_post_id: int
    account_id: int | None
    body: str
    state: str
    remote_id: str | None
    remote_url: str | None
    attempts: int
    retry_at: datetime | None
    last_error: str | None
    created_by: int | None
    created_by_token_id: int | None  # an API token queued it (then created_by is null)
    created_at: datetime
    sent_at: datetime | None


class ConversationDetail(ConversationOut):
    """The conversation with its whole thread (oldest first), notes and replies."""

    posts: list[ThreadPost]
    notes: list[NoteOut]
    replies: list[ReplyOut]


class StatusIn(RequestBody):
    status: Status


class AssignIn(RequestBody):
    """Either a teammate's user id (``null``: nobody) or a queue whose turn-taking picks one."""

    assignee_user_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    queue: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)

    @model_validator(mode="after")
    def _one_target(self) -> AssignIn:
        if self.queue is not None and self.assignee_user_id is not None:
            raise ValueError("give assignee_user_id or queue, not both")
        if not self.model_fields_set:  # unassigning is said, never implied by an empty body
            raise ValueError("give assignee_user_id (null: nobody) or queue")
        return self


class NoteIn(RequestBody):
    body: str = Field(min_length=1, max_length=MAX_REPLY_CHARS * 2, pattern=NO_NUL)


#: A reply's text as sent in a body (the action checks the network's own limit).
ReplyBody = Annotated[str, Field(min_length=1, max_length=MAX_REPLY_CHARS * 2, pattern=NO_NUL)]
#: The client's key of a reply: the same key again returns the reply already queued.
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="Sending the same key again returns the reply already queued.",
    ),
]


class ReplyIn(RequestBody):
    body: ReplyBody
    in_reply_to_post_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


def _bad(field: str, message: str) -> JSONResponse:
    return problem(400, f"{field} {message}", [{"field": field, "message": message}])


_STATUS_OF = {"forbidden": 403, "not_found": 404, "conflict": 409}


def _refused(exc: InboxError) -> JSONResponse:
    return problem(_STATUS_OF.get(exc.code, 400), exc.detail)


def _filter(
    session: Session,
    access: Access,
    *,
    status: str | None,
    assignee: str | None,
    queue: str | None,
    priority_min: float | None,
    intent: str | None,
    network: str | None,
    topic: str | None,
    q: str | None,
    sort: str,
) -> ConversationFilter:
    """The query parameters checked against the workspace; raises ListError naming the bad one."""
    assignee_id: int | None = None
    unassigned = False
    if assignee is not None:
        if assignee == "none":
            unassigned = True
        elif assignee == "me":
            if access.principal.user is None:
                raise ListError("assignee", "me needs a signed-in user, not an API token")
            assignee_id = access.principal.user.id
        elif assignee.isascii() and assignee.isdecimal() and 0 < int(assignee) < 2**63:
            assignee_id = int(assignee)
        else:
            raise ListError("assignee", "must be a user id, me or none")
    queue_id: int | None = None
    if queue is not None:
        found_queue = queue_by_name(session, access.ws.id, queue)
        if found_queue is None:
            raise ListError("queue", f"names no queue of this workspace: {queue!r}")
        queue_id = found_queue.id
    topic_id: int | None = None
    if topic is not None:
        try:
            topic_id = get_topic(session, access.ws.id, topic).id
        except Rejected:
            raise ListError("topic", f"names no topic of this workspace: {topic!r}") from None
    try:
        known_network = read_network(session, access.ws.id, network)
    except FilterError as exc:
        raise ListError(exc.field, exc.message) from None
    text = q.strip() if q is not None else ""
    return ConversationFilter(
        workspace_id=access.ws.id,
        status=status,
        assignee_user_id=assignee_id,
        unassigned=unassigned,
        queue_id=queue_id,
        priority_min=priority_min,
        intent=intent,
        network=known_network,
        topic_id=topic_id,
        text=text or None,
        sort=sort,
    )


def _roots(session: Session, found: list[Conversation]) -> dict[int, RootOut]:
    rows = root_summaries(session, {c.root_post_id for c in found})
    return {post_id: RootOut.of(root) for post_id, root in rows.items()}


def listed(row: Sequence[Any]) -> dict[str, Any]:
    """A list row as :class:`ConversationOut` serialises it, built without a model: the list
    is the API's busiest route, and validating what the database just gave costs more than
    the query (a test checks both give the same JSON). Unpacked by position, in the order of
    :data:`hubbub.inbox.queries.LIST_COLUMNS`."""
    (
        conversation_id, network, thread_key, status, reason, priority, explanation, assignee,
        queue_id, first_due, next_due, first_responded, last_customer, created, updated,
        root_id, root_native_id, root_url, root_created, root_text, root_handle, root_name,
    ) = row  # fmt: skip
    root = None
    if root_native_id is not None:
        root = {
            "id": root_id,
            "native_id": root_native_id,
            "url": root_url,
            "created_at": root_created,
            "text": root_text,
            "author_handle": root_handle,
            "author_name": root_name,
        }
    return {
        "id": conversation_id,
        "network": network,
        "thread_key": thread_key,
        "status": status,
        "reason": reason,
        "priority": float(priority),
        "priority_explanation": (
            orjson.Fragment(explanation) if isinstance(explanation, str) else list(explanation)
        ),
        "assignee_user_id": assignee,
        "queue_id": queue_id,
        "first_response_due": first_due,
        "next_response_due": next_due,
        "first_responded_at": first_responded,
        "last_customer_post_at": last_customer,
        "due_at": running_due(status, first_responded, first_due, next_due),
        "created_at": created,
        "updated_at": updated,
        "root": root,
    }


@router.get("/w/{slug}/conversations", response_model=ConversationList)
async def api_conversations(
    request: Request,
    session: SessionDep,
    access: ReadInbox,
    status: Status | None = None,
    assignee: Annotated[
        str | None,
        Query(max_length=24, pattern=NO_NUL, description="A user id, `me` or `none`."),
    ] = None,
    queue: Annotated[str | None, Query(min_length=1, max_length=100, pattern=NO_NUL)] = None,
    priority_min: Annotated[float | None, Query(ge=-1000, le=1000)] = None,
    intent: Intent | None = None,
    network: Annotated[str | None, Query(min_length=1, max_length=32, pattern=NO_NUL)] = None,
    topic: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Text any post of it contains."),
    ] = None,
    sort: Annotated[
        Literal["priority", "waiting"],
        Query(description="`priority`: highest first; `waiting`: longest waiting first."),
    ] = "priority",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Conversations of the workspace, filtered, one keyset page at a time. The API's busiest
    route: its page is read in the event loop on SQLite (see :func:`hubbub.web.deps.read`)."""
    assert sort in SORTS

    def one_page(reader: Session) -> ConversationPage:
        found = _filter(
            reader,
            access,
            status=status,
            assignee=assignee,
            queue=queue,
            priority_min=priority_min,
            intent=intent,
            network=network,
            topic=topic,
            q=q,
            sort=sort,
        )
        after = ConversationCursor.decode(cursor) if cursor else None
        return page_conversations(reader, found, limit, after)

    try:
        # A text, intent or topic filter tests rows one by one: one that matches nothing walks
        # every conversation (1.7 s for a text in none of 50,000), so it gets a budget.
        budget = LONG_READ_BUDGET if q or intent or topic else None
        page = await read(request, session, one_page, budget=budget)
    except ListError as exc:
        return _bad(exc.field, exc.message)
    next_cursor = page.next_cursor.encode() if page.next_cursor else None
    next_url = (
        f"{request.url.path}?{request.url.include_query_params(cursor=next_cursor).query}"
        if next_cursor is not None
        else None
    )
    body = {
        "items": [listed(row) for row in page.rows],
        "next_cursor": next_cursor,
        "next": next_url,
    }
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")


def _detail(session: Session, found: Conversation) -> ConversationDetail:
    thread = posts_of(session, found.id)
    enriched = verdicts(session, found.workspace_id, [post.id for post, _, _ in thread])
    posts = [
        ThreadPost(ours=ours, post=PostOut.of(post, author, enriched.get(post.id)))
        for post, author, ours in thread
    ]
    roots = _roots(session, [found])
    return ConversationDetail(
        **ConversationOut.of(found, roots.get(found.root_post_id)).model_dump(),
        posts=posts,
        notes=[NoteOut.model_validate(note) for note in notes_of(session, found.id)],
        replies=[ReplyOut.model_validate(reply) for reply in replies_of(session, found.id)],
    )


def _found(session: Session, access: Access, conversation_id: int) -> Conversation:
    """The workspace's conversation; 404 (as problem+json) for another workspace's or none."""
    found = conversation(session, access.ws.id, conversation_id)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id} in this workspace")
    return found


@router.get("/w/{slug}/conversations/{conversation_id}", response_model=ConversationDetail)
def api_conversation(
    session: SessionDep, access: ReadInbox, conversation_id: RowId
) -> ConversationDetail | JSONResponse:
    """One conversation with its posts (oldest first), internal notes and replies."""
    return _detail(session, _found(session, access, conversation_id))


@router.post("/w/{slug}/conversations/{conversation_id}/status", response_model=ConversationDetail)
def api_conversation_status(
    request: Request, body: StatusIn, access: WorkInbox, conversation_id: RowId
) -> ConversationDetail | JSONResponse:
    """Move it to another status; resolving or waiting stops the SLA clock."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = _found(tx, access, conversation_id)
            set_status(tx, found, body.status, actor=access.principal.actor)
            return _detail(tx, found)
    except InboxError as exc:
        return _refused(exc)


@router.post("/w/{slug}/conversations/{conversation_id}/assign", response_model=ConversationDetail)
def api_conversation_assign(
    request: Request, body: AssignIn, access: WorkInbox, conversation_id: RowId
) -> ConversationDetail | JSONResponse:
    """To a teammate (an agent or above), to whoever's turn it is in a queue, or to nobody."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = _found(tx, access, conversation_id)
            if body.queue is not None:
                assign_to_queue(tx, found, body.queue, actor=access.principal.actor)
            else:
                assign(tx, found, body.assignee_user_id, actor=access.principal.actor)
            return _detail(tx, found)
    except InboxError as exc:
        return _refused(exc)


@router.post(
    "/w/{slug}/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201
)
def api_conversation_note(
    request: Request, body: NoteIn, access: WorkInbox, conversation_id: RowId
) -> NoteOut | JSONResponse:
    """An internal note (never sent); @-mentioned teammates are recorded."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = _found(tx, access, conversation_id)
            note = add_note(tx, found, body.body, actor=access.principal.actor)
            return NoteOut.model_validate(note)
    except InboxError as exc:
        return _refused(exc)


def _reply_key(workspace_id: int, given: str) -> str:
    """The stored key for a client's ``Idempotency-Key``: scoped to the workspace, so one
    workspace's keys never collide with (or reveal) another's, and always 64 characters."""
    return hashlib.sha256(f"api:{workspace_id}:{given}".encode()).hexdigest()


@router.post(
    "/w/{slug}/conversations/{conversation_id}/replies", response_model=ReplyOut, status_code=201
)
def api_conversation_reply(
    request: Request,
    body: ReplyIn,
    access: WorkInbox,
    conversation_id: RowId,
    idempotency_key: IdempotencyKey = None,
) -> ReplyOut | JSONResponse:
    """Queue a reply in the outbox; the outbound worker sends it exactly once."""
    key = _reply_key(access.ws.id, idempotency_key) if idempotency_key is not None else None
    try:
        with transaction(request.app.state.engine) as tx:
            found = _found(tx, access, conversation_id)
            reply = queue_reply(
                tx,
                found,
                body.body,
                in_reply_to_post_id=body.in_reply_to_post_id,
                idempotency_key=key,
                actor=access.principal.actor,
                settings=request.app.state.settings,
            )
            return ReplyOut.model_validate(reply)
    except InboxError as exc:
        return _refused(exc)


@router.post(
    "/w/{slug}/conversations/{conversation_id}/replies/{reply_id}/retry",
    response_model=ReplyOut,
    responses=CONFLICT,
)
def api_reply_retry(
    request: Request, access: WorkInbox, conversation_id: RowId, reply_id: RowId
) -> ReplyOut | JSONResponse:
    """Retry now: a reply waiting for credentials or a rate limit, or failed with a temporary
    error, is queued again at once. It keeps its idempotency key, so the network is checked
    for an earlier attempt's post before anything is posted. 409 in any other state."""
    return _change_reply(request, access, conversation_id, reply_id, retry_reply)


@router.post(
    "/w/{slug}/conversations/{conversation_id}/replies/{reply_id}/discard",
    response_model=ReplyOut,
    responses=CONFLICT,
)
def api_reply_discard(
    request: Request, access: WorkInbox, conversation_id: RowId, reply_id: RowId
) -> ReplyOut | JSONResponse:
    """Discard a reply that is not sent and not being sent (state ``discarded``: never sent).
    409 for a sent, sending or discarded reply."""
    return _change_reply(request, access, conversation_id, reply_id, discard_reply)


def _change_reply(
    request: Request,
    access: Access,
    conversation_id: int,
    reply_id: int,
    change: Callable[..., OutboundReply],
) -> ReplyOut | JSONResponse:
    """Run a reply action in its own transaction: the reply as it is now, or the problem."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = _found(tx, access, conversation_id)
            reply = change(tx, found, reply_id, actor=access.principal.actor)
            return ReplyOut.model_validate(reply)
    except InboxError as exc:
        return _refused(exc)


class ReplaceIn(RequestBody):
    body: ReplyBody


@router.post(
    "/w/{slug}/conversations/{conversation_id}/replies/{reply_id}/replace",
    response_model=ReplyOut,
    status_code=201,
    responses=CONFLICT,
)
def api_reply_replace(
    request: Request,
    body: ReplaceIn,
    access: WorkInbox,
    conversation_id: RowId,
    reply_id: RowId,
    idempotency_key: IdempotencyKey = None,
) -> ReplyOut | JSONResponse:
    """Edit and send again: queue ``body`` as a new reply to the same post and discard this
    one, in one transaction. Only for a reply no attempt of which can have reached the
    network (refused for good, or waiting and never posted); 409 otherwise."""
    key = _reply_key(access.ws.id, idempotency_key) if idempotency_key is not None else None
    try:
        with transaction(request.app.state.engine) as tx:
            found = _found(tx, access, conversation_id)
            queued = replace_reply(
                tx,
                found,
                reply_id,
                body.body,
                idempotency_key=key,
                actor=access.principal.actor,
                settings=request.app.state.settings,
            )
            return ReplyOut.model_validate(queued.reply)
    except InboxError as exc:
        return _refused(exc)
