"""Load the demo into a workspace through the real ingest service.

Going through :class:`~hubbub.sources.ingest.Ingestor` (normaliser, dedupe, near-duplicate
linking, dead letters) means the demo shows what Hubbub really stores, and every write is
keyed by native id, so loading twice adds nothing.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import CLI, add_member, create_user, record_audit, set_password
from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import role_in, user_by_email
from hubbub.core.clock import as_utc, parse_timestamp, utcnow
from hubbub.core.items import DeleteItem, RawEvent
from hubbub.demo.alerts import add_sample_playbook, replay_alerts
from hubbub.demo.conversions import CAMPAIGN, add_demo_conversions
from hubbub.demo.generate import default_end, generate, history_to_last_quarter
from hubbub.demo.texts import COMPETITOR_PRODUCTS, COMPETITORS, PRODUCTS, SITE
from hubbub.inbox.actions import add_account, set_status
from hubbub.inbox.models import Conversation
from hubbub.listening.actions import add_topic, backfill
from hubbub.listening.enrichment import Enrichment
from hubbub.listening.queries import list_topics
from hubbub.posts.actions import store_items
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, IngestResult, Target
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace

BATCH = 1000
WORKSPACE_NAME = "Demo: Lumen Bikes (fictional)"
DEMO_OWNER = "owner@demo.invalid"
LOADED = "demo.load"
"""The audit action of a load; its detail keeps the window, which a second load reuses."""
OLD_NOTE_ID = f"{SITE}/blog/about-this-demo"
"""Demos loaded before the window was audited ended with an "About this workspace" post here:
a note about the data stored as if someone had posted it, so the models read it as a
complaint and the inbox opened a conversation for it. It is no longer generated (the workspace
name, the command's output and the README say the demo is fiction); a later load reads the
window from it once, then deletes it and resolves its conversation."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    """What the workspace holds after loading, for the command's closing lines."""

    posts: int
    authors: int
    networks: dict[str, int]
    first: datetime | None
    last: datetime | None


def existing_end(engine: Engine, workspace_id: int) -> datetime | None:
    """The end time of a demo already loaded here, as its first load recorded it.

    Reusing it keeps a second run (a day later, say) from adding a shifted copy of the demo.
    """
    with Session(engine) as session:
        detail = session.scalar(
            select(AuditEntry.detail)
            .where(AuditEntry.workspace_id == workspace_id, AuditEntry.action == LOADED)
            .order_by(AuditEntry.id)
            .limit(1)
        )
        if detail and detail.get("end"):
            return parse_timestamp(str(detail["end"]))
        found = session.scalar(
            select(Post.created_at).where(
                Post.workspace_id == workspace_id,
                Post.network == "rss",
                Post.native_id == OLD_NOTE_ID,
            )
        )
    return as_utc(found) if found is not None else None


def remove_old_note(engine: Engine, workspace_id: int) -> bool:
    """Delete the closing note of an older demo, as a network's delete would, and resolve the
    conversation it opened; False when there is none (left)."""
    with transaction(engine) as session:
        note = session.scalar(
            select(Post.id).where(
                Post.workspace_id == workspace_id,
                Post.network == "rss",
                Post.native_id == OLD_NOTE_ID,
                Post.deleted.is_(False),
            )
        )
        if note is None:
            return False
        now = utcnow()
        store_items(session, workspace_id, "rss", [DeleteItem(OLD_NOTE_ID, now)], received_at=now)
        opened = session.scalars(
            select(Conversation).where(
                Conversation.workspace_id == workspace_id,
                Conversation.root_post_id == note,
                Conversation.status.not_in(("resolved", "spam")),
            )
        )
        for conversation in opened:
            set_status(session, conversation, "resolved")
    return True


def load_demo(
    engine: Engine,
    settings: Settings,
    workspace_slug: str = "demo",
    *,
    seed: int = 7,
    days: int = 42,
    end: datetime | None = None,
    history_days: int | None = 0,
    progress: Progress | None = None,
) -> IngestResult:
    """Create ``workspace_slug`` (if missing) and ingest the demo into it, in batches.

    ``history_days`` of quieter talk come before the main ``days``; ``None`` reaches back to
    the previous quarter's start (:func:`hubbub.demo.generate.history_to_last_quarter`).
    ``progress(done, total)`` is called after each batch.
    """
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, workspace_slug, WORKSPACE_NAME).id
    if end is None:
        end = existing_end(engine, workspace_id) or default_end()
    if history_days is None:
        history_days = history_to_last_quarter(days, end)
    with transaction(engine) as session:  # first, so a load cut short still has its window
        record_audit(
            session,
            LOADED,
            actor=CLI,
            target=workspace_slug,
            workspace_id=workspace_id,
            detail={
                "seed": seed,
                "days": days,
                "history_days": history_days,
                "end": end.isoformat(),
            },
        )
    demo = generate(seed, days, end, history_days)
    lines = list(demo.lines())
    ingestor = Ingestor(engine, settings)
    target = Target(workspace_id)
    total = IngestResult()
    done = 0
    iterator = iter(lines)
    while batch := list(itertools.islice(iterator, BATCH)):
        total.add(
            ingestor.ingest(target, [RawEvent(payload=line, format="jsonl") for line in batch])
        )
        done += len(batch)
        if progress is not None:
            progress(done, len(lines))
    remove_old_note(engine, workspace_id)
    add_demo_topics(engine, workspace_id, Enrichment.for_tier(settings.sentiment_tier))
    with transaction(engine) as session:  # idempotent: an account is recorded or updated
        for network, native_id, handle in demo.brand_accounts:
            add_account(session, settings, workspace_id, network, native_id, handle)
    add_sample_playbook(engine, workspace_id)
    replay_alerts(engine, settings, workspace_id)
    add_demo_conversions(engine, workspace_id, seed, days, end)
    return total


