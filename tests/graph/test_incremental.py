"""The persisted interaction graph: batches, late targets, deletes and topic backfills give
exactly what a rebuild from scratch gives, and what the graph built from the posts gives."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hubbub.cli.app import app
from hubbub.core.clock import utcnow
from hubbub.core.items import AuthorRef, DeleteItem, Item, PostItem
from hubbub.graph.actions import (
    mark_author,
    rebuild_interaction_edges,
    update_interaction_edges,
)
from hubbub.graph.cascades import (
    largest_cascades,
    largest_post_cascades,
    post_cascade,
    stored_cascade,
)
from hubbub.graph.influencers import rank_from_posts, rank_influencers, rank_stored
from hubbub.graph.interactions import (
    InteractionGraph,
    build_graph,
    interaction_graph,
    load_input,
    stored_graph,
)
from hubbub.graph.models import GraphState, InteractionEdge
from hubbub.graph.queries import authors, find_author, topic_post_ids, workspace_posts
from hubbub.listening.actions import add_topic, backfill, remove_topic
from hubbub.listening.models import TopicMatch
from hubbub.listening.queries import list_topics
from hubbub.posts.actions import store_items
from hubbub.settings import Settings, get_settings
from hubbub.store.engine import transaction
from hubbub.worker import Pipeline
from tests.graph.posts import conversation, store
from tests.support.factories import BASE_TIME

AS_OF = BASE_TIME + timedelta(days=3)


def _author(i: int) -> AuthorRef:
    return AuthorRef(native_id=f"did:plc:user{i:04d}", handle=f"user{i}.example", followers=i * 7)


def _native(n: int) -> str:
    return f"at://post/{n:05d}"


def _stream(seed: int, count: int) -> list[Item]:
    """Posts with replies, reshares and quotes of earlier *and later* posts (a target may arrive
    after what refers to it), mentions of known and never-seen accounts, and a few deletes."""
    rng = random.Random(seed)
    items: list[Item] = []
    for n in range(count):
        author = rng.randrange(12)
        refs: dict[str, Any] = {}
        roll = rng.random()
        target = _native(rng.randrange(count))  # earlier, later, or itself
        if roll < 0.3:
            refs["reply_to"] = target
        elif roll < 0.45:
            refs["reshare_of"] = target
            refs["kind"] = "reshare"
        elif roll < 0.6:
            refs["quote_of"] = target
        mentions = tuple(
            f"did:plc:user{rng.randrange(16):04d}" for _ in range(rng.choice((0, 0, 1, 2)))
        )  # users 12..15 never post: mentioned, never seen
        words = rng.choice(("acme skates", "rocket news", "acme rocket", "weather"))
        items.append(
            PostItem(
                native_id=_native(n),
                author=_author(author),
                created_at=BASE_TIME + timedelta(minutes=rng.randrange(3 * 24 * 60)),
                text=f"{words} number {n}",
                mentions=mentions,
                **refs,
            )
        )
    rng.shuffle(items)  # arrival order is not creation order
    for n in rng.sample(range(count), count // 15):  # deletes, some before the post arrives
        items.insert(rng.randrange(len(items) + 1), DeleteItem(_native(n), at=utcnow()))
    return items


def _store(engine: Engine, workspace_id: int, items: list[Item]) -> None:
    with transaction(engine) as session:
        store_items(session, workspace_id, "bluesky", items, received_at=utcnow())


def _match(engine: Engine, workspace_id: int) -> None:
    with Session(engine) as session:  # backfill commits page by page itself
        backfill(session, workspace_id)
        session.commit()


def _update(
    engine: Engine, workspace_id: int, batch: int, seen: Counter[str] | None = None
) -> None:
    while True:
        with transaction(engine) as session:
            step = update_interaction_edges(session, workspace_id, batch=batch)
        if seen is not None:
            seen.update(
                resolved=step.resolved,
                recomputed=step.recomputed_authors,
                rebuilt_topics=len(step.rebuilt_topics),
            )
        if step.posts == 0:
            with Session(engine) as session:
                if stored_graph(session, workspace_id, as_of=AS_OF) is not None:
                    return


Snapshot = list[tuple[Any, ...]]


def _rows(engine: Engine, workspace_id: int) -> Snapshot:
    with Session(engine) as session:
        rows = session.execute(
            select(
                InteractionEdge.topic_id,
                InteractionEdge.source_author_id,
                InteractionEdge.target_network,
                InteractionEdge.target_native_id,
                InteractionEdge.kind,
                InteractionEdge.count,
                InteractionEdge.weight_ref,
                InteractionEdge.first_at,
                InteractionEdge.last_at,
            ).where(InteractionEdge.workspace_id == workspace_id)
        ).all()
    return sorted(tuple(r) for r in rows)


def _named(graph: InteractionGraph) -> dict[tuple[Any, Any], Any]:
    return {
        (graph.nodes[u].key, graph.nodes[v].key): (
            e.weight, dict(e.counts), e.first_at, e.last_at
        )
        for (u, v), e in graph.edges.items()
    }  # fmt: skip


def _same_graph(stored: InteractionGraph, built: InteractionGraph) -> None:
    assert {n.key: n.author_id for n in stored.nodes} == {n.key: n.author_id for n in built.nodes}
    a, b = _named(stored), _named(built)
    assert a.keys() == b.keys()
    for key, (weight, counts, first, last) in a.items():
        assert (counts, first, last) == b[key][1:]
        assert weight == pytest.approx(b[key][0], rel=1e-12)


def test_batches_equal_a_rebuild_and_the_graph_from_posts(
    engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme")
        add_topic(session, workspace_id, "rocket", "rocket")
    items = _stream(seed=7, count=240)
    chunk = 35
    seen: Counter[str] = Counter()
    for start in range(0, len(items), chunk):
        _store(engine, workspace_id, items[start : start + chunk])
        if start % (2 * chunk) == 0:
            # The graph job runs before the topic matches exist: it must see the topic as
            # stale and rebuild it, not miss the matches.
            _update(engine, workspace_id, batch=9, seen=seen)
            _match(engine, workspace_id)
        else:
            _match(engine, workspace_id)
            _update(engine, workspace_id, batch=13, seen=seen)
    incremental = _rows(engine, workspace_id)
    # Every path ran: late targets resolved, deletes recomputed, stale topics rebuilt.
    assert seen["resolved"] and seen["recomputed"] and seen["rebuilt_topics"], seen
    kinds = {r[4] for r in incremental}
    assert kinds == {"reply", "reshare", "quote", "mention"}
    assert {r[0] for r in incremental} == {0, *(t.id for t in _topics(engine, workspace_id))}

    with transaction(engine) as session:
        rebuild_interaction_edges(session, workspace_id, batch=100_000)
    assert _rows(engine, workspace_id) == incremental  # bit for bit, floats included

    with Session(engine) as session:
        stored = stored_graph(session, workspace_id, as_of=AS_OF)
        assert stored is not None
        _same_graph(stored, build_graph(load_input(session, workspace_id), as_of=AS_OF))
        for topic in _topics(engine, workspace_id):
            from_rows = stored_graph(session, workspace_id, topic.id, as_of=AS_OF)
            assert from_rows is not None
            # A topic's posts are its matches and the reshares of them (`topic_members`).
            ids = topic_post_ids(session, workspace_id, topic.id)
            matched = session.scalars(
                select(TopicMatch.post_id).where(TopicMatch.topic_id == topic.id)
            )
            assert set(ids) > set(matched)
            _same_graph(from_rows, build_graph(load_input(session, workspace_id, ids), as_of=AS_OF))
    assert {r[4] for r in incremental if r[0] != 0} >= {"reshare", "reply"}


def _topics(engine: Engine, workspace_id: int) -> list[Any]:
    with Session(engine) as session:
        return list(list_topics(session, workspace_id))


def test_a_failed_step_leaves_nothing_behind(engine: Engine, workspace_id: int) -> None:
    _store(engine, workspace_id, _stream(seed=3, count=60))
    with pytest.raises(RuntimeError), transaction(engine) as session:
        update_interaction_edges(session, workspace_id, batch=1_000)
        raise RuntimeError("crash before commit")
    assert _rows(engine, workspace_id) == []
    with Session(engine) as session:
        assert session.get(GraphState, (workspace_id, 0)) is None
    _update(engine, workspace_id, batch=7)
    once = _rows(engine, workspace_id)
    _update(engine, workspace_id, batch=7)  # nothing new: nothing added twice
    assert _rows(engine, workspace_id) == once
    with transaction(engine) as session:
        rebuild_interaction_edges(session, workspace_id)
    assert _rows(engine, workspace_id) == once


def test_deleted_target_drops_the_edges_it_fed(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    _update(engine, workspace_id, batch=2)
    with Session(engine) as session:
        before = stored_graph(session, workspace_id, as_of=AS_OF)
    assert before is not None
    amira_post = conversation()[0]
    assert isinstance(amira_post, PostItem)
    store(engine, workspace_id, [DeleteItem(amira_post.native_id, at=utcnow())])
    with Session(engine) as session:  # a delete not yet processed: the stored graph is stale
        assert stored_graph(session, workspace_id, as_of=AS_OF) is None
    _update(engine, workspace_id, batch=2)
    with Session(engine) as session:
        after = stored_graph(session, workspace_id, as_of=AS_OF)
        assert after is not None
        _same_graph(after, build_graph(load_input(session, workspace_id), as_of=AS_OF))
    assert len(after.edges) < len(before.edges)  # the reply, reshare and quote of it are gone


def test_readers_use_the_stored_graph_when_fresh(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    store(engine, workspace_id, conversation())
    with Session(engine) as session:
        from_posts = rank_influencers(session, workspace_id, as_of=AS_OF)
    result = Pipeline(engine, settings).tick()
    assert result.graph_posts == len(conversation())
    assert "1/graph" not in result.errors and not result.errors
    with Session(engine) as session:
        assert stored_graph(session, workspace_id, as_of=AS_OF) is not None
        from_rows = rank_influencers(session, workspace_id, as_of=AS_OF)
        graph = interaction_graph(session, workspace_id, as_of=AS_OF)
    assert [p.author_id for p in from_rows] == [p.author_id for p in from_posts]
    for a, b in zip(from_rows, from_posts, strict=True):
        assert a.pagerank == pytest.approx(b.pagerank, rel=1e-9)
        assert a.score == pytest.approx(b.score, rel=1e-9)
    assert len(graph.edges) == 4


def test_refresh_command_then_export_reads_the_stored_graph(
    db_url: str, engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        store(engine, workspace_id, conversation())
        runner = CliRunner()
        done = runner.invoke(app, ["graph", "refresh", "-w", "acme"], catch_exceptions=False)
        assert json.loads(done.output)["posts"] == len(conversation())
        with Session(engine) as session:
            assert stored_graph(session, workspace_id) is not None
        again = runner.invoke(
            app, ["graph", "refresh", "-w", "acme", "--rebuild"], catch_exceptions=False
        )
        assert json.loads(again.output)["posts"] == len(conversation())
        out = tmp_path / "g.csv"
        exported = runner.invoke(
            app,
            ["graph", "export", "-w", "acme", "--format", "csv", "--out", str(out)],
            catch_exceptions=False,
        )
        assert json.loads(exported.output)["edges"] == 4
    finally:
        get_settings.cache_clear()


def test_removed_topic_loses_its_rows(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme")
    _store(engine, workspace_id, _stream(seed=11, count=80))
    _match(engine, workspace_id)
    _update(engine, workspace_id, batch=50)
    topic_id = _topics(engine, workspace_id)[0].id
    assert any(r[0] == topic_id for r in _rows(engine, workspace_id))
    with Session(engine) as session:
        assert stored_graph(session, workspace_id, topic_id, as_of=AS_OF) is not None
    with transaction(engine) as session:
        remove_topic(session, workspace_id, "acme")
    _update(engine, workspace_id, batch=50)
    assert {r[0] for r in _rows(engine, workspace_id)} == {0}
    with Session(engine) as session:
        assert session.get(GraphState, (workspace_id, topic_id)) is None


def _explained(people: list[Any]) -> list[dict[str, Any]]:
    """Everything an influencer row says except the floats (compared approximately)."""
    return [
        {
            "author_id": p.author_id,
            "engaged": p.engaged_authors,
            "in_set": p.posts_in_set,
            "total": p.posts_total,
            "received": p.received,
            "cascade": p.cascade_size,
            "relevance": p.relevance,
            "flags": p.flags,
            "marks": p.marks,
            "authenticity": p.authenticity,
        }
        for p in people
    ]


def test_ranking_from_stored_edges_equals_the_ranking_from_posts(
    engine: Engine, workspace_id: int
) -> None:
    """`rank_stored` (SQL aggregates, persisted edges) against the reference that reads every
    post in Python, on a stream with late targets, deletes, duplicates, a blocked author and two
    topics: same order, same explanations, same scores."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme")
        add_topic(session, workspace_id, "rocket", "rocket")
    items = _stream(seed=5, count=300)
    copies = [
        PostItem(native_id=f"at://copy/{i}", author=_author(3), text="acme copy paste promo: buy now at the shop",
                 created_at=BASE_TIME + timedelta(minutes=i))
        for i in range(40)
    ]  # fmt: skip
    _store(engine, workspace_id, items + copies)
    _match(engine, workspace_id)
    _update(engine, workspace_id, batch=70)
    with transaction(engine) as session:
        blocked = find_author(session, workspace_id, "user5.example")
        assert blocked is not None
        mark_author(session, workspace_id, blocked.id, "blocked")
        advocate = find_author(session, workspace_id, "user2.example")
        assert advocate is not None
        mark_author(session, workspace_id, advocate.id, "advocate")
    topics = [t.id for t in _topics(engine, workspace_id)]
    with Session(engine) as session:
        for topic_id in (None, *topics):
            fast = rank_stored(session, workspace_id, topic_id, limit=1_000, as_of=AS_OF)
            assert fast is not None
            slow = rank_from_posts(session, workspace_id, topic_id=topic_id, limit=1_000,
                                   as_of=AS_OF)  # fmt: skip
            assert len(fast) >= 10
            assert _explained(fast) == _explained(slow), topic_id
            for a, b in zip(fast, slow, strict=True):
                assert a.score == pytest.approx(b.score, rel=1e-9, abs=1e-12)
                assert a.pagerank == pytest.approx(b.pagerank, rel=1e-9, abs=1e-15)
                assert a.parts == pytest.approx(b.parts, rel=1e-9, abs=1e-12)
        flagged = {p.author_id: p.flags for p in rank_stored(session, workspace_id, limit=99) or []}
    assert "duplicate_text" in flagged[_author_id(engine, workspace_id, "user3.example")]
    assert blocked.id not in flagged


