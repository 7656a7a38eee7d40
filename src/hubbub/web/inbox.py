"""Inbox pages: the conversation list with filters, and one conversation with its triage forms.

Every change goes through :mod:`hubbub.inbox.actions` (which checks the role again and writes
the audit entry); sending a queued reply is the outbound worker's job, never the page's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hubbub.accounts.permissions import Role, rank
from hubbub.accounts.queries import list_members
from hubbub.core.clock import utcnow
from hubbub.inbox.actions import (
    DISCARDABLE,
    MAX_REPLY_CHARS,
    REPEAT_WINDOW,
    InboxError,
    add_note,
    assign,
    assign_to_queue,
    discard_reply,
    mark_viewing,
    render_saved_reply,
    replace_reply,
    retry_reply,
    retryable,
    set_status,
    submit_reply,
    unreplaceable_reason,
)
from hubbub.inbox.models import STATUSES, Conversation, OutboundReply
from hubbub.inbox.outbound import MAX_AUTOMATIC_ATTEMPTS, max_reply_chars, sending_limits
from hubbub.inbox.queries import (
    DEFAULT_WARN,
    ConversationCursor,
    ConversationFilter,
    ListError,
    attempts_of,
    author_history,
    can_send_on,
    conversation,
    count_conversations,
    due_at,
    notes_of,
    page_conversations,
    posts_of,
    queues,
    replies_of,
    reply_account,
    running_due,
    saved_replies,
    unread_mentions,
    viewers,
)
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import RowId, SessionDep
from hubbub.web.filters import FilterError, Unknown, parse_flag
from hubbub.web.pages import render
from hubbub.web.queries import emails_of, root_posts, token_names

router = APIRouter(include_in_schema=False)

ReadInbox = Annotated[Access, Depends(Permit("inbox.read"))]
WorkInbox = Annotated[Access, Depends(Permit("inbox.work"))]

INBOX_PAGE = 100
# Someone who had the conversation open this recently is "on it" too.
COLLISION_WINDOW = timedelta(minutes=2)
BULK_MAX = INBOX_PAGE
#: The page's own filters; the checkboxes send ``1``.
FLAGS = ("mine", "breaching", "mentioned")
#: Parameters of the conversations API the page does not take: named in a notice if given,
#: so a query copied from the API never silently shows the whole list.
API_ONLY = ("assignee", "queue", "priority_min", "intent", "network", "topic", "q", "sort")


def parse_seen(value: str) -> datetime | None:
    """The page-load time a form carries; anything unreadable counts as unknown."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True)
class InboxView:
    """What the list shows: its filters and the page (a cursor), from a link or a form."""

    status: str | None = None
    mine: bool = False
    breaching: bool = False
    mentioned: bool = False
    cursor: str | None = None
    #: Values and parameters given that the page cannot use: it says so and shows the list
    #: without them (template ``_filter_notices.html``).
    unknown: tuple[Unknown, ...] = field(default=(), compare=False)

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> InboxView:
        """From query parameters or the bulk form's hidden fields; a value the page cannot
        use is left out and listed in ``unknown``, never silently dropped."""
        unknown: list[Unknown] = []
        status = str(values.get("status") or "")
        if status and status not in STATUSES:
            unknown.append(Unknown("status", status, "every status", ", ".join(STATUSES)))
        flags: dict[str, bool] = {}
        for name in FLAGS:
            given = str(values.get(name) or "")
            try:
                flags[name] = parse_flag(name, given)
            except FilterError:
                flags[name] = False
                unknown.append(
                    Unknown(f"{name} value", given, f"the list without {name}", "1 or 0")
                )
        filters = ", ".join(("status", *FLAGS))
        for name in API_ONLY:
            if name in values:
                unknown.append(Unknown("inbox filter", name, "the list without it", filters))
        cursor = str(values.get("cursor") or "")
        return cls(
            status=status if status in STATUSES else None,
            mine=flags["mine"],
            breaching=flags["breaching"],
            mentioned=flags["mentioned"],
            cursor=cursor[:200] or None,
            unknown=tuple(unknown),
        )

    def query(self, cursor: str | None = None) -> str:
        """This view's filters as a query string, at ``cursor`` (none: the first page)."""
        params = {
            "status": self.status or "",
            "mine": "1" if self.mine else "",
            "breaching": "1" if self.breaching else "",
            "mentioned": "1" if self.mentioned else "",
            "cursor": cursor or "",
        }
        return urlencode({key: value for key, value in params.items() if value})


@router.get("/w/{slug}/inbox")
def inbox(request: Request, session: SessionDep, access: ReadInbox) -> Response:
    """Unresolved first (in the default view), then highest priority; filters are a GET form
    and pages keyset links, so every view is a link."""
    return _inbox_page(request, session, access, InboxView.read(request.query_params))


