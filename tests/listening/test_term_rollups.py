"""Daily term rollups: kept by the live stage in the batch's transaction, idempotent on replay,
deletes treated as the hourly rollups treat them, backfill and rebuild equal to live, and
compaction bounding closed days."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import DeleteItem
from hubbub.enrich.terms import drop_stopwords, terms_of
from hubbub.listening.actions import (
    backfill,
    compact_term_rollups,
    rebuild_term_rollups,
)
from hubbub.listening.dashboard import Slice, top_terms
from hubbub.listening.models import PostEnrichment, TermRollup, Topic, TopicMatch
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, native, post, rollups, topics
from tests.support.factories import BASE_TIME

pytestmark = pytest.mark.db

RULES = {"skates": "skates", "globex": "globex"}
TEXTS = [
    ("The rocket skates are great, skates skates skates!", "amira", ["en"], ["Acme"]),
    ("Globex support never answers. The worst support", "bruno", ["en"], []),
    ("Die Skates von Acme sind toll und die Rollen auch", "chen", ["de"], []),
    ("Rocket skates at the park with @bruno https://acme.example/x", "bruno", ["en"], []),
    ("nothing here about anything", "amira", ["en"], []),
    ("globex rocket skates compared", "chen", [], ["compare"]),
]


def _events(hours: int = 5) -> list[Any]:
    return [
        post(
            n,
            text,
            author=author,
            langs=langs,
            hashtags=tags,
            created_at=(BASE_TIME + timedelta(hours=hours * n)).isoformat(),
        )
        for n, (text, author, langs, tags) in enumerate(TEXTS)
    ]


def terms(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], int]:
    """(topic name, day, network, sentiment, lang, term) → posts, for the workspace."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.name,
                TermRollup.day,
                TermRollup.network,
                TermRollup.sentiment_label,
                TermRollup.lang,
                TermRollup.term,
                TermRollup.posts,
            )
            .join(Topic, Topic.id == TermRollup.topic_id)
            .where(TermRollup.workspace_id == workspace_id)
        )
        return {tuple(row[:6]): int(row[6]) for row in rows}


def direct_count(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], int]:
    """The same figures counted from the stored matches, posts and enrichments."""
    found: Counter[tuple[Any, ...]] = Counter()
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.name,
                Post.created_at,
                Post.network,
                Post.text,
                Post.hashtags,
                PostEnrichment.sentiment_label,
                PostEnrichment.lang,
            )
            .join(TopicMatch, TopicMatch.topic_id == Topic.id)
            .join(Post, Post.id == TopicMatch.post_id)
            .join(PostEnrichment, PostEnrichment.post_id == Post.id)
            .where(TopicMatch.workspace_id == workspace_id)
        )
        for name, created, network, text, tags, label, lang in rows:
            day = created.replace(hour=0, minute=0, second=0, microsecond=0)
            for term in drop_stopwords(terms_of(text, tuple(tags)), lang):
                found[(name, day, network, label, lang, term)] += 1
    return dict(found)