def test_ranking_waits_for_a_lagging_graph(engine: Engine, workspace_id: int) -> None:
    """A post not yet in the persisted graph: the stored ranking refuses (None) and
    `rank_influencers` reads the posts instead, so it never shows a stale ranking."""
    _store(engine, workspace_id, _stream(seed=3, count=40))
    _update(engine, workspace_id, batch=100)
    _store(engine, workspace_id, [PostItem(native_id="at://late/1", author=_author(30),
                                           text="new voice", created_at=BASE_TIME)])  # fmt: skip
    with Session(engine) as session:
        assert rank_stored(session, workspace_id, as_of=AS_OF) is None
        ranked = rank_influencers(session, workspace_id, limit=1_000, as_of=AS_OF)
    assert _author_id(engine, workspace_id, "user30.example") in {p.author_id for p in ranked}


def _author_id(engine: Engine, workspace_id: int, handle: str) -> int:
    with Session(engine) as session:
        found = find_author(session, workspace_id, handle)
    assert found is not None
    return found.id


def test_largest_cascades_from_references_equal_those_from_posts(
    engine: Engine, workspace_id: int
) -> None:
    """`largest_cascades` (resolved references, then only the largest trees' posts) against
    `largest_post_cascades` over every post, for the workspace and a topic."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme")
    _store(engine, workspace_id, _stream(seed=9, count=400))
    _match(engine, workspace_id)
    topic_id = _topics(engine, workspace_id)[0].id
    with Session(engine) as session:
        for topic in (None, topic_id):
            ids = None if topic is None else topic_post_ids(session, workspace_id, topic)
            posts = workspace_posts(session, workspace_id, ids)
            names = {a.id: a.handle or a.native_id
                     for a in authors(session, {p.author_id for p in posts}).values()}  # fmt: skip
            for limit in (1, 5, 50):
                slow = largest_post_cascades(posts, names, limit)
                fast = largest_cascades(session, workspace_id, topic, limit)
                assert fast == slow, (topic, limit)
            assert len(slow) >= 10 and slow[0].size > 2
            whole = workspace_posts(session, workspace_id)
            for post in whole[::7]:
                tree = stored_cascade(session, workspace_id, post.id, topic)
                inside = ids is None or post.id in ids
                reference = post_cascade(posts if inside else whole, post.id, names)
                assert tree.users == reference.users or not inside, post.id
                assert (tree.parents, tree.times, tree.kinds) == (
                    reference.parents,
                    reference.times,
                    reference.kinds,
                ), post.id


def test_migration_0022_makes_the_next_step_rebuild_every_topic_graph(
    engine: Engine, workspace_id: int
) -> None:
    """What migration 0022 runs: topic states with match count -1 are rebuilt at the next
    step, from the posts, into exactly the rows they had (here nothing changed meanwhile)."""
    from importlib import import_module

    from sqlalchemy import text

    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme")
    _store(engine, workspace_id, _stream(seed=5, count=60))
    _match(engine, workspace_id)
    _update(engine, workspace_id, batch=100)
    before = sorted(_rows(engine, workspace_id))
    migration = import_module("hubbub.migrations.versions.0022_topic_graph_reshares")
    with transaction(engine) as session:
        session.execute(text(migration.REBUILD_TOPIC_GRAPHS))
    with transaction(engine) as session:
        step = update_interaction_edges(session, workspace_id, batch=100)
    assert step.rebuilt_topics == [_topics(engine, workspace_id)[0].id]
    assert sorted(_rows(engine, workspace_id)) == before
