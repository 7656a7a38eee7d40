"""Inbox pages: the conversation list with filters, and one conversation with its triage forms.

Every change goes through :mod:`hubbub.inbox.actions` (which checks the role again and writes
the audit entry); sending a queued reply is the outbound worker's job, never the page's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hubbub.accounts.permissions import Role, rank
from hubbub.accounts.queries import list_members
from hubbub.core.clock import utcnow
from hubbub.inbox.actions import (
    MAX_REPLY_CHARS,
    InboxError,
    add_note,
    assign,
    assign_to_queue,
    queue_reply,
    render_saved_reply,
    set_status,
)
from hubbub.inbox.models import STATUSES, Conversation
from hubbub.inbox.queries import (
    author_history,
    conversation,
    due_at,
    list_conversations,
    notes_of,
    posts_of,
    queues,
    replies_of,
    saved_replies,
)
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import RowId, SessionDep
from hubbub.web.pages import render
from hubbub.web.queries import emails_of, root_posts

router = APIRouter(include_in_schema=False)

ReadInbox = Annotated[Access, Depends(Permit("inbox.read"))]
WorkInbox = Annotated[Access, Depends(Permit("inbox.work"))]

INBOX_PAGE = 100


@router.get("/w/{slug}/inbox")
def inbox(
    request: Request,
    session: SessionDep,
    access: ReadInbox,
    status: str | None = None,
    mine: str | None = None,
    breaching: str | None = None,
) -> Response:
    """Highest priority first; filters are a GET form, so every view is a link."""
    now = utcnow()
    status = status if status in STATUSES else None
    me = access.principal.user.id if access.principal.user is not None else None
    only_mine = bool(mine) and me is not None
    found = list_conversations(
        session,
        access.ws.id,
        status=status,
        assignee_user_id=me if only_mine else None,
        breaching=bool(breaching),
        now=now,
        limit=INBOX_PAGE,
    )
    emails = emails_of(session, {c.assignee_user_id for c in found if c.assignee_user_id})
    roots = root_posts(session, {c.root_post_id for c in found})
    rows = [
        {
            "conversation": c,
            "assignee": emails.get(c.assignee_user_id) if c.assignee_user_id else None,
            "due": due_at(c),
            "late": (due := due_at(c)) is not None and due <= now,
            "root": roots.get(c.root_post_id),
        }
        for c in found
    ]
    return render(
        request,
        session,
        access,
        "inbox",
        {
            "rows": rows,
            "statuses": STATUSES,
            "form": {"status": status or "", "mine": only_mine, "breaching": bool(breaching)},
            "signed_in_user": me is not None,
        },
    )


def _conversation(session: Session, access: Access, conversation_id: int) -> Conversation:
    found = conversation(session, access.ws.id, conversation_id)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id} in this workspace")
    return found


def _conversation_page(
    request: Request,
    session: Session,
    access: Access,
    conversation_id: int,
    *,
    error: str | None = None,
    draft: str = "",
    note_draft: str = "",
    status_code: int = 200,
) -> Response:
    found = _conversation(session, access, conversation_id)
    posts = posts_of(session, found.id)
    customer = next((author for _post, author, ours in posts if not ours), None)
    history = (
        [c for c in author_history(session, access.ws.id, customer.id) if c.id != found.id]
        if customer is not None
        else []
    )
    notes = notes_of(session, found.id)
    replies = replies_of(session, found.id)
    users = {n.author_user_id for n in notes if n.author_user_id}
    users |= {r.created_by for r in replies if r.created_by}
    if found.assignee_user_id:
        users.add(found.assignee_user_id)
    context: dict[str, Any] = {
        "conversation": found,
        "posts": posts,
        "customer": customer,
        "history": history,
        "agents": [
            (user, role)
            for user, role in list_members(session, access.ws.id)
            if rank(role) >= rank(Role.AGENT) and user.active
        ],
        "queues": queues(session, access.ws.id),
        "saved_replies": saved_replies(session, access.ws.id),
        "notes": notes,
        "replies": replies,
        "emails": emails_of(session, users),
        "due": due_at(found),
        "statuses": STATUSES,
        "error": error,
        "draft": draft,
        "note_draft": note_draft,
        "max_chars": MAX_REPLY_CHARS,
        "reply_key": uuid.uuid4().hex,
    }
    return render(request, session, access, "conversation", context, status_code)


@router.get("/w/{slug}/inbox/{conversation_id}")
def conversation_page(
    request: Request,
    session: SessionDep,
    access: ReadInbox,
    conversation_id: RowId,
    saved: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The thread, its replies and notes; ``saved`` fills the reply box from a saved reply."""
    draft = ""
    if saved:
        try:
            draft = render_saved_reply(
                session,
                _conversation(session, access, conversation_id),
                saved,
                actor=access.principal.actor,
            )
        except InboxError as exc:
            return _conversation_page(
                request, session, access, conversation_id, error=exc.detail, status_code=400
            )
    return _conversation_page(request, session, access, conversation_id, draft=draft)