def _inbox_page(
    request: Request,
    session: Session,
    access: Access,
    view: InboxView,
    *,
    bulk_error: str | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    me = access.principal.user.id if access.principal.user is not None else None
    only_mine = view.mine and me is not None
    only_mentioned = view.mentioned and me is not None
    wanted = ConversationFilter(
        workspace_id=access.ws.id,
        status=view.status,
        assignee_user_id=me if only_mine else None,
        mentioning_user_id=me if only_mentioned else None,
        due_by=now + DEFAULT_WARN if view.breaching else None,
        open_first=view.status is None,
    )
    error = None
    try:
        after = ConversationCursor.decode(view.cursor) if view.cursor else None
        page = page_conversations(session, wanted, INBOX_PAGE, after)
    except ListError as exc:
        error, page = f"{exc.field} {exc.message}", None
        status_code = 400
    found = page.rows if page is not None else []
    unread = unread_mentions(session, access.ws.id, me) if me is not None else {}
    emails = emails_of(session, {c.assignee_user_id for c in found if c.assignee_user_id})
    roots = root_posts(session, {c.root_post_id for c in found})
    rows = []
    for c in found:
        due = running_due(c.status, c.first_responded_at, c.first_response_due, c.next_response_due)
        rows.append(
            {
                "conversation": c,
                "assignee": emails.get(c.assignee_user_id) if c.assignee_user_id else None,
                "due": due,
                "late": due is not None and due <= now,
                "root": roots.get(c.root_post_id),
                "unread_mentions": unread.get(c.id, 0),
            }
        )
    next_cursor = page.next_cursor if page is not None else None
    return render(
        request,
        session,
        access,
        "inbox",
        {
            "rows": rows,
            "statuses": STATUSES,
            "form": {
                "status": view.status or "",
                "mine": only_mine,
                "breaching": view.breaching,
                "mentioned": only_mentioned,
                "cursor": view.cursor or "",
            },
            "error": error,
            "unknown_filters": view.unknown,
            "total": count_conversations(session, wanted),
            "page_size": INBOX_PAGE,
            "next_query": view.query(next_cursor.encode()) if next_cursor else None,
            "first_query": view.query() if view.cursor else None,
            "signed_in_user": me is not None,
            "unread_total": sum(unread.values()),
            "queues": queues(session, access.ws.id),
            "bulk_error": bulk_error,
            "bulk_done": _bulk_notice(request, session, access) if bulk_error is None else None,
        },
        status_code,
    )


def _conversation(session: Session, access: Access, conversation_id: int) -> Conversation:
    found = conversation(session, access.ws.id, conversation_id)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation_id} in this workspace")
    return found


def _reply_views(session: Session, replies: list[OutboundReply]) -> dict[int, dict[str, Any]]:
    """For each reply that did not go out: its last attempt and what may be done with it."""
    views: dict[int, dict[str, Any]] = {}
    for reply in replies:
        if reply.state == "sent":
            continue
        attempts = attempts_of(session, reply.id)
        views[reply.id] = {
            "last": attempts[-1] if attempts else None,
            "retry": retryable(reply),
            "edit": unreplaceable_reason(session, reply) is None,
            "discard": reply.state in DISCARDABLE,
            "gave_up": reply.state == "failed"
            and reply.retry_at is not None
            and reply.attempts >= MAX_AUTOMATIC_ATTEMPTS,
        }
    return views


def _conversation_page(
    request: Request,
    session: Session,
    access: Access,
    conversation_id: int,
    *,
    error: str | None = None,
    reply_error: str | None = None,
    draft: str = "",
    note_draft: str = "",
    collision: list[OutboundReply] | None = None,
    repeated: int | None = None,
    editing: OutboundReply | None = None,
    reply_key: str | None = None,
    status_code: int = 200,
) -> Response:
    found = _conversation(session, access, conversation_id)
    now = utcnow()
    me = access.principal.user.id if access.principal.user is not None else None
    if me is not None:
        with transaction(request.app.state.engine) as tx:
            mark_viewing(tx, found, me, now)
    others = viewers(session, found.id, since=now - COLLISION_WINDOW, other_than=me)
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
    users |= {user_id for user_id, _ in others}
    if found.assignee_user_id:
        users.add(found.assignee_user_id)
    account = reply_account(session, found.workspace_id, found.network)
    limits = sending_limits(  # cached; an unreachable server is asked once, briefly
        request.app.state.settings, found.network, account.service_url if account else None
    )
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
        "reply_views": _reply_views(session, replies),
        "editing": editing,
        "emails": emails_of(session, users),
        "tokens": token_names(
            session,
            {r.created_by_token_id for r in replies if r.created_by_token_id}
            | {n.author_token_id for n in notes if n.author_token_id},
        ),
        "due": due_at(found),
        "statuses": STATUSES,
        "error": error,
        "reply_error": reply_error,
        "reply_limit": max_reply_chars(found.network, limits),
        "reply_limit_source": limits.source if limits is not None else "",
        "reply_waits": not can_send_on(session, found.workspace_id, found.network),
        "draft": draft,
        "note_draft": note_draft,
        "max_chars": MAX_REPLY_CHARS,
        "reply_key": reply_key or uuid.uuid4().hex,
        "viewers": others,
        "seen": now.isoformat(),
        "collision": collision,
        # Only a reply of this conversation is named, whatever the query string says.
        "repeated": next((r for r in replies if r.id == repeated), None),
        "my_user_id": me,
    }
    return render(request, session, access, "conversation", context, status_code)


