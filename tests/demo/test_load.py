"""Loading the demo through the real ingest path: nothing refused, nothing added twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import login
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import role_in, user_by_email
from hubbub.demo.conversions import CAMPAIGN, demo_conversions
from hubbub.demo.generate import demo_lines
from hubbub.demo.load import (
    DEMO_OWNER,
    demo_topics,
    ensure_demo_owner,
    existing_end,
    load_demo,
    summarise,
)
from hubbub.inbox import queries as inbox_queries
from hubbub.listening.actions import get_topic
from hubbub.listening.queries import list_topics, match_counts
from hubbub.measure import queries
from hubbub.measure.models import Conversion
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
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
    assert summary.last == END and existing_end(engine, workspace.id) == END


def test_a_later_run_reuses_the_loaded_window(engine: Engine, settings: Settings) -> None:
    first = load_demo(engine, settings, "demo", days=3, end=END)
    # No end given: the first load's window is found again instead of a shifted copy added.
    later = load_demo(engine, settings, "demo", days=3)
    assert later.store.stored == 0 and later.store.duplicates == first.store.stored


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
