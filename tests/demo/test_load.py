"""Loading the demo through the real ingest path: nothing refused, nothing added twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import login
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import role_in, user_by_email
from hubbub.core.items import RawEvent
from hubbub.demo.conversions import CAMPAIGN, demo_conversions
from hubbub.demo.generate import demo_lines, generate
from hubbub.demo.load import (
    DEMO_OWNER,
    OLD_NOTE_ID,
    WORKSPACE_NAME,
    add_demo_topics,
    demo_topics,
    ensure_demo_owner,
    existing_end,
    load_demo,
    summarise,
)
from hubbub.inbox import queries as inbox_queries
from hubbub.inbox.actions import add_account, open_conversations_for
from hubbub.inbox.models import Conversation
from hubbub.listening.actions import get_topic
from hubbub.listening.queries import list_topics, match_counts
from hubbub.measure import queries
from hubbub.measure.models import Conversion
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, Target
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from hubbub.workspaces.models import Workspace

END = datetime(2026, 3, 9, 12, tzinfo=UTC)


def _posts(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Post)) or 0)


def test_load_stores_every_line_once(engine: Engine, settings: Settings) -> None:
    expected = sum(1 for _ in demo_lines(seed=7, days=3, end=END))
    seen: list[tuple[int, int]] = []
    first = load_demo(
        engine,
        settings,
        "demo",
        days=3,
        end=END,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (first.events, first.rejected, first.store.stored) == (expected, 0, expected)
    assert first.store.near_duplicates > 0  # cross-posts and canned replies are linked
    assert seen[-1] == (expected, expected) and len(seen) == -(-expected // 1000)

    again = load_demo(engine, settings, "demo", days=3, end=END)
    assert (again.store.stored, again.store.duplicates, again.store.updated) == (0, expected, 0)
    assert _posts(engine) == expected
    with Session(engine) as session:
        workspace = session.scalars(select(Workspace).where(Workspace.slug == "demo")).one()
    summary = summarise(engine, workspace.id)
    assert summary.posts == expected and set(summary.networks) == {
        "bluesky",
        "mastodon",
        "hackernews",
        "rss",
    }
    assert summary.last is not None and summary.last <= END
    assert existing_end(engine, workspace.id) == END


def test_a_later_run_reuses_the_loaded_window(engine: Engine, settings: Settings) -> None:
    first = load_demo(engine, settings, "demo", days=3, end=END)
    # No end given: the first load's window is found again instead of a shifted copy added.
    later = load_demo(engine, settings, "demo", days=3)
    assert later.store.stored == 0 and later.store.duplicates == first.store.stored


def _workspace_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()


def _open_every_conversation(engine: Engine, workspace_id: int) -> None:
    """What the worker's inbox step does as it reaches each stored post."""
    with transaction(engine) as session:
        ids = list(session.scalars(select(Post.id).where(Post.workspace_id == workspace_id)))
        open_conversations_for(session, workspace_id, ids)


def _conversation_roots(engine: Engine, workspace_id: int) -> dict[str, str]:
    """Status of each conversation, by its first post's native id."""
    with Session(engine) as session:
        rows = session.execute(
            select(Post.native_id, Conversation.status)
            .join(Post, Post.id == Conversation.root_post_id)
            .where(Conversation.workspace_id == workspace_id)
        )
        return {row.native_id: row.status for row in rows}


def test_the_inbox_holds_customers_not_the_demo_explaining_itself(
    engine: Engine, settings: Settings
) -> None:
    load_demo(engine, settings, "demo", days=3, end=END)
    workspace_id = _workspace_id(engine)
    _open_every_conversation(engine, workspace_id)
    with Session(engine) as session:
        found = select(Post.native_id, Post.text).where(Post.workspace_id == workspace_id)
        texts: dict[str, str] = {row.native_id: row.text for row in session.execute(found)}
    roots = _conversation_roots(engine, workspace_id)
    assert roots  # complaints, questions and mentions of the brand's accounts
    assert not [n for n in roots if "demo" in texts[n].casefold()]
    assert OLD_NOTE_ID not in texts


