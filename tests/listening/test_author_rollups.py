"""Per-day author rollups: kept by the live stage in the batch's transaction, equal from
backfill, recount and migration, and top authors read from them exact against a plain count of
the stored posts — on random data with deletes, random periods, filters and limits."""

from __future__ import annotations

import importlib
import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, delete, event, select, text
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import DeleteItem, RawEvent
from hubbub.listening.actions import backfill, rebuild_author_rollups
from hubbub.listening.dashboard import Slice, top_authors
from hubbub.listening.models import AuthorRollup, PostEnrichment, Topic, TopicMatch
from hubbub.posts.actions import store_items
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, topics
from tests.support.factories import BASE_TIME, jsonl_line

pytestmark = pytest.mark.db

RULES = {"skates": "skates", "wheels": "wheels"}
NETWORKS = ("bluesky", "mastodon", "rss")
WORDS = ("great", "terrible", "love", "awful", "fine", "park", "order", "ramp")
DAYS = 4
ORIGIN = BASE_TIME.replace(hour=0) - timedelta(days=1)  # the first day of the posts


def _events(rng: random.Random, count: int, authors: int, skew: bool) -> list[RawEvent]:
    """Posts over DAYS days by ``authors`` authors, a few of whom post most when ``skew``."""
    weights = [1 / (a + 1) ** 1.5 if skew else 1.0 for a in range(authors)]
    events = []
    for n in range(count):
        a = rng.choices(range(authors), weights)[0]
        network = rng.choice(NETWORKS)
        words = [*rng.choices(WORDS, k=4), rng.choice(("skates", "wheels", "skates wheels"))]
        rng.shuffle(words)
        when = ORIGIN + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        record = orjson.loads(jsonl_line(n, network=network))
        record |= {
            "native_id": native(n),
            "author": {"native_id": f"did:plc:writer{a:02d}", "handle": f"writer{a:02d}.example"},
            "text": " ".join(words),
            "langs": [rng.choice(("en", "de"))],
            "hashtags": [],
            "created_at": when.isoformat(),
        }
        events.append(RawEvent(payload=orjson.dumps(record), format="jsonl", cursor=str(n)))
    return events


def native(n: int) -> str:
    return f"post-{n}"


def _delete(engine: Engine, workspace_id: int, numbers: list[int]) -> None:
    """Delete these posts (after they matched), each on its own network."""
    with Session(engine) as session:
        rows = session.execute(
            select(Post.network, Post.native_id).where(
                Post.workspace_id == workspace_id,
                Post.native_id.in_([native(n) for n in numbers]),
            )
        ).all()
    by_network: dict[str, list[str]] = {}
    for network, native_id in rows:
        by_network.setdefault(network, []).append(native_id)
    with transaction(engine) as session:
        for network, ids in by_network.items():
            store_items(
                session,
                workspace_id,
                network,
                [DeleteItem(native_id=i, at=BASE_TIME) for i in ids],
                received_at=utcnow(),
            )