@router.get("/w/{slug}/inbox/{conversation_id}")
def conversation_page(
    request: Request,
    session: SessionDep,
    access: ReadInbox,
    conversation_id: RowId,
    saved: Annotated[str, Query(max_length=100)] = "",
    repeated: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    edit: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
) -> Response:
    """The thread, its replies and notes; ``saved`` fills the reply box from a saved reply;
    ``repeated`` names a reply a second submit found already queued (a notice says so);
    ``edit`` names a reply that did not go out, whose text fills the box to send again."""
    draft = ""
    if edit is not None:
        found = _conversation(session, access, conversation_id)
        editing = next((r for r in replies_of(session, found.id) if r.id == edit), None)
        if editing is None:
            raise HTTPException(404, f"no reply {edit} in this conversation")
        why = unreplaceable_reason(session, editing)
        if why is not None:
            return _conversation_page(
                request, session, access, conversation_id, error=why, status_code=409
            )
        return _conversation_page(
            request, session, access, conversation_id, draft=editing.body, editing=editing
        )
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
    return _conversation_page(
        request, session, access, conversation_id, draft=draft, repeated=repeated
    )


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
    seen: Annotated[str, Form(max_length=64)] = "",
    send_anyway: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Queue a reply; the form's idempotency key makes a double submit queue it once, and the
    same text sent again by the same person within ``REPEAT_WINDOW`` (after a reload, with a
    new key) returns the reply already queued: the page then says so instead of queuing two.

    If a teammate queued a reply here after this page was loaded (``seen``), nothing is sent:
    the page comes back with their reply and the draft, to send anyway or drop.
    """
    since = parse_seen(seen)
    if not send_anyway and since is not None:
        me = access.principal.actor.user_id
        found = _conversation(session, access, conversation_id)
        theirs = [r for r in replies_of(session, found.id) if r.created_at > since]
        theirs = [r for r in theirs if r.created_by != me]
        if theirs:
            return _conversation_page(
                request,
                session,
                access,
                conversation_id,
                draft=body,
                collision=theirs,
                status_code=409,
            )
    try:
        with transaction(request.app.state.engine) as tx:
            queued = submit_reply(
                tx,
                _conversation(tx, access, conversation_id),
                body,
                idempotency_key=idempotency_key or None,
                repeat_window=REPEAT_WINDOW,
                actor=access.principal.actor,
                settings=request.app.state.settings,
            )
    except InboxError as exc:
        return _conversation_page(
            request,
            session,
            access,
            conversation_id,
            reply_error=exc.detail,
            draft=body,
            status_code=400,
        )
    if queued.repeated:
        return RedirectResponse(
            f"/w/{access.ws.slug}/inbox/{conversation_id}?repeated={queued.reply.id}"
            f"#reply-{queued.reply.id}",
            status_code=303,
        )
    return _back(access, conversation_id)


def _reply_refused(
    request: Request,
    session: Session,
    access: Access,
    conversation_id: int,
    exc: InboxError,
    **page: Any,
) -> Response:
    """The conversation again with the refusal named: 409 for a reply in the wrong state."""
    if exc.code == "not_found":
        raise HTTPException(404, exc.detail)
    status = {"conflict": 409, "forbidden": 403}.get(exc.code, 400)
    if "draft" in page:
        page["reply_error"] = exc.detail
    else:
        page["error"] = exc.detail
    return _conversation_page(request, session, access, conversation_id, status_code=status, **page)


@router.post("/w/{slug}/inbox/{conversation_id}/replies/{reply_id}/retry")
def conversation_reply_retry(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    reply_id: RowId,
) -> Response:
    """Retry now: a reply waiting for credentials, a rate limit or a temporary failure becomes
    due at once (the same reply and key, so the network is checked before it is posted)."""
    return _change_reply(request, session, access, conversation_id, reply_id, retry_reply)


@router.post("/w/{slug}/inbox/{conversation_id}/replies/{reply_id}/discard")
def conversation_reply_discard(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    reply_id: RowId,
) -> Response:
    """Discard a reply that is not sent and not being sent: it is never sent."""
    return _change_reply(request, session, access, conversation_id, reply_id, discard_reply)


def _change_reply(
    request: Request,
    session: Session,
    access: Access,
    conversation_id: int,
    reply_id: int,
    change: Callable[..., OutboundReply],
) -> Response:
    """Run a reply action in its own transaction; back to the reply, or the page with why not."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = _conversation(tx, access, conversation_id)
            change(tx, found, reply_id, actor=access.principal.actor)
    except InboxError as exc:
        return _reply_refused(request, session, access, conversation_id, exc)
    return RedirectResponse(
        f"/w/{access.ws.slug}/inbox/{conversation_id}#reply-{reply_id}", status_code=303
    )


