"""Per-topic (aspect) sentiment in the pipeline: a post naming a brand and its rival counts
under its own verdict for each, live and in backfill, in every rollup and filter."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.enrich.sentiment import default_model
from hubbub.enrich.sentiment.aspects import Scorer
from hubbub.listening.actions import add_topic, backfill, rebuild_term_rollups
from hubbub.listening.aspects import rule_names, topic_sentiments, topic_targets
from hubbub.listening.corrections.queries import verdicts
from hubbub.listening.dashboard import Slice, matching_posts, rollup_split, top_terms
from hubbub.listening.models import PostEnrichment, Topic, TopicMatch
from hubbub.listening.query import parse
from hubbub.measure.cohorts import sentiment_by_loyalty
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, post, rollups
from tests.support.factories import BASE_TIME

MIXED = "love Acme, BetaCorp is awful"
SPLIT = "Acme shipped in a day, great. BetaCorp lost my parcel again, terrible service"
GERMAN = "Acme ist super, BetaCorp ist schrecklich"
UNDECLARED = "BetaCorp never answered my emails. Acme called me back within the hour, brilliant"
TOPICS = (
    ("acme", '"acme" OR #acme OR @acme', "brand"),
    ("betacorp", "betacorp AND NOT job", "competitor"),
    ("anything", "acme OR betacorp", "other"),
)


def _never() -> Scorer:
    raise AssertionError("no post names two topics: the model must not be asked for")


# ---- targets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "names"),
    [
        ('"acme cloud" OR #acme OR @acmehq', ["acme cloud", "acme", "acmehq"]),
        ("acme AND (love OR hate)", ["acme"]),
        ("(acme OR acmecorp) AND NOT job", ["acme", "acmecorp"]),
        ("lang:en AND zento", ["zento"]),
        ("acme* OR zento", ["zento"]),
        ("(acme OR zento) NEAR/3 (broken OR slow)", ["acme", "zento"]),
        ("NOT acme", []),
    ],
)
def test_what_a_rule_names(rule: str, names: list[str]) -> None:
    assert rule_names(parse(rule)) == names


def test_only_topics_that_name_something_have_targets() -> None:
    assert topic_targets("Acme", "brand", "acme OR #Acme OR a") == ("acme",)
    assert topic_targets("Zento Go", "product", '"zento go"') == ("zento go",)
    # A campaign or "other" topic may be a list of sentiment words: masking them would blank
    # every verdict of the post.
    assert topic_targets("complaints", "other", "refund OR broken") == ()
    assert topic_targets("launch", "campaign", "#launch") == ()
    assert topic_targets("old", "brand", "acme AND (") == ()  # no longer parses


def test_verdicts_per_topic_and_only_where_two_topics_are_named() -> None:
    targets = {1: ("acme",), 2: ("betacorp",), 3: ()}
    found = topic_sentiments(
        [
            (MIXED, (1, 2, 3)),
            ("Acme is great", (1, 3)),  # one named topic: the post's label stands
            ("BetaCorp hiring", (1, 2)),  # matched both, names one
        ],
        targets,
        default_model,
    )
    assert {t: v.label for t, v in found[0].items()} == {1: "positive", 2: "negative"}
    assert found[1] == found[2] == {}
    assert topic_sentiments([("Acme is great", (1, 3))], targets, _never) == [{}]


# ---- the pipeline ---------------------------------------------------------------------------


def _topics(engine: Engine, workspace_id: int) -> dict[str, int]:
    with transaction(engine) as session:
        return {
            name: add_topic(session, workspace_id, name, rule, kind).id
            for name, rule, kind in TOPICS
        }


def _events() -> list:  # type: ignore[type-arg]
    texts = [
        (MIXED, "amira", ["en"]),
        ("Acme support fixed my order in minutes, thank you", "bruno", ["en"]),
        ("BetaCorp is hiring, apply now", "chen", ["en"]),
        (SPLIT, "chen", ["en"]),
        (GERMAN, "bruno", ["de"]),
        (UNDECLARED, "amira", []),  # detected: English
    ]
    return [
        post(
            n,
            text,
            author=author,
            langs=langs,
            hashtags=[],
            created_at=(BASE_TIME + timedelta(minutes=n)).isoformat(),
        )
        for n, (text, author, langs) in enumerate(texts)
    ]


def _labels(engine: Engine, workspace_id: int) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(topic, text) → (the match's own label, the post's label)."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.name, Post.text, TopicMatch.sentiment_label, PostEnrichment.sentiment_label
            )
            .join(Topic, Topic.id == TopicMatch.topic_id)
            .join(Post, Post.id == TopicMatch.post_id)
            .join(PostEnrichment, PostEnrichment.post_id == Post.id)
            .where(TopicMatch.workspace_id == workspace_id)
        )
        return {(row[0], row[1]): (row[2], row[3]) for row in rows}


def test_live_matches_count_under_each_topics_own_verdict(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = _topics(engine, workspace_id)
    ingest(engine, settings, workspace_id, _events())
    labels = _labels(engine, workspace_id)

    assert labels[("acme", MIXED)][0] == "positive"
    assert labels[("betacorp", MIXED)][0] == "negative"
    assert labels[("anything", MIXED)][0] is None  # an "other" topic keeps the post's label
    assert labels[("acme", SPLIT)][0] == "positive"
    assert labels[("betacorp", SPLIT)][0] == "negative"
    assert labels[("acme", UNDECLARED)][0] == "positive"
    assert labels[("betacorp", UNDECLARED)][0] == "negative"
    # The clause rules and the tiers are English: another language keeps the post's label.
    assert labels[("acme", GERMAN)][0] is labels[("betacorp", GERMAN)][0] is None
    # Posts naming one topic keep the post's label, stored once in post_enrichments.
    single = "Acme support fixed my order in minutes, thank you"
    assert labels[("acme", single)] == (None, "positive")

    # Rollups (share of voice, dashboards, reports) count the per-topic label.
    def counted(topic: str) -> Counter[str]:
        return Counter(own or whole for (t, _), (own, whole) in labels.items() if t == topic)

    cells = rollups(engine, workspace_id)
    for topic in ("acme", "betacorp", "anything"):
        in_rollups: Counter[str] = Counter()
        for key, counters in cells.items():
            if key[0] == topic:
                in_rollups[key[3]] += counters[0]
        assert in_rollups == counted(topic)
    assert counted("acme")["positive"] >= 4 and counted("acme")["negative"] == 0
    assert counted("betacorp")["negative"] >= 2

    start, end = BASE_TIME - timedelta(days=1), BASE_TIME + timedelta(days=1)
    with Session(engine) as session:
        negative = Slice(sentiment="negative")
        shown = {p.text for p, _ in matching_posts(session, ids["betacorp"], 10, where=negative)}
        assert shown == {
            text
            for (t, text), (own, whole) in labels.items()
            if t == "betacorp" and (own or whole) == "negative"
        }
        assert {MIXED, SPLIT, UNDECLARED} <= shown
        assert matching_posts(session, ids["acme"], 10, where=negative) == []  # GERMAN aside
        split = dict(rollup_split(session, ids["betacorp"], start, end, "sentiment"))
        assert split["negative"] == counted("betacorp")["negative"]
        # Term rollups, as recorded and as rebuilt, sit in the per-topic sentiment cell.
        awful = dict(top_terms(session, ids["betacorp"], start, end, negative, 50))
        assert awful.get("awful") == 1
        assert dict(top_terms(session, ids["acme"], start, end, negative, 50)).get("awful") is None
        rebuild_term_rollups(session, workspace_id)
        session.commit()
        assert dict(top_terms(session, ids["betacorp"], start, end, negative, 50))["awful"] == 1
        assert dict(top_terms(session, ids["acme"], start, end, negative, 50)).get("awful") is None
        loyalty = sentiment_by_loyalty(session, session.get_one(Topic, ids["acme"]), start, end)
        assert loyalty.new_negative == 0

        mixed_id = session.scalar(select(Post.id).where(Post.text == MIXED))
        assert mixed_id is not None
        shown = verdicts(session, workspace_id, [mixed_id])[mixed_id]
        assert shown.per_topic == (("acme", "positive"), ("betacorp", "negative"))


def test_backfill_stores_the_same_per_topic_verdicts_as_live(
    engine: Engine, settings: Settings
) -> None:
    with transaction(engine) as session:
        live = ensure_workspace(session, "live").id
        later = ensure_workspace(session, "later").id
    _topics(engine, live)
    ingest(engine, settings, live, _events())
    ingest(engine, settings, later, _events())  # no topics yet: nothing matched
    _topics(engine, later)
    with Session(engine) as session:
        backfill(session, later)
    assert _labels(engine, later) == _labels(engine, live)
    assert rollups(engine, later) == rollups(engine, live)
    with Session(engine) as session:  # a second run adds nothing
        assert backfill(session, later).record.matches == 0