def _by_term(table: dict[tuple[Any, ...], int], topic: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, posts in table.items():
        if key[0] == topic:
            out[key[5]] += posts
    return out


def test_live_matching_counts_terms_once_per_post(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, **RULES)
    ingest(engine, settings, workspace_id, _events())
    table = terms(engine, workspace_id)
    assert table == direct_count(engine, workspace_id)
    skates = _by_term(table, "skates")
    assert skates["skates"] == 4  # four posts, however often one repeats it
    assert skates["rocket"] == 3 and skates["#acme"] == 1 and skates["#compare"] == 1
    assert "the" not in skates and "bruno" not in skates and "acme.example" not in skates
    # The German post loses German function words ("die", "von", "und") but keeps its words.
    assert {"skates", "acme", "toll", "rollen"} <= set(skates)
    assert not {"die", "von", "und", "sind"} & set(skates)
    assert _by_term(table, "globex")["support"] == 1
    # Posts days apart land in their own UTC day.
    days = {key[1] for key in table if key[0] == "skates"}
    assert len(days) == 2 and all(d.hour == 0 for d in days)

    ingest(engine, settings, workspace_id, _events())  # the same batch again
    assert terms(engine, workspace_id) == table


def test_deletes_are_treated_as_the_hourly_rollups_treat_them(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, **RULES)
    events = _events()
    # Post 3 is deleted before it arrives: never stored, never matched, never counted.
    with transaction(engine) as session:
        store_items(
            session,
            workspace_id,
            "bluesky",
            [DeleteItem(native_id=native(3, "bruno"), at=BASE_TIME)],
            received_at=utcnow(),
        )
    ingest(engine, settings, workspace_id, events)
    table = terms(engine, workspace_id)
    assert _by_term(table, "skates")["park"] == 0
    assert _by_term(table, "skates")["skates"] == 3
    hourly = rollups(engine, workspace_id)

    # Post 0 is deleted after it matched: like the hourly counters, the terms it was counted
    # for stay (a rollup counts what was posted in that hour/day).
    with transaction(engine) as session:
        store_items(
            session,
            workspace_id,
            "bluesky",
            [DeleteItem(native_id=native(0, "amira"), at=BASE_TIME)],
            received_at=utcnow(),
        )
    assert terms(engine, workspace_id) == table
    assert rollups(engine, workspace_id) == hourly
    # A recount from stored posts leaves deleted ones out, as backfill does.
    with Session(engine) as session:
        rebuild_term_rollups(session, workspace_id)
        session.commit()
    recounted = _by_term(terms(engine, workspace_id), "skates")
    assert recounted["skates"] == 2 and recounted["#acme"] == 0


def test_backfill_and_rebuild_equal_live(engine: Engine, settings: Settings) -> None:
    with transaction(engine) as session:
        live = ensure_workspace(session, "live").id
        later = ensure_workspace(session, "later").id
    topics(engine, live, **RULES)
    ingest(engine, settings, live, _events())
    ingest(engine, settings, later, _events())  # no topics yet: kept, not matched
    assert terms(engine, later) == {}
    topics(engine, later, **RULES)
    with Session(engine) as session:
        backfill(session, later, page=2)
    expected = terms(engine, live)
    assert expected and terms(engine, later) == expected
    with Session(engine) as session:  # a second backfill adds nothing
        backfill(session, later, page=2)
    assert terms(engine, later) == expected
    with Session(engine) as session:  # the recount of stored matches writes the same rows
        written = rebuild_term_rollups(session, live, page=3)
    assert written and terms(engine, live) == expected


def test_compaction_keeps_the_most_frequent_terms_of_each_closed_cell(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, **RULES)
    ingest(engine, settings, workspace_id, _events(hours=1))  # all six on one day
    before = terms(engine, workspace_id)
    day = BASE_TIME.replace(hour=0)
    start, end = day, day + timedelta(days=1)
    with Session(engine) as session:
        # The dashboard's top terms, sliced like every panel.
        assert top_terms(session, ids["skates"], start, end)[0] == ("skates", 4)
        german = top_terms(session, ids["skates"], start, end, Slice(lang="de"))
        assert sorted(german) == [("acme", 1), ("rollen", 1), ("skates", 1), ("toll", 1)]
        assert top_terms(session, ids["skates"], start, end, Slice(network="mastodon")) == []
        # The open day is never touched: `before` excludes it.
        assert compact_term_rollups(session, workspace_id, day, day, keep=2) == 0
        deleted = compact_term_rollups(session, workspace_id, day, end, keep=2)
        session.commit()
    after = terms(engine, workspace_id)
    assert deleted == len(before) - len(after) > 0
    cells: dict[tuple[Any, ...], list[tuple[str, int]]] = {}
    for key, posts in before.items():
        cells.setdefault(key[:5], []).append((key[5], posts))
    for cell, found in cells.items():
        kept = sorted(found, key=lambda tp: (-tp[1], tp[0]))[:2]
        assert {k[5]: n for k, n in after.items() if k[:5] == cell} == dict(kept)
    with Session(engine) as session:
        assert compact_term_rollups(session, workspace_id, day, end, keep=2) == 0  # idempotent
        # What compaction dropped is gone from the panel too (the documented trade-off).
        kept_totals = _by_term(after, "skates")
        expected = sorted(kept_totals.items(), key=lambda tp: (-tp[1], tp[0]))[:20]
        assert top_terms(session, ids["skates"], start, end) == expected


def test_the_pipeline_compacts_closed_days_once_a_day(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from hubbub.worker import Pipeline

    topics(engine, workspace_id, skates="skates")
    now = utcnow()
    words = " ".join(f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(60))
    events = [
        post(n, f"skates {words}", created_at=(when).isoformat(), hashtags=[])
        for n, when in enumerate((now - timedelta(days=1), now))
    ]
    ingest(engine, settings, workspace_id, events)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    per_day = Counter(key[1] >= today for key in terms(engine, workspace_id))
    assert per_day == {False: 61, True: 61}
    pipeline = Pipeline(engine, settings)
    pipeline.tick()
    per_day = Counter(key[1] >= today for key in terms(engine, workspace_id))
    assert per_day == {False: 50, True: 61}  # yesterday bounded, today still growing
