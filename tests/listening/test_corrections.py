"""Corrections on a real database: history, supersession, refusals, and the calibration they
feed, applied by the live listening stage to posts matched afterwards."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import create_user
from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment import LABELS, default_model
from hubbub.enrich.sentiment.calibration import MIN_CORRECTIONS
from hubbub.listening.corrections.actions import correct_post
from hubbub.listening.corrections.models import EnrichmentCorrection, SentimentCalibration
from hubbub.listening.corrections.queries import (
    calibration_report,
    label_corrections,
    page_corrections,
    verdicts,
)
from hubbub.listening.models import PostEnrichment, Topic
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, native, post, topics


@dataclass(frozen=True)
class Said:
    """The model's stored enrichment of a post, read before any correction."""

    sentiment_label: str
    sentiment_score: float
    intents: list[str]


NEUTRAL = "store opens tuesday the new model announced in city update version shipping app report"
FEELING = "love hate slow great broken fine ok terrible awesome late refund again meh thanks never"


def texts(n: int, seed: int) -> list[str]:
    """Short brand posts, mostly neutral words with some feeling, so all three labels occur."""
    rng = random.Random(seed)
    neutral, feeling = NEUTRAL.split(), FEELING.split()
    return [
        "acme "
        + " ".join(
            rng.choice(feeling if rng.random() < 0.3 else neutral) for _ in range(rng.randint(3, 7))
        )
        for _ in range(n)
    ]


def enriched_posts(
    engine: Engine, settings: Settings, workspace_id: int, lines: list[str], first: int = 1
) -> dict[int, str]:
    """Ingest ``lines`` as posts matched by a topic ``acme``; their ids → texts."""
    with Session(engine) as session:
        has_topic = session.scalar(select(Topic.id).where(Topic.workspace_id == workspace_id))
    if has_topic is None:
        topics(engine, workspace_id, brand="acme")
    events = [post(first + i, text) for i, text in enumerate(lines)]
    result = ingest(engine, settings, workspace_id, events)
    assert result.rejected == 0
    natives = {native(first + i): text for i, text in enumerate(lines)}
    with Session(engine) as session:
        rows = session.execute(
            select(Post.id, Post.native_id).where(
                Post.workspace_id == workspace_id, Post.native_id.in_(list(natives))
            )
        ).all()
    return {post_id: natives[native_id] for post_id, native_id in rows}