def test_an_older_demo_loses_its_note_and_keeps_its_window(
    engine: Engine, settings: Settings
) -> None:
    """A demo loaded before the note was dropped: the next load (no end given, as ``hubbub up
    --demo`` runs it) finds the window from the note, deletes it and resolves its case."""
    with transaction(engine) as session:
        workspace_id = ensure_workspace(session, "demo", WORKSPACE_NAME).id
    note = {
        "v": 1,
        "type": "post",
        "network": "rss",
        "native_id": OLD_NOTE_ID,
        "author": {"native_id": "https://lumenbikes.example/blog/feed.xml#author:hubbub"},
        "created_at": END.isoformat(),
        "title": "About this workspace",
        "text": "This is Hubbub's demo workspace. Lumen Bikes, Voltaro and Pedalia are fictional "
        "brands, and every post, account and link here was written and generated by the Hubbub "
        "project: no real person said any of it.",
    }
    lines = [*demo_lines(seed=7, days=3, end=END), orjson.dumps(note)]
    old = Ingestor(engine, settings).ingest(
        Target(workspace_id), [RawEvent(payload=line, format="jsonl") for line in lines]
    )
    assert old.store.stored == len(lines)
    add_demo_topics(engine, workspace_id)
    with transaction(engine) as session:  # the brand's accounts, as the old demo recorded them
        for network, native_id, handle in generate(7, 3, END).brand_accounts:
            add_account(session, settings, workspace_id, network, native_id, handle)
    _open_every_conversation(engine, workspace_id)
    assert _conversation_roots(engine, workspace_id)[OLD_NOTE_ID] == "new"  # as a complaint

    again = load_demo(engine, settings, "demo", days=3)
    assert again.store.stored == 0  # the old window, not a shifted copy
    assert existing_end(engine, workspace_id) == END
    with Session(engine) as session:
        gone = session.scalars(select(Post).where(Post.native_id == OLD_NOTE_ID)).one()
        assert gone.deleted and gone.text == ""
    assert _conversation_roots(engine, workspace_id)[OLD_NOTE_ID] == "resolved"
    _open_every_conversation(engine, workspace_id)  # the worker again: nothing reopens
    assert _conversation_roots(engine, workspace_id)[OLD_NOTE_ID] == "resolved"


def test_demo_owner_gets_a_new_generated_password_each_time(
    engine: Engine, settings: Settings
) -> None:
    email, first = ensure_demo_owner(engine)
    again, second = ensure_demo_owner(engine)
    assert email == again == DEMO_OWNER
    assert first != second and len(first) >= 16  # never a fixed password
    with transaction(engine) as session:
        assert login(session, email, first, settings, address="127.0.0.1") is None
    with transaction(engine) as session:
        assert login(session, email, second, settings, address="127.0.0.1") is not None
        user = user_by_email(session, email)
        demo = session.scalars(select(Workspace).where(Workspace.slug == "demo")).one()
        assert user is not None and role_in(session, user.id, demo.id) is Role.OWNER
        # Printed on the console: one-time, the owner chooses their own after signing in.
        assert user.must_change_password_at is not None


def test_the_demo_listens_with_its_brand_product_and_rival_topics(
    engine: Engine, settings: Settings
) -> None:
    load_demo(engine, settings, "demo", days=3, end=END)
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        topics = {topic.name: topic for topic in list_topics(session, workspace_id)}
        counts = match_counts(session, workspace_id)
    kinds = {"brand", "campaign", "product", "competitor"}
    assert {topic.kind for topic in topics.values()} == kinds
    assert set(topics) == {name for name, _rule, _kind in demo_topics()}
    assert all(counts.get(topic.id, 0) > 0 for topic in topics.values())
    with Session(engine) as session:  # the brand's own accounts, for the inbox
        own = {(a.network, a.handle) for a in inbox_queries.accounts(session, workspace_id)}
    assert ("bluesky", "lumenbikes.bsky.social") in own and len(own) == 3
    # Loading again adds neither topics nor matches.
    load_demo(engine, settings, "demo", days=3, end=END)
    with Session(engine) as session:
        assert match_counts(session, workspace_id) == counts
        assert len(list_topics(session, workspace_id)) == len(topics)


def test_the_demo_records_its_campaigns_orders_once(engine: Engine, settings: Settings) -> None:
    load_demo(engine, settings, "demo", days=7, end=END)
    expected = demo_conversions(7, 7, END)
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        campaign = get_topic(session, workspace_id, CAMPAIGN)
        rows = session.scalars(select(Conversion).order_by(Conversion.external_id)).all()
        case = queries.business_case(session, workspace_id, END - timedelta(days=7), END)
    assert campaign.kind == "campaign"
    assert 7 <= len(rows) == len(expected) <= 80  # a modest set, a few a day
    assert {r.external_id for r in rows} == {c.external_id for c in expected}
    assert all(END - timedelta(days=7) <= r.occurred_at < END and r.source == "demo" for r in rows)
    on_campaign = [r for r in rows if r.topic_id == campaign.id]
    assert 0 < len(on_campaign) < len(rows)  # most through the campaign, some not
    assert case is not None and case.actuals is not None
    assert case.actuals.conversions == len(rows)
    assert case.actuals.revenue == pytest.approx(sum(r.value for r in rows))
    load_demo(engine, settings, "demo", days=7, end=END)  # again: nothing new
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Conversion)) == len(rows)
