"""Every write of the inbox. Each change writes an audit entry in the caller's transaction.

Replies are an outbox: :func:`queue_reply` stores the reply with its idempotency key,
:func:`claim_reply` marks one attempt as started (committed before any HTTP, so a crash
leaves a trace) and :func:`finish_reply` records how it ended. ``hubbub.inbox.outbound``
runs the network part between the two.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.orm import Session

from hubbub.accounts.actions import CLI, Actor, record_audit
from hubbub.accounts.models import ApiToken, Membership, User
from hubbub.accounts.permissions import Role, at_least
from hubbub.alerts.cases import case_openers
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected, UnsafeURL
from hubbub.enrich.intent import classify
from hubbub.enrich.sentiment import score as sentiment_scores
from hubbub.inbox import priority, queries
from hubbub.inbox.delivery import Outcome, ReplyJob
from hubbub.inbox.limits import Limits
from hubbub.inbox.models import (
    STATUSES,
    BusinessHours,
    Conversation,
    ConversationPost,
    ConversationView,
    MentionMail,
    Note,
    OutboundReply,
    Queue,
    ReplyAttempt,
    SavedReply,
    WorkspaceAccount,
)
from hubbub.inbox.sla import Schedule
from hubbub.inbox.templates import check_template, render_template
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.sources.net import refuse_private_literal
from hubbub.sources.secrets import decrypt_credentials, encrypt_credentials
from hubbub.store.dialect import chunks, insert_updating_on_conflict
from hubbub.webhooks.actions import enqueue
from hubbub.workspaces.models import Workspace

#: Intents that make a post need an answer even when it does not name the brand's accounts.
ACTION_INTENTS = frozenset({"question", "complaint", "support_request", "purchase_intent"})
#: A reply left in ``sending`` longer than this (a crashed sender) may be claimed again.
SENDING_LEASE = timedelta(minutes=2)
CLAIMABLE = ("queued", "failed", "rate_limited", "needs_credentials")
MAX_REPLY_CHARS = 5000
#: The same person sending the same text to the same conversation again within this window (a
#: reload then a second submit: the form's key is new) gets the reply already in the outbox.
REPEAT_WINDOW = timedelta(minutes=10)
#: States of a reply that is sent or still on its way (a failure with no retry is neither).
_ON_ITS_WAY = ("queued", "sending", "sent", "rate_limited", "needs_credentials")
#: States a person may discard a reply in: not sent, not being sent, not discarded already.
DISCARDABLE = ("queued", "failed", "rate_limited", "needs_credentials")
#: Attempt outcomes after which the network certainly holds no post of the reply: the server
#: (or our guard) refused before creating anything. A transient error may have come after the
#: server made the post, so it is not one of them.
NOT_POSTED = frozenset({"refused", "unauthorized", "no_account", "rate_limited", "hourly_limit"})
#: Statuses with an SLA clock that may run: what a deleted post can leave nothing to answer in.
ACTIVE = ("new", "open", "waiting")
#: The reason recorded (audit entries, the ``conversation.resolved`` webhook) for a change made
#: because the customer deleted their post on the network.
POST_DELETED = "post_deleted"
#: The last error of a reply that was not sent because the post it answers is deleted.
PARENT_DELETED = "not sent: the post it answers was deleted on the network"
#: Parts of the priority read from a post's own text; the others come from the thread's
#: reason, the author, time or an alert.
_TEXT_FACTORS = ("intent", "negativity")
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)")


class InboxError(Rejected):
    """A refused inbox change, with a message fit to show the person who asked for it."""

    def __init__(self, detail: str, code: str = "inbox") -> None:
        super().__init__(code, detail)


# ---- who may ------------------------------------------------------------------------------


def _require(session: Session, actor: Actor, workspace_id: int, minimum: Role) -> None:
    """Users and tokens need ``minimum`` in the workspace; the command line may do anything."""
    role: str | None
    if actor.user_id is not None:
        role = session.scalar(
            select(Membership.role).where(
                Membership.user_id == actor.user_id, Membership.workspace_id == workspace_id
            )
        )
    elif actor.token_id is not None:
        token = session.get(ApiToken, actor.token_id)
        role = token.role if token is not None and token.workspace_id == workspace_id else None
    else:
        return
    if not at_least(role, minimum):
        raise InboxError(f"this needs the {minimum.value} role or above", "forbidden")


def _member(session: Session, workspace_id: int, user_id: int) -> User:
    """A user who may work conversations here (agent or above)."""
    user = session.get(User, user_id)
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.workspace_id == workspace_id
        )
    )
    if user is None or not user.active or not at_least(role, Role.AGENT):
        raise InboxError(f"user {user_id} is not an active agent (or above) of this workspace")
    return user


def _audit(
    session: Session,
    action: str,
    conversation: Conversation,
    actor: Actor,
    detail: dict[str, Any] | None = None,
) -> None:
    record_audit(
        session,
        action,
        actor=actor,
        target=f"conversation:{conversation.id}",
        workspace_id=conversation.workspace_id,
        detail=detail,
    )


def _webhook(
    session: Session, event: str, conversation: Conversation, extra: dict[str, Any]
) -> None:
    """Queue the webhook event in this transaction (nothing leaves if it rolls back)."""
    data = {
        "conversation": {
            "id": conversation.id,
            "network": conversation.network,
            "thread_key": conversation.thread_key,
            "status": conversation.status,
            "reason": conversation.reason,
            "priority": conversation.priority,
            "assignee_user_id": conversation.assignee_user_id,
            "queue_id": conversation.queue_id,
            "created_at": conversation.created_at.isoformat(),
        },
        **extra,
    }
    enqueue(session, conversation.workspace_id, event, data)


# ---- setup: accounts, hours, queues, saved replies -----------------------------------------


#: The secrets each network's replies need (see ``inbox.outbound``'s channels).
ACCOUNT_SECRETS: dict[str, tuple[str, ...]] = {
    "mastodon": ("access_token",),
    "bluesky": ("app_password",),
}


def add_account(
    session: Session,
    settings: Settings,
    workspace_id: int,
    network: str,
    native_author_id: str,
    handle: str,
    *,
    service_url: str | None = None,
    secrets: dict[str, str] | None = None,
    actor: Actor = CLI,
) -> WorkspaceAccount:
    """Record (or update) one of the brand's own accounts; secrets are stored encrypted."""
    _require(session, actor, workspace_id, Role.ADMIN)
    if not native_author_id.strip() or not handle.strip():
        raise InboxError("an account needs its network id and handle")
    if network in ACCOUNT_SECRETS:
        unknown = set(secrets or {}) - set(ACCOUNT_SECRETS[network])
        if unknown:
            raise InboxError(f"{network} accounts take no secret {', '.join(sorted(unknown))}")
    if service_url:
        parts = urlsplit(service_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InboxError(
                "the server is an http(s) URL such as https://mastodon.social,"
                f" not {service_url[:80]!r}"
            )
        try:
            refuse_private_literal(service_url, settings)
        except UnsafeURL as exc:
            raise InboxError(str(exc)) from None
    found = session.scalar(
        select(WorkspaceAccount).where(
            WorkspaceAccount.workspace_id == workspace_id,
            WorkspaceAccount.network == network,
            WorkspaceAccount.native_author_id == native_author_id,
        )
    )
    if found is None:
        found = WorkspaceAccount(
            workspace_id=workspace_id,
            network=network,
            native_author_id=native_author_id,
            created_at=utcnow(),
        )
        session.add(found)
    found.handle = handle.strip()
    found.service_url = service_url.rstrip("/") if service_url else None
    requeued = 0
    if secrets is not None:
        found.credentials = encrypt_credentials(settings, secrets)
        requeued = _requeue_waiting_for_credentials(session, workspace_id, network)
    session.flush()
    record_audit(
        session,
        "inbox.account",
        actor=actor,
        target=f"inbox_account:{found.id}",
        workspace_id=workspace_id,
        detail={
            "network": network,
            "handle": found.handle,
            "secrets": sorted(secrets or {}),
            "requeued": requeued,
        },
    )
    return found


def _requeue_waiting_for_credentials(session: Session, workspace_id: int, network: str) -> int:
    """New credentials for a network: the workspace's replies that waited for them there are
    due again (same key and attempt count, so the network is still checked before posting)."""
    waiting = select(Conversation.id).where(
        Conversation.workspace_id == workspace_id, Conversation.network == network
    )
    changed = session.execute(
        update(OutboundReply)
        .where(
            OutboundReply.workspace_id == workspace_id,
            OutboundReply.state == "needs_credentials",
            OutboundReply.conversation_id.in_(waiting),
        )
        .values(state="queued", retry_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(changed.rowcount or 0)  # type: ignore[attr-defined]


def set_business_hours(
    session: Session,
    workspace_id: int,
    timezone: str,
    weekly: dict[str, Any],
    *,
    first_response_minutes: int,
    next_response_minutes: int,
    actor: Actor = CLI,
) -> BusinessHours:
    """The team's hours and SLA targets; validated before anything is stored."""
    _require(session, actor, workspace_id, Role.MANAGER)
    Schedule.parse(timezone, weekly)
    if first_response_minutes <= 0 or next_response_minutes <= 0:
        raise InboxError("SLA targets are positive minutes")
    row = session.get(BusinessHours, workspace_id)
    if row is None:
        row = BusinessHours(workspace_id=workspace_id)
        session.add(row)
    row.timezone = timezone
    row.weekly = weekly
    row.first_response_minutes = first_response_minutes
    row.next_response_minutes = next_response_minutes
    row.updated_at = utcnow()
    session.flush()
    record_audit(
        session,
        "inbox.hours",
        actor=actor,
        target=f"workspace:{workspace_id}",
        workspace_id=workspace_id,
        detail={"timezone": timezone, "first": first_response_minutes},
    )
    return row


def create_queue(
    session: Session,
    workspace_id: int,
    name: str,
    member_ids: Sequence[int],
    *,
    actor: Actor = CLI,
) -> Queue:
    """A team queue whose members take conversations in turn."""
    _require(session, actor, workspace_id, Role.MANAGER)
    label = name.strip()
    if not label or len(label) > 100:
        raise InboxError("a queue needs a name of 1 to 100 characters")
    if queries.queue_by_name(session, workspace_id, label) is not None:
        raise InboxError(f"queue {label!r} exists already")
    members = list(dict.fromkeys(member_ids))
    for user_id in members:
        _member(session, workspace_id, user_id)
    queue = Queue(
        workspace_id=workspace_id, name=label, members=members, next_index=0, created_at=utcnow()
    )
    session.add(queue)
    session.flush()
    record_audit(
        session,
        "inbox.queue",
        actor=actor,
        target=f"inbox_queue:{queue.id}",
        workspace_id=workspace_id,
        detail={"name": label, "members": members},
    )
    return queue


def save_reply_template(
    session: Session, workspace_id: int, name: str, body: str, *, actor: Actor = CLI
) -> SavedReply:
    """Store a saved reply (replacing one of the same name) once its template checks out."""
    _require(session, actor, workspace_id, Role.AGENT)
    label = name.strip()
    if not label or len(label) > 100:
        raise InboxError("a saved reply needs a name of 1 to 100 characters")
    check_template(body)
    found = queries.saved_reply(session, workspace_id, label)
    if found is None:
        found = SavedReply(workspace_id=workspace_id, name=label, created_at=utcnow())
        session.add(found)
    found.body = body
    session.flush()
    record_audit(
        session,
        "inbox.saved_reply",
        actor=actor,
        target=f"inbox_saved_reply:{found.id}",
        workspace_id=workspace_id,
        detail={"name": label},
    )
    return found


# ---- opening conversations ------------------------------------------------------------------


def _thread_key(post: Post) -> str:
    return post.thread_root or post.native_id


def open_conversations_for(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int],
    *,
    now: datetime | None = None,
    actor: Actor = CLI,
) -> list[Conversation]:
    """Open (or extend) conversations for stored posts that need action.

    A post needs action when it mentions one of the workspace's own accounts, replies to one
    of their posts, or its intent is a question, complaint, support request or purchase
    intent. A later post of the same thread joins that thread's conversation whatever it
    says; one of our own posts there counts as our response. Posts already in a conversation
    are skipped, so running this twice over the same posts changes nothing.
    """
    now = now or utcnow()
    wanted = sorted(set(post_ids))
    rows: list[tuple[Post, Author]] = []
    seen: set[int] = set()
    for part in chunks(wanted):
        rows.extend(
            (post, author)
            for post, author in session.execute(
                select(Post, Author)
                .join(Author, Author.id == Post.author_id)
                .where(
                    Post.workspace_id == workspace_id,
                    Post.id.in_(part),
                    Post.deleted.is_(False),
                    Post.kind != "reshare",
                )
            )
        )
        seen.update(
            session.scalars(
                select(ConversationPost.post_id).where(ConversationPost.post_id.in_(part))
            )
        )
    rows = [row for row in rows if row[0].id not in seen]
    if not rows:
        return []
    rows.sort(key=lambda row: (row[0].created_at, row[0].id))

    own_accounts = queries.accounts(session, workspace_id)
    own_ids = {(a.network, a.native_author_id) for a in own_accounts}
    own_handles = {(a.network, a.handle.lower().lstrip("@")) for a in own_accounts}

    # Which parents are posts of our own accounts (a reply to us needs an answer).
    parents = sorted({post.reply_to for post, _ in rows if post.reply_to})
    own_parents: set[tuple[str, str]] = set()
    for part in chunks(parents):
        for network, native_id, author_native in session.execute(
            select(Post.network, Post.native_id, Author.native_id)
            .join(Author, Author.id == Post.author_id)
            .where(Post.workspace_id == workspace_id, Post.native_id.in_(part))
        ):
            if (network, author_native) in own_ids:
                own_parents.add((network, native_id))

    theirs = [
        (post, author) for post, author in rows if (post.network, author.native_id) not in own_ids
    ]
    texts = [post.text or "" for post, _ in theirs]
    intents = dict(zip((p.id for p, _ in theirs), classify(texts), strict=True)) if texts else {}
    moods = (
        dict(zip((p.id for p, _ in theirs), sentiment_scores(texts), strict=True)) if texts else {}
    )

    rules = queries.policy(session, workspace_id)
    touched: dict[int, Conversation] = {}
    root_times: dict[int, datetime] = {}
    by_thread: dict[tuple[str, str], Conversation] = {}

    for post, author in rows:
        ours = (post.network, author.native_id) in own_ids
        found = _conversation_for(session, workspace_id, post, by_thread)
        if found is None:
            if ours:
                continue
            reason = _reason(post, own_ids, own_handles, own_parents, intents[post.id].label)
            if reason is None:
                continue
            verdict = intents[post.id]
            total, explanation = priority.score(
                reason=reason,
                intent=verdict.label,
                intent_score=verdict.score,
                sentiment=moods[post.id].score,
                followers=author.followers,
                waiting_since=post.created_at,
                now=now,
            )
            found = Conversation(
                workspace_id=workspace_id,
                network=post.network,
                thread_key=_thread_key(post),
                root_post_id=post.id,
                status="new",
                reason=reason,
                priority=total,
                priority_explanation=explanation,
                first_response_due=rules.schedule.add(
                    post.created_at, rules.first_response_minutes
                ),
                last_customer_post_at=post.created_at,
                created_at=now,
                updated_at=now,
            )
            session.add(found)
            session.flush()
            _audit(session, "conversation.open", found, actor, {"reason": reason, "post": post.id})
            _webhook(
                session,
                "conversation.created",
                found,
                {"post": {"id": post.id, "native_id": post.native_id, "url": post.url}},
            )
        else:
            if ours and post.created_at <= _root_time(session, found, root_times):
                continue  # our post the thread started from is context, not an answer
            _join(found, post, ours, rules, now)
            _audit(session, "conversation.post", found, actor, {"post": post.id, "ours": ours})
        session.add(
            ConversationPost(conversation_id=found.id, post_id=post.id, ours=ours, added_at=now)
        )
        by_thread[(found.network, _thread_key(post))] = found
        by_thread[(found.network, post.native_id)] = found
        touched[found.id] = found
    session.flush()
    return list(touched.values())


#: Points an alert's case adds to the priority, by the playbook's ``open_case`` priority.
ALERT_PRIORITY_POINTS: dict[str, float] = {
    "low": 10.0,
    "normal": 25.0,
    "high": 50.0,
    "urgent": 80.0,
}


def _alert_post_refs(alert: Mapping[str, Any]) -> list[str]:
    """References (URL or network id) of the posts an alert names as its examples."""
    explanation = alert.get("explanation") or {}
    refs: list[str] = []
    for key in ("example", "examples", "posts"):
        value = explanation.get(key) if isinstance(explanation, Mapping) else None
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping) and isinstance(item.get("post"), str):
                refs.append(item["post"])
    return list(dict.fromkeys(refs))


@case_openers.register("inbox")
def open_alert_case(
    session: Session,
    workspace_id: int,
    alert: Mapping[str, Any],
    params: Mapping[str, str],
    playbook: str,
) -> str:
    """A playbook's ``open_case``: the conversation of the alert's first stored example post,
    opened (reason ``alert``) or escalated, its priority raised by the case's priority.

    Running it again for the same alert changes nothing more: the alert's part of the
    priority is replaced, not added twice.
    """
    level = params.get("priority", "high")
    if level not in ALERT_PRIORITY_POINTS:
        known = ", ".join(ALERT_PRIORITY_POINTS)
        raise InboxError(f"open_case priority {level!r} is not one of {known}")
    refs = _alert_post_refs(alert)
    post = None
    if refs:
        post = session.scalar(
            select(Post)
            .where(
                Post.workspace_id == workspace_id,
                or_(Post.native_id.in_(refs), Post.url.in_(refs)),
                Post.deleted.is_(False),
                Post.kind != "reshare",
            )
            .order_by(Post.created_at)
            .limit(1)
        )
    if post is None:
        raise InboxError("none of the alert's example posts is stored here: no case opened")
    now = utcnow()
    why = f"{alert.get('kind', 'alert')} on {alert.get('topic', '?')} (playbook {playbook})"
    part = {"factor": "alert", "value": why[:300], "points": ALERT_PRIORITY_POINTS[level]}
    found = _conversation_for(session, workspace_id, post, {})
    if found is None:
        author = session.get(Author, post.author_id)
        rules = queries.policy(session, workspace_id)
        _total, parts = priority.score(
            reason="alert",
            intent=None,
            intent_score=None,
            sentiment=None,
            followers=author.followers if author is not None else None,
            waiting_since=post.created_at,
            now=now,
        )
        found = Conversation(
            workspace_id=workspace_id,
            network=post.network,
            thread_key=_thread_key(post),
            root_post_id=post.id,
            status="new",
            reason="alert",
            priority=0.0,
            priority_explanation=[],
            first_response_due=rules.schedule.add(post.created_at, rules.first_response_minutes),
            last_customer_post_at=post.created_at,
            created_at=now,
            updated_at=now,
        )
        session.add(found)
        session.flush()
        session.add(
            ConversationPost(conversation_id=found.id, post_id=post.id, ours=False, added_at=now)
        )
        opened = True
    else:
        parts = [dict(p) for p in found.priority_explanation if p.get("factor") != "alert"]
        if found.status in ("waiting", "resolved", "spam"):
            found.status = "open"
        opened = False
    found.priority_explanation = [*parts, part]
    found.priority = round(sum(float(p["points"]) for p in found.priority_explanation), 2)
    found.updated_at = now
    session.flush()
    detail = {"post": post.id, "alert": why, "priority": level}
    _audit(session, "conversation.open" if opened else "conversation.escalate", found, CLI, detail)
    if opened:
        _webhook(
            session,
            "conversation.created",
            found,
            {"post": {"id": post.id, "native_id": post.native_id, "url": post.url}},
        )
    if params.get("queue"):
        assign_to_queue(session, found, params["queue"])
    verb = "opened" if opened else "escalated"
    return f"conversation {found.id} {verb} ({level} priority, {found.priority:.1f} points)"


def _root_time(session: Session, found: Conversation, cache: dict[int, datetime]) -> datetime:
    if found.id not in cache:
        root = session.get(Post, found.root_post_id)
        cache[found.id] = root.created_at if root is not None else found.created_at
    return cache[found.id]


def _reason(
    post: Post,
    own_ids: set[tuple[str, str]],
    own_handles: set[tuple[str, str]],
    own_parents: set[tuple[str, str]],
    intent: str,
) -> str | None:
    for mention in post.mentions or []:
        if (post.network, mention) in own_ids or (
            post.network,
            mention.lower().lstrip("@"),
        ) in own_handles:
            return "mention"
    if post.reply_to and (post.network, post.reply_to) in own_parents:
        return "reply"
    if intent in ACTION_INTENTS:
        return "intent"
    return None


def _conversation_for(
    session: Session,
    workspace_id: int,
    post: Post,
    cache: dict[tuple[str, str], Conversation],
) -> Conversation | None:
    """The conversation of the post's thread: same thread root, or holding its parent."""
    keys = [_thread_key(post)] + ([post.reply_to] if post.reply_to else [])
    for key in keys:
        if (post.network, key) in cache:
            return cache[(post.network, key)]
    found = session.scalar(
        select(Conversation).where(
            Conversation.workspace_id == workspace_id,
            Conversation.network == post.network,
            Conversation.thread_key == _thread_key(post),
        )
    )
    if found is None and post.reply_to:
        found = session.scalar(
            select(Conversation)
            .join(ConversationPost, ConversationPost.conversation_id == Conversation.id)
            .join(Post, Post.id == ConversationPost.post_id)
            .where(
                Post.workspace_id == workspace_id,
                Post.network == post.network,
                Post.native_id == post.reply_to,
            )
        )
    return found


def _join(
    found: Conversation, post: Post, ours: bool, rules: queries.Policy, now: datetime
) -> None:
    """A later post of the thread: ours answers the customer, theirs restarts the clock."""
    if ours:
        _responded(found, post.created_at, now)
        return
    found.last_customer_post_at = max(found.last_customer_post_at, post.created_at)
    found.withdrawn_at = None  # there is something to answer again
    if found.first_responded_at is not None and found.next_response_due is None:
        found.next_response_due = rules.schedule.add(post.created_at, rules.next_response_minutes)
    if found.status in ("waiting", "resolved"):
        found.status = "open"
    found.updated_at = now


def _responded(found: Conversation, at: datetime, now: datetime) -> None:
    if found.first_responded_at is None:
        found.first_responded_at = at
    found.next_response_due = None
    if found.status in ("new", "open"):
        found.status = "waiting"
    found.updated_at = now


def refresh_priority(session: Session, found: Conversation, now: datetime | None = None) -> None:
    """Bring the waiting-time part of the priority up to ``now``; the other parts stay."""
    now = now or utcnow()
    since = found.last_customer_post_at
    parts = [dict(part) for part in found.priority_explanation]
    hours = max(0.0, (now - since).total_seconds() / 3600)
    points = round(min(priority.WAIT_CAP, priority.WAIT_POINTS_PER_HOUR * hours), 2)
    for part in parts:
        if part.get("factor") == "waiting_hours":
            part["value"] = round(hours, 2)
            part["points"] = points
    found.priority_explanation = parts
    found.priority = round(sum(float(part["points"]) for part in parts), 2)
    session.flush()


# ---- posts deleted on the network -----------------------------------------------------------


@dataclass
class DeletedPosts:
    """What :func:`handle_deleted_posts` changed (ids of conversations and replies)."""

    closed: list[int] = field(default_factory=list)
    rescored: list[int] = field(default_factory=list)
    replies_discarded: list[int] = field(default_factory=list)


def discard_for_deleted_post(session: Session, reply_id: int, now: datetime | None = None) -> bool:
    """End a reply to a deleted post as ``discarded``, its last error saying why, unless it is
    sent or a sender holds it right now (that sender's outcome is kept; the next claim comes
    back here). Whether it changed. A conditional update: a sender claiming it meanwhile wins."""
    now = now or utcnow()
    reply = session.get(OutboundReply, reply_id, populate_existing=True)
    if reply is None:
        return False
    before = reply.state
    free = before in DISCARDABLE or (
        before == "sending"
        and reply.claimed_at is not None
        and reply.claimed_at < now - SENDING_LEASE
    )
    if not free:
        return False
    changed = session.execute(
        update(OutboundReply)
        .where(
            OutboundReply.id == reply_id,
            OutboundReply.state == before,
            OutboundReply.attempts == reply.attempts,  # no sender claimed it since it was read
        )
        .values(state="discarded", retry_at=None, last_error=PARENT_DELETED)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(reply)
    found = session.get(Conversation, reply.conversation_id)
    if found is not None:
        _audit(
            session,
            "reply.discarded",
            found,
            CLI,
            {"reply": reply_id, "from": before, "reason": POST_DELETED},
        )
    return True


def handle_deleted_posts(
    session: Session,
    workspace_id: int,
    conversation_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
) -> DeletedPosts:
    """Bring conversations in line with posts their customers deleted on the network.

    ``conversation_ids`` are the conversations holding newly deleted posts (the pipeline finds
    them from the new tombstones); ``None`` looks at every new, open or waiting conversation
    holding a deleted customer post and every conversation with a reply still to send to a
    deleted post (the worker's start: deletes stored while no worker ran). For each:

    * a reply not sent yet to a deleted post ends ``discarded`` with the reason: the network
      would refuse it;
    * a new, open or waiting conversation with none of the customer's posts left is resolved
      (reason ``post_deleted``, a note saying so, ``withdrawn_at`` set): nothing is left to
      answer, so its SLA clock stops. Reopening it undoes that for good; it closes again only
      if the customer posts in the thread again and deletes that too;
    * one where the customer still has a post up stays as it is, but the priority parts read
      from a deleted post's text (intent, negativity) are read again from their newest live
      post, with a note: the deleted words no longer make it urgent.

    Running it again changes nothing.
    """
    now = now or utcnow()
    if conversation_ids is None:
        wanted = queries.conversations_with_deleted_posts(
            session, workspace_id, ACTIVE, DISCARDABLE
        )
    else:
        wanted = sorted(set(conversation_ids))
    done = DeletedPosts()
    for conversation_id in wanted:
        found = queries.conversation(session, workspace_id, conversation_id)
        if found is None:
            continue
        for reply_id in queries.replies_to_deleted_posts(session, found.id, DISCARDABLE):
            if discard_for_deleted_post(session, reply_id, now):
                done.replies_discarded.append(reply_id)
        if found.status not in ACTIVE:
            continue
        posts = queries.customer_posts(session, found.id)
        live = [post for post in posts if not post.deleted]
        if posts and not live:
            if found.withdrawn_at is None:
                _withdraw(session, found, posts, now)
                done.closed.append(found.id)
        elif live and _rescore_without_deleted(session, found, posts, live[-1], now):
            done.rescored.append(found.id)
    return done


def _withdraw(session: Session, found: Conversation, posts: Sequence[Post], now: datetime) -> None:
    """Nothing the customer wrote here is left: resolve it, saying why, through the usual
    actions (note, audited status change, ``conversation.resolved`` event)."""
    found.withdrawn_at = max(post.deleted_at or now for post in posts)
    what = "the post" if len(posts) == 1 else f"all {len(posts)} of their posts"
    when = found.withdrawn_at.strftime("%Y-%m-%d %H:%M UTC")
    add_note(
        session,
        found,
        f"Resolved automatically: the customer deleted {what} in this conversation on "
        f"{found.network} (last at {when}), so there is nothing left to answer and the SLA "
        "clock is stopped. Replies not sent yet to a deleted post are discarded. Reopen the "
        "conversation to undo; it is not closed again unless the customer posts here again.",
    )
    set_status(session, found, "resolved", reason=POST_DELETED)


def _rescore_without_deleted(
    session: Session, found: Conversation, posts: Sequence[Post], newest: Post, now: datetime
) -> bool:
    """Read the text parts of the priority again from ``newest`` when the post they were read
    from (the root, unless a part names its ``post``) is deleted. Whether anything changed."""
    gone = {post.id for post in posts if post.deleted}
    parts = [dict(part) for part in found.priority_explanation]
    sources = {
        int(part.get("post") or found.root_post_id)
        for part in parts
        if part.get("factor") in _TEXT_FACTORS
    }
    if not sources & gone:
        return False
    text = newest.text or ""
    verdict = classify([text])[0]
    mood = sentiment_scores([text])[0]
    _total, fresh = priority.score(
        reason=found.reason,
        intent=verdict.label,
        intent_score=verdict.score,
        sentiment=mood.score,
        followers=None,
        waiting_since=found.last_customer_post_at,
        now=now,
    )
    read = [{**part, "post": newest.id} for part in fresh if part.get("factor") in _TEXT_FACTORS]
    kept: list[dict[str, Any]] = []
    for part in parts:
        if part.get("factor") in _TEXT_FACTORS:
            continue
        kept.append(part)
        if part.get("factor") == "reason":
            kept.extend(read)
    if not any(part.get("factor") == "reason" for part in parts):
        kept[:0] = read
    before = found.priority
    found.priority_explanation = kept
    found.priority = round(sum(float(part["points"]) for part in kept), 2)
    found.updated_at = now
    session.flush()
    add_note(
        session,
        found,
        "The customer deleted the post this conversation's priority was read from; their "
        f"post of {newest.created_at.strftime('%Y-%m-%d %H:%M UTC')} is still up, so the "
        "conversation stays open, and its intent and negativity are now read from that post "
        f"(priority {before:.1f} → {found.priority:.1f}).",
    )
    _audit(
        session,
        "conversation.priority",
        found,
        CLI,
        {"reason": POST_DELETED, "from": before, "to": found.priority, "post": newest.id},
    )
    return True


def remove_account(
    session: Session, workspace_id: int, account_id: int, *, actor: Actor = CLI
) -> str | None:
    """Forget one of the brand's own accounts (its credentials with it); its handle, or None
    if there was no such account here. Replies sent through it keep their history."""
    _require(session, actor, workspace_id, Role.ADMIN)
    found = session.get(WorkspaceAccount, account_id)
    if found is None or found.workspace_id != workspace_id:
        return None
    handle = found.handle
    session.delete(found)
    session.flush()
    record_audit(
        session,
        "inbox.account.remove",
        actor=actor,
        target=f"inbox_account:{account_id}",
        workspace_id=workspace_id,
        detail={"network": found.network, "handle": handle},
    )
    return handle


# ---- triage ---------------------------------------------------------------------------------


def set_status(
    session: Session,
    found: Conversation,
    status: str,
    *,
    actor: Actor = CLI,
    reason: str | None = None,
) -> Conversation:
    """Move the conversation to another status; resolving or waiting stops the SLA clock.

    ``reason`` names why an automatic change was made (``post_deleted``); it is kept in the
    audit entry and the ``conversation.resolved`` event."""
    _require(session, actor, found.workspace_id, Role.AGENT)
    if status not in STATUSES:
        raise InboxError(f"{status!r} is not a status; statuses are {', '.join(STATUSES)}")
    before = found.status
    if before == status:
        return found
    found.status = status
    found.updated_at = utcnow()
    session.flush()
    why = {"reason": reason} if reason else {}
    _audit(session, "conversation.status", found, actor, {"from": before, "to": status, **why})
    if status == "resolved":
        _webhook(session, "conversation.resolved", found, {"from": before, **why})
    return found


def assign(
    session: Session, found: Conversation, user_id: int | None, *, actor: Actor = CLI
) -> Conversation:
    """Give the conversation to a teammate by hand (``None`` takes it back)."""
    _require(session, actor, found.workspace_id, Role.AGENT)
    if user_id is not None:
        _member(session, found.workspace_id, user_id)
    before = found.assignee_user_id
    found.assignee_user_id = user_id
    if found.status == "new" and user_id is not None:
        found.status = "open"
    found.updated_at = utcnow()
    session.flush()
    _audit(session, "conversation.assign", found, actor, {"from": before, "to": user_id})
    _webhook(session, "conversation.assigned", found, {"from": before, "to": user_id})
    return found


def assign_to_queue(
    session: Session, found: Conversation, queue_name: str, *, actor: Actor = CLI
) -> Conversation:
    """Put the conversation in a team queue and give it to the member whose turn it is.

    The queue row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer anyway), so
    two conversations assigned at once go to two people. Members who have left are skipped.
    """
    _require(session, actor, found.workspace_id, Role.AGENT)
    queue = session.scalar(
        select(Queue)
        .where(Queue.workspace_id == found.workspace_id, Queue.name == queue_name)
        .with_for_update()
    )
    if queue is None:
        raise InboxError(f"no queue {queue_name!r} in this workspace")
    members = list(queue.members)
    picked: int | None = None
    for step in range(len(members)):
        index = (queue.next_index + step) % len(members)
        try:
            _member(session, found.workspace_id, members[index])
        except InboxError:
            continue
        picked = members[index]
        queue.next_index = (index + 1) % len(members)
        break
    before = found.assignee_user_id
    found.queue_id = queue.id
    found.assignee_user_id = picked
    if found.status == "new" and picked is not None:
        found.status = "open"
    found.updated_at = utcnow()
    session.flush()
    _audit(
        session,
        "conversation.assign",
        found,
        actor,
        {"from": before, "to": picked, "queue": queue.name},
    )
    _webhook(
        session, "conversation.assigned", found, {"from": before, "to": picked, "queue": queue.name}
    )
    return found


def mark_viewing(
    session: Session, found: Conversation, user_id: int, now: datetime | None = None
) -> None:
    """Record that a teammate has the conversation open (presence, so not audited)."""
    values = {"conversation_id": found.id, "user_id": user_id, "seen_at": now or utcnow()}
    session.execute(
        insert_updating_on_conflict(
            session,
            cast(Table, ConversationView.__table__),
            values,
            keys=["conversation_id", "user_id"],
            update=["seen_at"],
        )
    )


def _mentioned_users(session: Session, workspace_id: int, body: str) -> list[int]:
    """User ids of teammates named ``@local-part`` or ``@full@address`` in the text."""
    names = {match.lower() for match in _MENTION.findall(body)}
    if not names:
        return []
    members = session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(User.id)
    )
    found: list[int] = []
    for user_id, email in members:
        if email.lower() in names or email.lower().split("@")[0] in names:
            found.append(user_id)
    return found


def add_note(session: Session, found: Conversation, body: str, *, actor: Actor = CLI) -> Note:
    """An internal note; @-mentioned teammates are recorded so they can be notified."""
    _require(session, actor, found.workspace_id, Role.AGENT)
    text = body.strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        raise InboxError(f"a note has 1 to {MAX_REPLY_CHARS} characters")
    note = Note(
        conversation_id=found.id,
        author_user_id=actor.user_id,
        author_token_id=actor.token_id,
        body=text,
        mentions=_mentioned_users(session, found.workspace_id, text),
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    now = note.created_at
    for user_id in note.mentions:
        if user_id != actor.user_id:  # writing "@me" mails no one
            session.add(
                MentionMail(
                    workspace_id=found.workspace_id,
                    note_id=note.id,
                    user_id=user_id,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    _audit(session, "conversation.note", found, actor, {"note": note.id, "mentions": note.mentions})
    return note


# ---- replies --------------------------------------------------------------------------------


def render_saved_reply(
    session: Session, found: Conversation, name: str, *, actor: Actor = CLI
) -> str:
    """A saved reply filled in for this conversation's author and the agent replying."""
    template = queries.saved_reply(session, found.workspace_id, name)
    if template is None:
        raise InboxError(f"no saved reply {name!r}")
    root = session.get(Post, found.root_post_id)
    author = session.get(Author, root.author_id) if root is not None else None
    agent = session.get(User, actor.user_id) if actor.user_id is not None else None
    workspace = session.get(Workspace, found.workspace_id)
    variables = {
        "author_name": (author.display_name or author.handle or "") if author else "",
        "author_handle": (author.handle or "") if author else "",
        "agent_name": agent.display_name if agent else "",
        "workspace": workspace.name if workspace else "",
        "network": found.network,
        "conversation_id": str(found.id),
    }
    return render_template(template.body, variables)


def _last_customer_post(session: Session, found: Conversation) -> Post:
    """The customer's newest post here that is still on the network: what a reply answers."""
    post = session.scalar(
        select(Post)
        .join(ConversationPost, ConversationPost.post_id == Post.id)
        .where(
            ConversationPost.conversation_id == found.id,
            ConversationPost.ours.is_(False),
            Post.deleted.is_(False),
        )
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(1)
    )
    if post is None:
        if queries.customer_posts(session, found.id):
            raise InboxError(
                "the customer deleted their posts in this conversation on the network: "
                "there is nothing left to reply to"
            )
        raise InboxError("the conversation has no post to reply to")
    return post


@dataclass(frozen=True)
class QueuedReply:
    """What :func:`submit_reply` did: ``repeated`` when it returned a reply already queued."""

    reply: OutboundReply
    repeated: bool


def queue_reply(
    session: Session,
    found: Conversation,
    body: str,
    *,
    in_reply_to_post_id: int | None = None,
    idempotency_key: str | None = None,
    repeat_window: timedelta | None = None,
    actor: Actor = CLI,
    settings: Settings | None = None,
) -> OutboundReply:
    """Put a reply in the outbox; sending it is :func:`hubbub.inbox.outbound.send_reply`.

    Asking again with the same ``idempotency_key`` returns the reply already queued (see
    :func:`submit_reply` for ``repeat_window`` and ``settings``).
    """
    return submit_reply(
        session,
        found,
        body,
        in_reply_to_post_id=in_reply_to_post_id,
        idempotency_key=idempotency_key,
        repeat_window=repeat_window,
        actor=actor,
        settings=settings,
    ).reply


def _repeat_of(
    session: Session, found: Conversation, text: str, user_id: int, since: datetime
) -> OutboundReply | None:
    """This person's reply with this very text to this conversation since ``since``, if it is
    sent or on its way."""
    on_its_way = OutboundReply.state.in_(_ON_ITS_WAY) | (
        (OutboundReply.state == "failed") & OutboundReply.retry_at.is_not(None)
    )
    return session.scalar(
        select(OutboundReply)
        .where(
            OutboundReply.conversation_id == found.id,
            OutboundReply.created_by == user_id,
            OutboundReply.created_at >= since,
            OutboundReply.body == text,
            on_its_way,
        )
        .order_by(OutboundReply.id)
        .limit(1)
    )


def _check_length(
    session: Session, found: Conversation, text: str, parent: Post, limits: Limits | None
) -> None:
    """Refuse now a reply the network's channel would refuse for its length when sending
    (``limits``: those of the server sending it, where the server sets them)."""
    from hubbub.inbox.outbound import reply_length  # outbound imports this module

    author = session.get(Author, parent.author_id)
    handle = author.handle if author is not None else None
    size = reply_length(found.network, text, handle, limits)
    if size is not None and size.too_long:
        added = ""
        if size.added:
            put, counted = size.added.strip(), size.added_counted.strip()
            added = f", with {put} put in front"
            if counted != put:
                added += f" (counted as {counted})"
        how = f" ({size.counting})" if size.counting else ""
        source = f". The limit is {size.source}" if size.source else ""
        raise InboxError(
            f"a reply on {size.network} has at most {size.limit} characters{how}; "
            f"this one has {size.length}{added}{source}"
        )


def _sender(
    session: Session, found: Conversation, settings: Settings | None
) -> tuple[WorkspaceAccount | None, Limits | None]:
    """The account a reply here goes out from and its server's limits (asked for, or cached)."""
    from hubbub.inbox.outbound import sending_limits  # outbound imports this module

    account = queries.reply_account(session, found.workspace_id, found.network)
    url = account.service_url if account else None
    return account, sending_limits(settings, found.network, url)


def submit_reply(
    session: Session,
    found: Conversation,
    body: str,
    *,
    in_reply_to_post_id: int | None = None,
    idempotency_key: str | None = None,
    repeat_window: timedelta | None = None,
    actor: Actor = CLI,
    settings: Settings | None = None,
) -> QueuedReply:
    """Queue a reply, or return the one already queued for the same request.

    The same ``idempotency_key`` always returns its reply. With ``repeat_window``, the same
    person's same text to the same conversation, queued, sending or sent within the window,
    is returned too (``repeated``): a key made per page load does not survive a reload.

    The length is checked against the sending server's own limit, asked for with
    ``settings`` (cached; without them, only a limit this process already read is used)
    before any write, so no lock is held while the server answers.
    """
    _require(session, actor, found.workspace_id, Role.AGENT)
    if idempotency_key is not None:
        existing = session.scalar(
            select(OutboundReply).where(OutboundReply.idempotency_key == idempotency_key)
        )
        if existing is not None:
            if existing.conversation_id != found.id:
                raise InboxError("that idempotency key belongs to another reply")
            return QueuedReply(existing, repeated=True)
    if found.status == "spam":
        raise InboxError("a conversation marked as spam gets no reply")
    text = body.strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        raise InboxError(f"a reply has 1 to {MAX_REPLY_CHARS} characters")
    account, limits = _sender(session, found, settings)
    if repeat_window is not None and actor.user_id is not None:
        # A write first: it takes SQLite's write lock and PostgreSQL's row lock on the
        # conversation, so two submits of the same text take turns and the second sees the first.
        session.execute(
            update(Conversation)
            .where(Conversation.id == found.id)
            .values(id=Conversation.id)
            .execution_options(synchronize_session=False)
        )
        repeat = _repeat_of(session, found, text, actor.user_id, utcnow() - repeat_window)
        if repeat is not None:
            return QueuedReply(repeat, repeated=True)
    if in_reply_to_post_id is None:
        parent = _last_customer_post(session, found)
    else:
        member = session.scalar(
            select(ConversationPost).where(
                ConversationPost.conversation_id == found.id,
                ConversationPost.post_id == in_reply_to_post_id,
            )
        )
        parent_or_none = session.get(Post, in_reply_to_post_id) if member else None
        if parent_or_none is None:
            raise InboxError(f"post {in_reply_to_post_id} is not part of this conversation")
        if parent_or_none.deleted:
            raise InboxError(
                f"post {in_reply_to_post_id} was deleted on the network: a reply to it would fail"
            )
        parent = parent_or_none
    _check_length(session, found, text, parent, limits)
    reply = OutboundReply(
        workspace_id=found.workspace_id,
        conversation_id=found.id,
        in_reply_to_post_id=parent.id,
        account_id=account.id if account else None,
        body=text,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        state="queued",
        attempts=0,
        created_by=actor.user_id,
        created_by_token_id=actor.token_id,
        created_at=utcnow(),
    )
    session.add(reply)
    session.flush()
    _audit(session, "conversation.reply", found, actor, {"reply": reply.id})
    _webhook(
        session,
        "conversation.replied",
        found,
        {"reply": {"id": reply.id, "body": reply.body, "created_by": reply.created_by}},
    )
    return QueuedReply(reply, repeated=False)


def claim_reply(
    session: Session, settings: Settings, reply_id: int, now: datetime | None = None
) -> ReplyJob | None:
    """Start one attempt at a reply, or ``None`` when it is sent, being sent, or not due.

    The claim is a conditional update, so two senders never both get the same attempt; it
    commits with the caller's transaction *before* any HTTP, so ``attempts`` tells a retry
    that an earlier attempt may have reached the network.
    """
    now = now or utcnow()
    parent_deleted = session.scalar(
        select(Post.deleted)
        .join(OutboundReply, OutboundReply.in_reply_to_post_id == Post.id)
        .where(OutboundReply.id == reply_id)
    )
    if parent_deleted:  # the network would refuse it: it ends discarded, saying why
        discard_for_deleted_post(session, reply_id, now)
        return None
    claimed = session.execute(
        update(OutboundReply)
        .where(
            OutboundReply.id == reply_id,
            or_(
                (OutboundReply.state.in_(CLAIMABLE))
                & or_(OutboundReply.retry_at.is_(None), OutboundReply.retry_at <= now),
                (OutboundReply.state == "sending")
                & (OutboundReply.claimed_at < now - SENDING_LEASE),
            ),
        )
        .values(state="sending", attempts=OutboundReply.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    reply = session.get(OutboundReply, reply_id, populate_existing=True)
    assert reply is not None
    parent = session.get(Post, reply.in_reply_to_post_id)
    assert parent is not None
    parent_author = session.get(Author, parent.author_id)
    assert parent_author is not None
    found = session.get(Conversation, reply.conversation_id)
    assert found is not None
    own = queries.accounts(session, reply.workspace_id)
    account = session.get(WorkspaceAccount, reply.account_id) if reply.account_id else None
    sent_last_hour = 0
    if account is not None:
        sent_last_hour = int(
            session.scalar(
                select(func.count())
                .select_from(OutboundReply)
                .where(
                    OutboundReply.account_id == account.id,
                    OutboundReply.state == "sent",
                    OutboundReply.sent_at >= now - timedelta(hours=1),
                )
            )
            or 0
        )
    return ReplyJob(
        reply_id=reply.id,
        key=reply.idempotency_key,
        attempt=reply.attempts,
        network=found.network,
        body=reply.body,
        created_at=reply.created_at,
        parent_native_id=parent.native_id,
        parent_author_native_id=parent_author.native_id,
        parent_author_handle=parent_author.handle,
        parent_raw=parent.raw or "",
        own_author_ids=frozenset(a.native_author_id for a in own if a.network == found.network),
        account_native_id=account.native_author_id if account else None,
        account_handle=account.handle if account else None,
        service_url=account.service_url if account else None,
        sent_last_hour=sent_last_hour,
        credentials=decrypt_credentials(settings, account.credentials) if account else {},
    )


def finish_reply(
    session: Session,
    reply_id: int,
    attempt: int,
    outcome: Outcome,
    now: datetime | None = None,
) -> OutboundReply:
    """Log the attempt and move the reply to its new state; a sent reply answers the
    conversation (first response, next-response clock stopped, status waiting)."""
    now = now or utcnow()
    reply = session.get(OutboundReply, reply_id, populate_existing=True)
    if reply is None:
        raise InboxError(f"no reply {reply_id}")
    session.add(
        ReplyAttempt(
            reply_id=reply.id,
            attempt=attempt,
            outcome=outcome.outcome,
            http_status=outcome.http_status,
            detail=outcome.detail[:2000],
            at=now,
        )
    )
    if reply.state == "sent":  # a slower attempt finishing after a faster one: keep "sent"
        session.flush()
        return reply
    if reply.state == "discarded" and outcome.state != "sent":
        # A sender whose lease ran out finishing after a person discarded the reply: the
        # attempt is logged, but no retry is planned. Only "sent" (it is on the network) wins.
        session.flush()
        return reply
    reply.state = outcome.state
    reply.last_error = None if outcome.state == "sent" else (outcome.detail[:2000] or None)
    reply.retry_at = (
        now + timedelta(seconds=outcome.retry_after) if outcome.retry_after is not None else None
    )
    if outcome.state == "sent":
        reply.remote_id = outcome.remote_id
        reply.remote_url = outcome.remote_url
        reply.sent_at = now
        found = session.get(Conversation, reply.conversation_id)
        if found is not None:
            _responded(found, now, now)
    session.flush()
    found = session.get(Conversation, reply.conversation_id)
    if found is not None:
        _audit(
            session,
            f"reply.{outcome.state}",
            found,
            CLI,
            {"reply": reply.id, "attempt": attempt, "outcome": outcome.outcome},
        )
    return reply


# ---- replies that did not go out: retry, discard, edit and send again -----------------------


def _reply_of(session: Session, found: Conversation, reply_id: int) -> OutboundReply:
    """The conversation's reply, read afresh; another conversation's (or workspace's) is none."""
    reply = session.get(OutboundReply, reply_id, populate_existing=True)
    if (
        reply is None
        or reply.conversation_id != found.id
        or reply.workspace_id != found.workspace_id
    ):
        raise InboxError(f"no reply {reply_id} in this conversation", "not_found")
    return reply


def retryable(reply: OutboundReply) -> bool:
    """Whether "Retry now" applies: waiting for credentials, rate limited, or a failure that was
    to be retried anyway (a refusal for good is edited, not retried)."""
    return reply.state in ("needs_credentials", "rate_limited") or (
        reply.state == "failed" and reply.retry_at is not None
    )


def _retryable_clause() -> Any:
    return or_(
        OutboundReply.state.in_(("needs_credentials", "rate_limited")),
        (OutboundReply.state == "failed") & OutboundReply.retry_at.is_not(None),
    )


def _why_not(reply: OutboundReply, doing: str) -> str:
    """Why ``doing`` is refused for the reply in its present state, in words for the agent."""
    reasons = {
        "sent": "it is sent already",
        "sending": "it is being sent right now; wait for that attempt to end",
        "queued": "it is queued already: the sender takes it on its next round",
        "discarded": "it was discarded and is never sent",
        "failed": (
            "it was refused for good, so the same text would be refused again: edit it and "
            "send again, or discard it"
            if reply.retry_at is None
            else "it failed with a temporary error and will be tried again"
        ),
        "needs_credentials": "it waits for the account's credentials",
        "rate_limited": "it waits for the network's rate limit",
    }
    return f"reply {reply.id} cannot be {doing}: {reasons.get(reply.state, reply.state)}"


def unreplaceable_reason(session: Session, reply: OutboundReply) -> str | None:
    """``None`` when the reply may be replaced by an edited one: it is not sent, not being sent,
    and no attempt at it could have reached the network (every logged outcome is a refusal
    before anything was made, and no claimed attempt went unlogged). Else why not."""
    if reply.state not in DISCARDABLE:
        return _why_not(reply, "edited and sent again")
    outcomes = [attempt.outcome for attempt in queries.attempts_of(session, reply.id)]
    if len(outcomes) < reply.attempts or not set(outcomes) <= NOT_POSTED:
        return (
            f"reply {reply.id} cannot be edited and sent again: an earlier attempt may have "
            "reached the network, so a new reply could answer twice. Retry it (the network "
            "is checked first) or discard it"
        )
    return None


def _conflict(session: Session, found: Conversation, reply_id: int, doing: str) -> InboxError:
    return InboxError(_why_not(_reply_of(session, found, reply_id), doing), "conflict")


def retry_reply(
    session: Session, found: Conversation, reply_id: int, *, actor: Actor = CLI
) -> OutboundReply:
    """Make a reply that waits (credentials, rate limit, a temporary failure) due now.

    The same reply goes back to ``queued`` with its idempotency key and attempt count, so the
    next attempt still looks on the network for a post an earlier one made. The change is a
    conditional update: a double click, or a sender that claimed the reply meanwhile, finds
    it in another state and is refused.
    """
    _require(session, actor, found.workspace_id, Role.AGENT)
    before = _reply_of(session, found, reply_id)
    if session.scalar(select(Post.deleted).where(Post.id == before.in_reply_to_post_id)):
        raise InboxError(
            f"reply {before.id} cannot be retried now: the post it answers was deleted on the "
            "network",
            "conflict",
        )
    changed = session.execute(
        update(OutboundReply)
        .where(
            OutboundReply.id == before.id,
            OutboundReply.conversation_id == found.id,
            _retryable_clause(),
        )
        .values(state="queued", retry_at=None)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, found, reply_id, "retried now")
    reply = _reply_of(session, found, reply_id)
    _audit(
        session,
        "reply.retried",
        found,
        actor,
        {"reply": reply.id, "from": before.state, "attempts": reply.attempts},
    )
    return reply


def _discard(session: Session, found: Conversation, reply: OutboundReply, doing: str) -> None:
    changed = session.execute(
        update(OutboundReply)
        .where(
            OutboundReply.id == reply.id,
            OutboundReply.conversation_id == found.id,
            OutboundReply.state.in_(DISCARDABLE),
            OutboundReply.attempts == reply.attempts,  # no sender claimed it since it was read
        )
        .values(state="discarded", retry_at=None)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, found, reply.id, doing)


def discard_reply(
    session: Session, found: Conversation, reply_id: int, *, actor: Actor = CLI
) -> OutboundReply:
    """Stop a reply that is not sent and not being sent: it is never claimed again. (A reply
    whose earlier attempt may have reached the network may be there all the same.)"""
    _require(session, actor, found.workspace_id, Role.AGENT)
    before = _reply_of(session, found, reply_id)
    _discard(session, found, before, "discarded")
    reply = _reply_of(session, found, reply_id)
    _audit(session, "reply.discarded", found, actor, {"reply": reply.id, "from": before.state})
    return reply


def replace_reply(
    session: Session,
    found: Conversation,
    reply_id: int,
    body: str,
    *,
    idempotency_key: str | None = None,
    actor: Actor = CLI,
    settings: Settings | None = None,
) -> QueuedReply:
    """Edit and send again: discard a reply that certainly did not reach the network and queue
    the new text as a new reply (a new idempotency key) to the same post, in one transaction.

    The same ``idempotency_key`` again (a double submit) returns the reply it queued;
    ``settings`` as for :func:`submit_reply`.
    """
    _require(session, actor, found.workspace_id, Role.AGENT)
    if idempotency_key is not None and session.scalar(
        select(OutboundReply.id).where(OutboundReply.idempotency_key == idempotency_key)
    ):
        return submit_reply(
            session, found, body, idempotency_key=idempotency_key, actor=actor, settings=settings
        )
    old = _reply_of(session, found, reply_id)
    why = unreplaceable_reason(session, old)
    if why is not None:
        raise InboxError(why, "conflict")
    _sender(session, found, settings)  # the server asked before the write, found cached below
    _discard(session, found, old, "edited and sent again")
    queued = submit_reply(
        session,
        found,
        body,
        in_reply_to_post_id=old.in_reply_to_post_id,
        idempotency_key=idempotency_key,
        actor=actor,
        settings=settings,
    )
    _audit(
        session,
        "reply.discarded",
        found,
        actor,
        {"reply": old.id, "from": old.state, "replaced_by": queued.reply.id},
    )
    return queued