def author_rollups(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], int]:
    """(topic name, author native id, day, network) → matches, for the workspace."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.name,
                Author.native_id,
                AuthorRollup.day,
                AuthorRollup.network,
                AuthorRollup.posts,
            )
            .join(Topic, Topic.id == AuthorRollup.topic_id)
            .join(Author, Author.id == AuthorRollup.author_id)
            .where(Topic.workspace_id == workspace_id)
        )
        return {tuple(row[:4]): int(row[4]) for row in rows}


def counted_matches(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], int]:
    """The same keys counted from the stored matches (deleted posts included, as recorded)."""
    found: Counter[tuple[Any, ...]] = Counter()
    with Session(engine) as session:
        rows = session.execute(
            select(Topic.name, Author.native_id, TopicMatch.created_at, TopicMatch.network)
            .join(Topic, Topic.id == TopicMatch.topic_id)
            .join(Post, Post.id == TopicMatch.post_id)
            .join(Author, Author.id == Post.author_id)
            .where(TopicMatch.workspace_id == workspace_id)
        )
        for name, author, created, network in rows:
            found[(name, author, created.replace(hour=0, minute=0, second=0), network)] += 1
    return dict(found)


def plain_top(
    session: Session, topic_id: int, start: datetime, end: datetime, where: Slice, limit: int
) -> list[tuple[int, int]]:
    """Top authors by the obvious query: matched, not deleted posts of the period."""
    query = (
        select(Post.author_id, Post.id)
        .join(TopicMatch, TopicMatch.post_id == Post.id)
        .join(PostEnrichment, PostEnrichment.post_id == Post.id)
        .where(
            TopicMatch.topic_id == topic_id,
            Post.created_at >= start,
            Post.created_at < end,
            Post.deleted.is_(False),
        )
    )
    if where.network is not None:
        query = query.where(Post.network == where.network)
    if where.lang is not None:
        query = query.where(PostEnrichment.lang == where.lang)
    if where.sentiment is not None:
        query = query.where(PostEnrichment.sentiment_label == where.sentiment)
    counts = Counter(author for author, _ in session.execute(query))
    return sorted(counts.items(), key=lambda an: (-an[1], an[0]))[:limit]


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL each test runs, to show which of top authors' ways were taken."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _periods(rng: random.Random) -> Iterator[tuple[datetime, datetime]]:
    day = timedelta(days=1)
    yield ORIGIN, ORIGIN + DAYS * day  # whole days
    yield ORIGIN + day, ORIGIN + 3 * day
    yield ORIGIN + timedelta(hours=5), ORIGIN + timedelta(hours=19)  # inside one day
    yield ORIGIN + timedelta(hours=20), ORIGIN + timedelta(days=1, hours=4)  # two partial days
    yield ORIGIN - 2 * day, ORIGIN + 10 * day  # wider than the data
    for _ in range(10):
        start = ORIGIN + timedelta(minutes=rng.randrange(-600, DAYS * 24 * 60))
        yield start, start + timedelta(minutes=rng.randrange(1, DAYS * 24 * 60))


@pytest.mark.parametrize(("seed", "skew"), [(1, True), (2, True), (3, False)])
def test_top_authors_from_the_rollups_equal_a_plain_count(
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    statements: list[str],
    seed: int,
    skew: bool,
) -> None:
    rng = random.Random(seed)
    ids = topics(engine, workspace_id, **RULES)
    events = _events(rng, 240, 14, skew)
    ingest(engine, settings, workspace_id, events[:150])
    _delete(engine, workspace_id, rng.sample(range(150), 20))
    ingest(engine, settings, workspace_id, events[150:])  # matched after the deletes
    _delete(engine, workspace_id, rng.sample(range(150, 240), 8))
    assert author_rollups(engine, workspace_id) == counted_matches(engine, workspace_id)

    slices = [Slice(), Slice(network="mastodon"), Slice(lang="de"), Slice(sentiment="positive")]
    compared = 0
    with Session(engine) as session:
        for start, end in _periods(rng):
            for where in slices:
                for limit in (1, 3, 20):
                    for topic_id in ids.values():
                        got = top_authors(session, topic_id, start, end, where, limit)
                        expected = plain_top(session, topic_id, start, end, where, limit)
                        ranked = [(r.author.id, r.posts) for r in got]
                        assert ranked == expected, (start, end, where, limit)
                        compared += bool(expected)
    assert compared > 100
    # Both ways ran: reading only the rows of at least τ, and (flat data) summing every row.
    pruned = any("author_rollups.posts >=" in sql for sql in statements)
    summed = any(
        "GROUP BY author_rollups.author_id" in sql and "author_rollups.author_id IN" not in sql
        for sql in statements
    )
    assert pruned and summed


def test_live_rollups_equal_the_matches_and_replays_add_nothing(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, **RULES)
    events = _events(random.Random(7), 60, 5, skew=True)
    ingest(engine, settings, workspace_id, events)
    table = author_rollups(engine, workspace_id)
    assert table == counted_matches(engine, workspace_id)
    assert sum(table.values()) > 60  # some posts matched both topics
    assert all(day.hour == 0 and day.minute == 0 for _, _, day, _ in table)
    ingest(engine, settings, workspace_id, events)  # the same batch again
    assert author_rollups(engine, workspace_id) == table
    # Deleting posts leaves the rollups alone (top authors takes them off when reading)...
    _delete(engine, workspace_id, [0, 1, 2])
    assert author_rollups(engine, workspace_id) == table
    # ...and removing a topic removes its rows.
    with transaction(engine) as session:
        session.execute(delete(Topic).where(Topic.id == ids["wheels"]))
    assert {key[0] for key in author_rollups(engine, workspace_id)} == {"skates"}


def test_backfill_recount_and_migration_equal_live(engine: Engine, settings: Settings) -> None:
    with transaction(engine) as session:
        live = ensure_workspace(session, "live").id
        later = ensure_workspace(session, "later").id
    events = _events(random.Random(11), 80, 6, skew=True)
    topics(engine, live, **RULES)
    ingest(engine, settings, live, events)
    ingest(engine, settings, later, events)  # no topics yet: kept, not matched
    assert author_rollups(engine, later) == {}
    topics(engine, later, **RULES)
    with Session(engine) as session:
        result = backfill(session, later, page=7)
    expected = author_rollups(engine, live)
    assert expected and author_rollups(engine, later) == expected
    assert result.record.author_days >= len(expected)
    with Session(engine) as session:  # a second backfill adds nothing
        backfill(session, later, page=7)
    assert author_rollups(engine, later) == expected

    with Session(engine) as session:  # the recount writes the same rows, also from a day on
        assert rebuild_author_rollups(session, later, page=9) >= len(expected)
        since = ORIGIN + timedelta(days=2, hours=5)
        rebuild_author_rollups(session, later, since=since, page=4)
    assert author_rollups(engine, later) == expected

    # Migration 0019 counts the matches stored before it into the same rows.
    migration = importlib.import_module("hubbub.migrations.versions.0019_author_rollups")
    with transaction(engine) as session:
        session.execute(delete(AuthorRollup))
        session.execute(text(migration.fill_sql(engine.dialect.name)))
    assert author_rollups(engine, live) == expected
    assert author_rollups(engine, later) == expected