def test_a_correction_keeps_who_when_what_and_the_model_value(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = enriched_posts(engine, settings, workspace_id, ["acme broke my order, terrible"])
    (post_id,) = ids
    with transaction(engine) as session:
        user = create_user(session, "ana@acme.example", "a long enough password")
        stored = session.get(PostEnrichment, post_id)
        assert stored is not None
        model = Said(stored.sentiment_label, stored.sentiment_score, list(stored.intents))
        first = correct_post(
            session, workspace_id, post_id, label="neutral", intents=[], user_id=user.id
        )
    with transaction(engine) as session:
        second = correct_post(session, workspace_id, post_id, label="negative", token_id=None)
    with Session(engine) as session:
        history = page_corrections(session, workspace_id, 10)
        assert [c.id for c in history] == [second.id, first.id]  # newest first, nothing lost
        old = history[1]
        assert (old.user_id, old.token_id, old.label, old.intents) == (user.id, None, "neutral", [])
        assert old.created_at.tzinfo is not None
        assert (old.model_label, old.model_score) == (model.sentiment_label, model.sentiment_score)
        assert old.model_intents == model.intents
        # The probabilities behind the stored score: P(positive) - P(negative).
        assert old.model_proba[2] - old.model_proba[0] == pytest.approx(
            model.sentiment_score, abs=1e-4
        )
        # The second correction still records what the model said, not the first one's label.
        latest = history[0]
        assert (latest.model_label, latest.model_score) == (
            model.sentiment_label,
            model.sentiment_score,
        )
        verdict = verdicts(session, workspace_id, [post_id])[post_id]
        # The later label supersedes; the intents of the first still stand (not re-corrected).
        assert (verdict.label, verdict.intents, verdict.corrections) == ("negative", [], 2)
        assert (verdict.model_label, verdict.model_score) == (
            model.sentiment_label,
            model.sentiment_score,
        )
        assert [c.label for c in label_corrections(session, workspace_id)] == ["negative"]
        # One label correction is far from enough: stored, not applied, and says so.
        report = calibration_report(session, workspace_id)
        assert report is not None and not report.applied
        assert report.reason.startswith("not enough corrections yet")
        # The latest label is the post's stored sentiment (what dashboards count); the intents
        # stay the model's.
        now = session.get(PostEnrichment, post_id)
        assert now is not None
        expected_score = model.sentiment_score if model.sentiment_label == "negative" else -1.0
        assert (now.sentiment_label, now.sentiment_score) == ("negative", expected_score)
        assert now.intents == model.intents


def test_refusals_write_nothing(engine: Engine, settings: Settings, workspace_id: int) -> None:
    (post_id,) = enriched_posts(engine, settings, workspace_id, ["acme is fine"])
    ingest(engine, settings, workspace_id, [post(50, "nothing about the brand")], keep="all")
    with Session(engine) as session:
        unmatched = session.scalar(select(Post.id).where(Post.native_id == native(50)))
        assert unmatched is not None and session.get(PostEnrichment, unmatched) is None
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    cases = [
        ({"workspace_id": other, "post_id": post_id, "label": "negative"}, "no_post"),
        ({"workspace_id": workspace_id, "post_id": 10**9, "label": "negative"}, "no_post"),
        ({"workspace_id": workspace_id, "post_id": unmatched, "label": "negative"}, "no_post"),
        ({"workspace_id": workspace_id, "post_id": post_id, "label": "angry"}, "invalid_label"),
        ({"workspace_id": workspace_id, "post_id": post_id, "intents": ["rant"]}, "invalid_intent"),
        ({"workspace_id": workspace_id, "post_id": post_id, "intents": ["none"]}, "invalid_intent"),
        ({"workspace_id": workspace_id, "post_id": post_id}, "nothing_to_correct"),
    ]
    for kwargs, code in cases:
        with pytest.raises(Rejected) as refused, transaction(engine) as session:
            correct_post(session, **kwargs)  # type: ignore[arg-type]
        assert refused.value.code == code, kwargs
    with Session(engine) as session:
        assert session.scalars(select(EnrichmentCorrection)).all() == []
        assert session.scalars(select(SentimentCalibration)).all() == []


def test_duplicate_intents_collapse(engine: Engine, settings: Settings, workspace_id: int) -> None:
    (post_id,) = enriched_posts(engine, settings, workspace_id, ["acme where do I buy one?"])
    with transaction(engine) as session:
        found = correct_post(
            session, workspace_id, post_id, intents=["question", "purchase_intent", "question"]
        )
        assert found.intents == ["question", "purchase_intent"] and found.label is None
        # An intents-only correction does not touch calibration.
        assert session.get(SentimentCalibration, workspace_id) is None


def test_calibration_from_biased_corrections_is_applied_to_new_posts_only(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """Analysts here call a post negative whenever the model gives negative 20% or more (a
    complaint-heavy brand): the model under-calls negative for them. The fit beats the model on
    the held-out corrections, and posts matched afterwards get the calibrated label."""
    lines = texts(200, seed=5)
    ids = enriched_posts(engine, settings, workspace_id, lines)
    assert len(ids) == 200
    proba = default_model().proba(list(ids.values()))
    analyst = np.where(proba[:, 0] >= 0.2, 0, proba.argmax(axis=1))
    with Session(engine) as session:
        before = {e.post_id: e.sentiment_label for e in session.scalars(select(PostEnrichment))}
    for (post_id, _), truth in zip(ids.items(), analyst, strict=True):
        with transaction(engine) as session:
            correct_post(session, workspace_id, post_id, label=LABELS[int(truth)])
    with Session(engine) as session:
        report = calibration_report(session, workspace_id)
        stored = session.get(SentimentCalibration, workspace_id)
    assert report is not None and stored is not None
    assert stored.version == 200  # refitted after every label correction
    assert report.corrections == 200 >= MIN_CORRECTIONS
    assert report.applied, report.to_dict()
    assert report.before is not None and report.after is not None
    assert report.after.accuracy > report.before.accuracy
    assert report.after.macro_recall >= report.before.macro_recall
    assert report.calibration is not None

    # Stored enrichments carry the analysts' labels (corrections win), and the calibration is
    # fitted on what the model said, kept by the corrections: every post was corrected, and the
    # model's labels recorded are the ones stored before.
    with Session(engine) as session:
        again = {e.post_id: e.sentiment_label for e in session.scalars(select(PostEnrichment))}
        recorded = {c.post_id: c.model_label for c in session.scalars(select(EnrichmentCorrection))}
    assert again == {post_id: LABELS[int(t)] for post_id, t in zip(ids, analyst, strict=True)}
    assert recorded == before
    assert again != before

    fresh = texts(60, seed=11)
    new_ids = enriched_posts(engine, settings, workspace_id, fresh, first=1000)
    expected = report.calibration.proba(default_model().proba(list(new_ids.values())))
    raw = default_model().proba(list(new_ids.values())).argmax(axis=1)
    with Session(engine) as session:
        rows = {
            e.post_id: e
            for e in session.scalars(
                select(PostEnrichment).where(PostEnrichment.post_id.in_(list(new_ids)))
            )
        }
    got = [rows[p].sentiment_label for p in new_ids]
    assert got == [LABELS[int(i)] for i in expected.argmax(axis=1)]
    scores = [rows[p].sentiment_score for p in new_ids]
    assert scores == pytest.approx(list(expected[:, 2] - expected[:, 0]), abs=1e-6)
    assert sum(g != LABELS[int(r)] for g, r in zip(got, raw, strict=True)) > 0  # it did change


def test_agreeing_analysts_leave_the_model_as_shipped(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    lines = texts(120, seed=6)
    ids = enriched_posts(engine, settings, workspace_id, lines)
    proba = default_model().proba(list(ids.values()))
    for post_id, row in zip(ids, proba, strict=True):
        with transaction(engine) as session:
            correct_post(session, workspace_id, post_id, label=LABELS[int(row.argmax())])
    with Session(engine) as session:
        report = calibration_report(session, workspace_id)
    assert report is not None and not report.applied
    assert report.before is not None and report.before.accuracy == 1.0
    fresh = texts(20, seed=12)
    new_ids = enriched_posts(engine, settings, workspace_id, fresh, first=1000)
    raw = default_model().proba(list(new_ids.values())).argmax(axis=1)
    with Session(engine) as session:
        labels = {
            e.post_id: e.sentiment_label
            for e in session.scalars(
                select(PostEnrichment).where(PostEnrichment.post_id.in_(list(new_ids)))
            )
        }
    assert [labels[p] for p in new_ids] == [LABELS[int(i)] for i in raw]
