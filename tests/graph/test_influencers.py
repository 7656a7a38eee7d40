"""Influencer ranking on stored posts: components, topic subsets, authenticity, marks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.core.errors import Rejected
from hubbub.graph.actions import mark_author, unmark_author
from hubbub.graph.cascades import post_cascade, post_descendants, summarise
from hubbub.graph.influencers import rank_influencers
from hubbub.graph.queries import find_author, workspace_posts
from hubbub.store.engine import transaction
from tests.graph.posts import conversation, native, post_ids, store
from tests.support.factories import BASE_TIME, example_post

AS_OF = BASE_TIME + timedelta(days=1)


def _rank(engine: Engine, workspace_id: int, ids: list[int] | None = None):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return rank_influencers(session, workspace_id, ids, as_of=AS_OF)


def test_components_and_order(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    ranked = _rank(engine, workspace_id)
    by_handle = {p.handle: p for p in ranked}
    assert ranked[0].handle == "amira.bsky.social"
    amira = by_handle["amira.bsky.social"]
    # Received: Bruno's reply and quote, Chen's reshare and mention.
    assert amira.received == {"reshare": 1, "quote": 1, "reply": 1, "mention": 1}
    assert amira.engaged_authors == 2
    assert amira.followers == 1200
    assert amira.cascade_size == 4  # reply, reshare, quote and her own thread reply
    assert amira.resonance_per_post == pytest.approx(3 / 2)  # two posts of hers
    assert amira.relevance == 1.0
    assert amira.parts["authority"] == 1.0
    total = sum(
        amira.parts[f"{k}_contribution"] for k in ("reach", "resonance", "relevance", "authority")
    )
    assert amira.score == pytest.approx(total * amira.authenticity)
    assert amira.as_dict()["components"]["reach"]["followers"] == 1200
    assert by_handle["bruno.bsky.social"].pagerank < amira.pagerank


def test_topic_subset_relevance(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    ranked = _rank(engine, workspace_id, post_ids(engine, workspace_id, {0, 10, 20}))
    by_handle = {p.handle: p for p in ranked}
    assert by_handle["amira.bsky.social"].relevance == pytest.approx(1 / 2)
    assert by_handle["chen@mastodon.example"].relevance == pytest.approx(1 / 3)
    assert by_handle["bruno.bsky.social"].relevance == pytest.approx(1 / 2)
    assert by_handle["amira.bsky.social"].received == {
        "reshare": 1,
        "quote": 0,
        "reply": 1,
        "mention": 0,
    }


def test_authenticity_flags(engine: Engine, workspace_id: int) -> None:
    spam = [
        example_post(100 + i, "bruno", "Buy cheap followers now at this link!!") for i in range(100)
    ]
    reshares = [
        example_post(300 + i, "chen", "", kind="reshare", reshare_of=native(0)) for i in range(3)
    ]
    store(engine, workspace_id, [example_post(0, "amira"), *spam, *reshares])
    by_handle = {p.handle: p for p in _rank(engine, workspace_id)}
    bruno = by_handle["bruno.bsky.social"]
    assert set(bruno.flags) == {"high_posting_rate", "duplicate_text"}
    assert bruno.authenticity == pytest.approx(0.6)
    chen = by_handle["chen@mastodon.example"]
    assert chen.flags == ["reshare_only"]
    # The figures behind the flags are part of the explanation.
    assert bruno.evidence["duplicate_share"] == pytest.approx(0.99)  # 1 distinct text in 100
    assert bruno.evidence["posts_per_day"] > 72 and bruno.evidence["reshare_share"] == 0.0
    assert chen.evidence["reshare_share"] == 1.0
    explained = bruno.as_dict()["components"]["authenticity"]
    assert set(explained) == {
        "factor", "flags", "posts_per_day", "duplicate_share", "reshare_share", "account_age_days"
    }  # fmt: skip


def test_marks_and_blocked(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    with transaction(engine) as session:
        bruno = find_author(session, workspace_id, "@bruno.bsky.social")
        assert bruno is not None
        mark_author(session, workspace_id, bruno.id, "blocked")
        mark_author(session, workspace_id, bruno.id, "blocked", note="spam")  # idempotent
        amira = find_author(session, workspace_id, "amira.bsky.social")
        assert amira is not None
        mark_author(session, workspace_id, amira.id, "advocate")
        with pytest.raises(Rejected) as bad:
            mark_author(session, workspace_id, amira.id, "friend")
        assert bad.value.code == "bad_mark"
    ranked = _rank(engine, workspace_id)
    assert "bruno.bsky.social" not in {p.handle for p in ranked}
    assert next(p for p in ranked if p.handle == "amira.bsky.social").marks == ["advocate"]
    with transaction(engine) as session:
        assert unmark_author(session, workspace_id, bruno.id, "blocked")
        assert not unmark_author(session, workspace_id, bruno.id, "blocked")
    assert "bruno.bsky.social" in {p.handle for p in _rank(engine, workspace_id)}
    # Each change (not the repeated mark, not the second unmark) is in the audit log.
    with Session(engine) as session:
        logged = session.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.actor_user_id)
            .where(AuditEntry.workspace_id == workspace_id)
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in logged] == [
        ("author.mark", f"author:{bruno.id}", None),
        ("author.mark", f"author:{amira.id}", None),
        ("author.unmark", f"author:{bruno.id}", None),
    ]


def test_post_cascade(engine: Engine, workspace_id: int) -> None:
    items = conversation()
    items.append(example_post(70, "amira", "", kind="reshare", reshare_of=native(30, "bruno")))
    store(engine, workspace_id, items)
    with Session(engine) as session:
        posts = workspace_posts(session, workspace_id)
    root = next(p for p in posts if p.native_id == native(0))
    assert post_descendants(posts)[root.id] == 5
    names = {p.author_id: str(p.author_id) for p in posts}
    cascade = post_cascade(posts, root.id, names)
    summary = summarise(cascade)
    assert summary.size == 3  # amira, bruno, chen: her reshare of bruno's quote adds no one
    assert summary.depth == 1
    assert summary.seconds_to_half == 600