def _back(access: Access, conversation_id: int) -> Response:
    return RedirectResponse(f"/w/{access.ws.slug}/inbox/{conversation_id}", status_code=303)


@router.post("/w/{slug}/inbox/{conversation_id}/status")
def conversation_status(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        with transaction(request.app.state.engine) as tx:
            set_status(
                tx,
                _conversation(tx, access, conversation_id),
                status,
                actor=access.principal.actor,
            )
    except InboxError as exc:
        return _conversation_page(
            request, session, access, conversation_id, error=exc.detail, status_code=400
        )
    return _back(access, conversation_id)


@router.post("/w/{slug}/inbox/{conversation_id}/assign")
def conversation_assign(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    assignee: Annotated[str, Form(max_length=24)] = "",
    queue: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """To a teammate by hand, to whoever's turn it is in a queue, or back to nobody."""
    actor = access.principal.actor
    try:
        with transaction(request.app.state.engine) as tx:
            found = _conversation(tx, access, conversation_id)
            if queue:
                assign_to_queue(tx, found, queue, actor=actor)
            elif assignee.isdecimal() and 0 < int(assignee) < 2**63:
                assign(tx, found, int(assignee), actor=actor)
            elif not assignee:
                assign(tx, found, None, actor=actor)
            else:
                raise InboxError(f"{assignee!r} is not a teammate")
    except InboxError as exc:
        return _conversation_page(
            request, session, access, conversation_id, error=exc.detail, status_code=400
        )
    return _back(access, conversation_id)


@router.post("/w/{slug}/inbox/{conversation_id}/notes")
def conversation_note(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    body: Annotated[str, Form(max_length=MAX_REPLY_CHARS * 2)] = "",
) -> Response:
    try:
        with transaction(request.app.state.engine) as tx:
            add_note(
                tx, _conversation(tx, access, conversation_id), body, actor=access.principal.actor
            )
    except InboxError as exc:
        return _conversation_page(
            request,
            session,
            access,
            conversation_id,
            error=exc.detail,
            note_draft=body,
            status_code=400,
        )
    return _back(access, conversation_id)


@router.post("/w/{slug}/inbox/{conversation_id}/replies")
def conversation_reply(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    body: Annotated[str, Form(max_length=MAX_REPLY_CHARS * 2)] = "",
    idempotency_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Queue a reply; the form's idempotency key makes a double submit queue it once."""
    try:
        with transaction(request.app.state.engine) as tx:
            queue_reply(
                tx,
                _conversation(tx, access, conversation_id),
                body,
                idempotency_key=idempotency_key or None,
                actor=access.principal.actor,
            )
    except InboxError as exc:
        return _conversation_page(
            request,
            session,
            access,
            conversation_id,
            error=exc.detail,
            draft=body,
            status_code=400,
        )
    return _back(access, conversation_id)