@router.post("/w/{slug}/inbox/{conversation_id}/replies/{reply_id}/replace")
def conversation_reply_replace(
    request: Request,
    session: SessionDep,
    access: WorkInbox,
    conversation_id: RowId,
    reply_id: RowId,
    body: Annotated[str, Form(max_length=MAX_REPLY_CHARS * 2)] = "",
    idempotency_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Edit and send again: the edited text is queued as a new reply (the form's key makes a
    double submit queue it once) and the old one, which certainly did not go out, is
    discarded in the same transaction."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = _conversation(tx, access, conversation_id)
            queued = replace_reply(
                tx,
                found,
                reply_id,
                body,
                idempotency_key=idempotency_key or None,
                actor=access.principal.actor,
                settings=request.app.state.settings,
            )
    except InboxError as exc:
        editing = next((r for r in replies_of(session, conversation_id) if r.id == reply_id), None)
        if exc.code == "conflict" or editing is None:
            return _reply_refused(request, session, access, conversation_id, exc)
        return _reply_refused(
            request,
            session,
            access,
            conversation_id,
            exc,
            draft=body,
            editing=editing,
            reply_key=idempotency_key or None,
        )
    return RedirectResponse(
        f"/w/{access.ws.slug}/inbox/{conversation_id}#reply-{queued.reply.id}", status_code=303
    )


@router.post("/w/{slug}/inbox/bulk")
async def inbox_bulk(request: Request, session: SessionDep, access: WorkInbox) -> Response:
    """One change to many conversations (the checked rows): a status, an assignment or a
    queue. All or nothing: one refused conversation leaves every one as it was. The form
    carries the list's view, so the page comes back as it was, with a refusal named on it."""
    form = await request.form()
    view = InboxView.read(form)
    try:
        done = _bulk(request, access, form)
    except InboxError as exc:
        return _inbox_page(
            request,
            session,
            access,
            view,
            bulk_error=exc.detail,
            status_code=403 if exc.code == "forbidden" else 400,
        )
    back = view.query(view.cursor)
    back = f"{back}&" if back else ""
    count, action = done
    notice = urlencode({"bulk_done": count, "bulk_action": action})
    return RedirectResponse(f"/w/{access.ws.slug}/inbox?{back}{notice}", status_code=303)


def _bulk_notice(request: Request, session: Session, access: Access) -> str | None:
    """What the last bulk action did, from the redirect's query; only a count and an action
    the form offers are shown, so a crafted link cannot put its own words on the page."""
    count = request.query_params.get("bulk_done", "")
    action = request.query_params.get("bulk_action", "")
    kind, _, value = action.partition(":")
    offered = (
        (kind == "status" and value in STATUSES)
        or (kind == "assign" and value in ("me", "none"))
        or (kind == "queue" and value in {q.name for q in queues(session, access.ws.id)})
    )
    if not (count.isdecimal() and len(count) <= 4 and offered):
        return None
    return f"{int(count)} conversation(s): {action}"


def _bulk(request: Request, access: Access, form: FormData) -> tuple[int, str]:
    """Apply the bulk form's action in one transaction; returns how many and what."""
    action = str(form.get("action") or "")
    ids = [str(value) for value in form.getlist("ids")]
    if not ids:
        raise InboxError("select at least one conversation (check its row), then apply")
    if len(ids) > BULK_MAX or not all(i.isdecimal() and len(i) < 19 for i in ids):
        raise InboxError(f"choose 1 to {BULK_MAX} conversations")
    kind, _, value = action.partition(":")
    actor = access.principal.actor
    with transaction(request.app.state.engine) as tx:
        for conversation_id in dict.fromkeys(int(i) for i in ids):
            found = _conversation(tx, access, conversation_id)
            if kind == "status":
                set_status(tx, found, value, actor=actor)
            elif kind == "assign" and value == "me" and actor.user_id is not None:
                assign(tx, found, actor.user_id, actor=actor)
            elif kind == "assign" and value == "none":
                assign(tx, found, None, actor=actor)
            elif kind == "queue" and value:
                assign_to_queue(tx, found, value, actor=actor)
            else:
                raise InboxError(f"{action[:40]!r} is not a bulk action")
    return len(set(ids)), action
