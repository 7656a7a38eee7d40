"""An analyst's label correction changes what the dashboards count, on a real database: the
post's stored sentiment, the per-topic verdicts that agreed with the model, and the hourly and
term rollups, moved by delta; backfill, re-match, rebuilds and live re-delivery keep it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.items import RawEvent
from hubbub.enrich.terms import drop_stopwords, terms_of
from hubbub.listening.actions import (
    add_topic,
    backfill,
    get_topic,
    rebuild_term_rollups,
    rematch_topic,
)
from hubbub.listening.corrections.actions import correct_post
from hubbub.listening.corrections.models import EnrichmentCorrection
from hubbub.listening.corrections.queries import calibration_report, verdicts
from hubbub.listening.corrections.relabel import apply_corrections
from hubbub.listening.dashboard import match_sentiments, rollup_split
from hubbub.listening.models import (
    PostEnrichment,
    TermRollup,
    Topic,
    TopicMatch,
    match_sentiment,
)
from hubbub.posts.models import Author, Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, post, rollups
from tests.listening.test_rematch import state
from tests.support.factories import BASE_TIME

pytestmark = pytest.mark.db

LABELS = ("negative", "neutral", "positive")
# (text, author, minutes after BASE_TIME); the model's labels noted where the tests rely on them.
TEXTS = [
    ("acme rocket skates are great, love them", "amira", 5),  # positive, no per-topic verdicts
    ("acme delivery was fine", "amira", 20),  # same author, same hour
    ("love acme, globex is awful", "chen", 70),  # positive; acme positive, globex negative
    ("acme and globex are both great, love them", "bruno", 80),  # positive; both positive
    ("acme lost my parcel, awful", "bruno", 150),  # negative
    ("globex launch today", "chen", 160),
]
START, END = BASE_TIME - timedelta(days=1), BASE_TIME + timedelta(days=2)


def _events() -> list[RawEvent]:
    return [
        post(
            n,
            text,
            author=author,
            langs=["en"],
            likes=n,
            reshares=2 * n,
            hashtags=[],
            created_at=(BASE_TIME + timedelta(minutes=minutes)).isoformat(),
        )
        for n, (text, author, minutes) in enumerate(TEXTS, start=1)
    ]


def _setup(engine: Engine, settings: Settings, workspace_id: int) -> dict[str, int]:
    """Topics acme (brand) and globex (competitor), the posts ingested live; post ids by text."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme", "brand")
        add_topic(session, workspace_id, "globex", "globex", "competitor")
    assert ingest(engine, settings, workspace_id, _events()).rejected == 0
    with Session(engine) as session:
        rows = session.execute(
            select(Post.id, Post.text).where(Post.workspace_id == workspace_id)
        ).all()
    return {text: post_id for post_id, text in rows}


def split(engine: Engine, workspace_id: int, name: str) -> Counter[str]:
    """The topic dashboard's sentiment split over the test period."""
    with Session(engine) as session:
        topic_id = get_topic(session, workspace_id, name).id
        return Counter(dict(rollup_split(session, topic_id, START, END, "sentiment")))


def counted(engine: Engine, workspace_id: int, name: str, post_id: int) -> str:
    """What the post counts as in the topic (drill-down, filters, alerts' feed)."""
    with Session(engine) as session:
        topic_id = get_topic(session, workspace_id, name).id
        return match_sentiments(session, topic_id, [post_id])[post_id]


def stored(engine: Engine, post_id: int) -> tuple[str, float]:
    with Session(engine) as session:
        found = session.get(PostEnrichment, post_id)
        assert found is not None
        return found.sentiment_label, found.sentiment_score


def correct(engine: Engine, workspace_id: int, post_id: int, label: str) -> None:
    with transaction(engine) as session:
        correct_post(session, workspace_id, post_id, label=label)