def demo_topics() -> list[tuple[str, str, str]]:
    """(name, rule, kind) of the topics the demo listens with: brand, its campaign, products,
    rivals."""
    topics = [("lumen", '"lumen bikes" OR lumenbikes OR #lumenbikes OR @lumenbikes', "brand")]
    topics += [(CAMPAIGN, "#RideLumen", "campaign")]
    topics += [(name.split()[-1].lower(), f'"{name}"', "product") for name in PRODUCTS]
    topics += [
        (
            rival.lower(),
            " OR ".join([rival, *(f'"{p}"' for p in COMPETITOR_PRODUCTS[rival])]),
            "competitor",
        )
        for rival in COMPETITORS
    ]
    return topics


def add_demo_topics(engine: Engine, workspace_id: int, enrichment: Enrichment | None = None) -> int:
    """Add the demo topics that are missing, then match the stored posts against them (both
    idempotent). Topics come after the posts: with them first, the workspace would keep only
    what they match, and the demo's threads are meant to be seen whole."""
    with transaction(engine) as session:
        have = {topic.name for topic in list_topics(session, workspace_id)}
        for name, rule, kind in demo_topics():
            if name not in have:
                add_topic(session, workspace_id, name, rule, kind)
    with Session(engine, expire_on_commit=False) as session:
        return backfill(session, workspace_id, enrichment=enrichment).matched_posts


def summarise(engine: Engine, workspace_id: int) -> DemoSummary:
    """Posts, authors, networks and date range of one workspace."""
    with Session(engine) as session:
        rows = session.execute(
            select(Post.network, func.count(), func.min(Post.created_at), func.max(Post.created_at))
            .where(Post.workspace_id == workspace_id)
            .group_by(Post.network)
        ).all()
        authors = session.scalar(
            select(func.count()).select_from(Author).where(Author.workspace_id == workspace_id)
        )
    firsts = [as_utc(row[2]) for row in rows if row[2] is not None]
    lasts = [as_utc(row[3]) for row in rows if row[3] is not None]
    return DemoSummary(
        posts=sum(row[1] for row in rows),
        authors=authors or 0,
        networks={row[0]: row[1] for row in sorted(rows, key=lambda r: -r[1])},
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
    )


def ensure_demo_owner(engine: Engine, workspace_slug: str = "demo") -> tuple[str, str]:
    """The demo's owner account with a freshly generated password, as (e-mail, password).

    Each call sets a new random password (never a fixed one) for this one demo account, so
    the console can always show a way in; other users are never touched. The password is
    one-time: after signing in with it, the web app asks for one of the owner's own.
    """
    password = secrets.token_urlsafe(12)
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, workspace_slug, WORKSPACE_NAME).id
        user = user_by_email(session, DEMO_OWNER)
        if user is None:
            user = create_user(
                session, DEMO_OWNER, password, display_name="Demo owner", one_time=True
            )
        else:
            set_password(session, user, password, one_time=True)
        if role_in(session, user.id, workspace_id) is None:
            add_member(session, workspace_id, user, Role.OWNER)
    return DEMO_OWNER, password