def everything(engine: Engine, workspace_id: int) -> dict[str, Any]:
    """Every match and rollup row of both topics, and the stored enrichments."""
    with Session(engine) as session:
        enrichments = {
            (e.post_id, e.sentiment_label, e.sentiment_score)
            for e in session.scalars(select(PostEnrichment))
        }
    return {
        "acme": state(engine, workspace_id, "acme"),
        "globex": state(engine, workspace_id, "globex"),
        "enrichments": enrichments,
    }


def direct_hourly(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The hourly rollups as a count over the stored matches would give them."""
    cells: dict[tuple[Any, ...], list[Any]] = {}
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.name,
                TopicMatch.created_at,
                TopicMatch.network,
                match_sentiment(),
                PostEnrichment.lang,
                Post.author_id,
                Author.followers,
                Post.likes,
                Post.reshares,
            )
            .join(Topic, Topic.id == TopicMatch.topic_id)
            .join(Post, Post.id == TopicMatch.post_id)
            .join(Author, Author.id == Post.author_id)
            .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
            .where(TopicMatch.workspace_id == workspace_id)
        )
        for name, created, network, label, lang, author, followers, likes, reshares in rows:
            key = (name, created.replace(minute=0, second=0, microsecond=0), network, label, lang)
            cell = cells.setdefault(key, [0, set(), 0, 0])
            cell[0] += 1
            cell[1].add(author)
            cell[2] += followers or 0
            cell[3] += (likes or 0) + (reshares or 0)
    return {k: (v[0], len(v[1]), v[2], v[3]) for k, v in cells.items()}


def direct_terms(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], int]:
    found: Counter[tuple[Any, ...]] = Counter()
    with Session(engine) as session:
        rows = session.execute(
            select(
                TopicMatch.topic_id,
                Post.created_at,
                Post.network,
                Post.text,
                Post.hashtags,
                match_sentiment(),
                PostEnrichment.lang,
            )
            .join(Post, Post.id == TopicMatch.post_id)
            .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
            .where(TopicMatch.workspace_id == workspace_id)
        )
        for topic_id, created, network, text, tags, label, lang in rows:
            day = created.replace(hour=0, minute=0, second=0, microsecond=0)
            for term in drop_stopwords(terms_of(text, tuple(tags)), lang):
                found[(topic_id, day, network, label, lang, term)] += 1
    return dict(found)


def stored_terms(engine: Engine, workspace_id: int) -> dict[tuple[Any, ...], int]:
    with Session(engine) as session:
        rows = session.scalars(select(TermRollup).where(TermRollup.workspace_id == workspace_id))
        return {
            (r.topic_id, r.day, r.network, r.sentiment_label, r.lang, r.term): r.posts for r in rows
        }


def consistent(engine: Engine, workspace_id: int) -> None:
    """Rollups equal a direct count over the matches as they count now."""
    assert rollups(engine, workspace_id) == direct_hourly(engine, workspace_id)
    assert stored_terms(engine, workspace_id) == direct_terms(engine, workspace_id)


def test_a_correction_moves_one_post_and_a_second_moves_it_again(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = _setup(engine, settings, workspace_id)
    target = ids[TEXTS[0][0]]
    model = stored(engine, target)
    assert model[0] == "positive"
    before = everything(engine, workspace_id)
    split0 = split(engine, workspace_id, "acme")
    consistent(engine, workspace_id)

    correct(engine, workspace_id, target, "negative")
    assert split(engine, workspace_id, "acme") == split0 - Counter(positive=1) + Counter(negative=1)
    assert counted(engine, workspace_id, "acme", target) == "negative"
    assert stored(engine, target) == ("negative", -1.0)  # a score consistent with the label
    consistent(engine, workspace_id)
    assert everything(engine, workspace_id)["globex"] == before["globex"]  # not its post

    correct(engine, workspace_id, target, "neutral")  # from the previous correction's label
    assert split(engine, workspace_id, "acme") == split0 - Counter(positive=1) + Counter(neutral=1)
    assert stored(engine, target) == ("neutral", 0.0)
    consistent(engine, workspace_id)

    correct(engine, workspace_id, target, "positive")  # back to what the model said
    assert stored(engine, target) == model  # with the model's own score
    assert everything(engine, workspace_id) == before  # every row as live matching left it

    correct(engine, workspace_id, target, "positive")  # confirming changes nothing
    assert everything(engine, workspace_id) == before
    with Session(engine) as session:
        rows = session.scalars(
            select(EnrichmentCorrection).where(EnrichmentCorrection.post_id == target)
        ).all()
        # Every correction recorded what the model said, not the previous correction.
        assert {(r.model_label, r.model_score) for r in rows} == {model}
        assert [r.label for r in rows] == ["negative", "neutral", "positive", "positive"]
        verdict = verdicts(session, workspace_id, [target])[target]
        assert (verdict.model_label, verdict.model_score, verdict.label) == (*model, "positive")


def test_confirming_the_models_label_first_changes_no_count(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = _setup(engine, settings, workspace_id)
    before = everything(engine, workspace_id)
    for text in (TEXTS[0][0], TEXTS[4][0]):
        correct(engine, workspace_id, ids[text], stored(engine, ids[text])[0])
    assert everything(engine, workspace_id) == before
    # A post with per-topic verdicts: the one that said what the model said now follows the
    # post's label (the same label), so no count changes either.
    mixed = ids[TEXTS[2][0]]
    hourly, terms = rollups(engine, workspace_id), stored_terms(engine, workspace_id)
    correct(engine, workspace_id, mixed, "positive")
    assert (rollups(engine, workspace_id), stored_terms(engine, workspace_id)) == (hourly, terms)
    assert counted(engine, workspace_id, "acme", mixed) == "positive"
    assert counted(engine, workspace_id, "globex", mixed) == "negative"


def test_per_topic_verdicts_follow_the_correction_only_where_they_agreed_with_the_model(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = _setup(engine, settings, workspace_id)
    mixed, agreeing = ids[TEXTS[2][0]], ids[TEXTS[3][0]]
    assert stored(engine, mixed)[0] == stored(engine, agreeing)[0] == "positive"
    assert counted(engine, workspace_id, "acme", mixed) == "positive"
    assert counted(engine, workspace_id, "globex", mixed) == "negative"
    assert counted(engine, workspace_id, "globex", agreeing) == "positive"
    acme0, globex0 = split(engine, workspace_id, "acme"), split(engine, workspace_id, "globex")

    # "love acme, globex is awful" is neutral, says the analyst: acme's verdict said what the
    # model said of the post (positive) and follows; globex's differed and stays negative.
    correct(engine, workspace_id, mixed, "neutral")
    assert counted(engine, workspace_id, "acme", mixed) == "neutral"
    assert counted(engine, workspace_id, "globex", mixed) == "negative"
    assert split(engine, workspace_id, "globex") == globex0
    assert split(engine, workspace_id, "acme") == acme0 - Counter(positive=1) + Counter(neutral=1)
    # A second correction to the label globex's verdict has does not pull it along either.
    correct(engine, workspace_id, mixed, "negative")
    correct(engine, workspace_id, mixed, "neutral")
    assert counted(engine, workspace_id, "globex", mixed) == "negative"
    with Session(engine) as session:
        verdict = verdicts(session, workspace_id, [mixed])[mixed]
    assert verdict.per_topic == (("globex", "negative"),)  # acme counts the post's label

    # Both verdicts agreed with the model: the correction applies to both topics.
    correct(engine, workspace_id, agreeing, "negative")
    assert counted(engine, workspace_id, "acme", agreeing) == "negative"
    assert counted(engine, workspace_id, "globex", agreeing) == "negative"
    assert split(engine, workspace_id, "globex") == globex0 - Counter(positive=1) + Counter(
        negative=1
    )
    consistent(engine, workspace_id)


def test_backfill_rematch_rebuilds_and_redelivery_keep_the_correction(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """The delta updates equal what rebuilding every rollup from scratch gives."""
    ids = _setup(engine, settings, workspace_id)
    for text, label in (
        (TEXTS[0][0], "negative"),
        (TEXTS[1][0], "negative"),
        (TEXTS[2][0], "neutral"),
        (TEXTS[3][0], "negative"),
        (TEXTS[4][0], "positive"),
    ):
        correct(engine, workspace_id, ids[text], label)
    delta = everything(engine, workspace_id)
    consistent(engine, workspace_id)

    with Session(engine) as session:  # match the stored posts again: nothing new
        backfill(session, workspace_id)
    assert everything(engine, workspace_id) == delta
    ingest(engine, settings, workspace_id, _events())  # the live stage, delivered again
    assert everything(engine, workspace_id) == delta

    for name in ("acme", "globex"):  # delete and rebuild the matches and every rollup
        with Session(engine) as session:
            assert rematch_topic(session, workspace_id, name).done
    assert everything(engine, workspace_id) == delta
    with Session(engine) as session:
        rebuild_term_rollups(session, workspace_id)
    assert everything(engine, workspace_id) == delta

    # A topic added later counts the corrected posts under the analysts' labels.
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates OR acme", "product")
    with Session(engine) as session:
        backfill(session, workspace_id)
    assert counted(engine, workspace_id, "skates", ids[TEXTS[0][0]]) == "negative"
    assert counted(engine, workspace_id, "skates", ids[TEXTS[4][0]]) == "positive"
    consistent(engine, workspace_id)


def test_the_calibration_still_fits_on_what_the_model_said(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = _setup(engine, settings, workspace_id)
    target = ids[TEXTS[0][0]]
    correct(engine, workspace_id, target, "negative")
    correct(engine, workspace_id, target, "neutral")
    with Session(engine) as session:
        rows = session.scalars(select(EnrichmentCorrection)).all()
        report = calibration_report(session, workspace_id)
    # The probabilities are the model's of the text, the same at every correction.
    assert rows[0].model_proba == rows[1].model_proba
    assert max(range(3), key=lambda i: rows[0].model_proba[i]) == LABELS.index("positive")
    assert report is not None and report.corrections == 1
    assert {r.model_label for r in rows} == {"positive"}


def test_corrections_recorded_before_they_moved_counts_are_applied_once(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """A store whose corrections never reached the counts (recorded by an earlier version):
    ``apply_corrections`` (run by ``hubbub topic backfill``) leaves it as if each correction
    had moved them, and a second run changes nothing."""
    corrections = ((TEXTS[0][0], "negative"), (TEXTS[2][0], "neutral"), (TEXTS[3][0], "negative"))
    ids = _setup(engine, settings, workspace_id)
    for text, label in corrections:
        correct(engine, workspace_id, ids[text], label)
    with transaction(engine) as session:
        legacy = ensure_workspace(session, "legacy").id
    old = _setup(engine, settings, legacy)
    with transaction(engine) as session:
        for text, label in corrections:
            enrichment = session.get(PostEnrichment, old[text])
            assert enrichment is not None
            session.add(
                EnrichmentCorrection(
                    workspace_id=legacy,
                    post_id=old[text],
                    created_at=BASE_TIME,
                    label=label,
                    model_label=enrichment.sentiment_label,
                    model_score=enrichment.sentiment_score,
                    model_intents=[],
                    model_proba=[0.2, 0.3, 0.5],
                )
            )
    with transaction(engine) as session:
        assert apply_corrections(session, legacy) == 3
    with transaction(engine) as session:
        assert apply_corrections(session, legacy) == 0
    for name in ("acme", "globex"):
        assert state(engine, legacy, name) == state(engine, workspace_id, name)
    for text, _ in corrections:
        assert stored(engine, old[text]) == stored(engine, ids[text])
    consistent(engine, legacy)
