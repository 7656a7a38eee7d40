"""The shipped weights load, agree with a fresh deterministic training run and classify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hubbub.core.errors import Rejected
from hubbub.enrich.intent import LABELS, classify, default_model, predict
from hubbub.enrich.intent.data import read_posts
from hubbub.enrich.intent.features import sentiment_fingerprint
from hubbub.enrich.intent.model import WEIGHTS_PATH, LinearIntent
from hubbub.enrich.intent.train import TrainConfig, fit, stratified_folds, train_default

# Written for this test, not taken from the labelled set.
OBVIOUS = {
    "Does the Zentrail Glide come in half sizes?": "question",
    "please add an offline mode to the app, would love that": "feature_request",
    "FREE bitcoin giveaway!!! click the link in bio to claim 💰💰 #crypto": "spam",
    "@Snapfare my order 44120 never arrived, can you refund me please?": "support_request",
    "I'm going to buy the Vantix 12 next week, can't wait": "purchase_intent",
    "absolutely love my new Lumora lamp, best purchase this year 😍": "praise",
}


def test_shipped_weights_classify_obvious_posts() -> None:
    texts = list(OBVIOUS)
    assert predict(texts) == list(OBVIOUS.values())
    verdicts = classify(texts)
    assert [v.label for v in verdicts] == list(OBVIOUS.values())
    assert all(1 / len(LABELS) < v.score <= 1.0 for v in verdicts)


def test_probabilities_are_a_distribution_in_label_order() -> None:
    p = default_model().proba(["is it open on sunday?", "", "x" * 3000])
    assert p.shape == (3, len(LABELS))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p[0].argmax() == LABELS.index("question")


def test_empty_batch() -> None:
    assert predict([]) == []


def test_shipped_weights_match_a_fresh_training_run() -> None:
    """`hubbub intent train` is reproducible: retraining gives the shipped predictions."""
    data = read_posts()
    fresh = train_default(data)
    sample = data.texts[::7] + list(OBVIOUS)
    shipped_best, shipped_p = default_model().predict(sample)
    fresh_best, fresh_p = fresh.predict(sample)
    assert shipped_best.tolist() == fresh_best.tolist()
    assert np.allclose(shipped_p, fresh_p, atol=0.01)  # the file keeps float16 weights


def test_save_load_round_trip(tmp_path: Path) -> None:
    data = read_posts()
    model = fit(data.texts[:200], data.labels[:200], TrainConfig(steps=10))
    path = tmp_path / "w.npz"
    model.save(path)
    again = LinearIntent.load(path)
    texts = data.texts[200:240]
    assert model.predict(texts)[0].tolist() == again.predict(texts)[0].tolist()


def test_bad_weights_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(Rejected) as caught:
        LinearIntent.load(path)
    assert caught.value.code == "bad_weights"


def test_weights_for_other_labels_are_rejected(tmp_path: Path) -> None:
    raw = dict(np.load(WEIGHTS_PATH, allow_pickle=False))
    meta = bytes(raw["meta"]).decode().replace('"spam"', '"junk"')
    raw["meta"] = np.frombuffer(meta.encode(), dtype=np.uint8)
    path = tmp_path / "w.npz"
    np.savez(path, **raw)
    with pytest.raises(Rejected) as caught:
        LinearIntent.load(path)
    assert caught.value.code == "bad_weights"


def test_folds_are_stratified_and_seeded() -> None:
    labels = read_posts().labels
    folds = stratified_folds(labels, 5, seed=3)
    assert folds.tolist() == stratified_folds(labels, 5, seed=3).tolist()
    assert folds.tolist() != stratified_folds(labels, 5, seed=4).tolist()
    for c in range(len(LABELS)):
        per_fold = np.bincount(folds[labels == c], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1


def test_shipped_weights_were_trained_on_the_current_sentiment_model() -> None:
    """The polarity features come from the sentiment weights; retrain intent when they change."""
    assert default_model().meta["sentiment_weights"] == sentiment_fingerprint(), (
        "sentiment weights changed: run `hubbub intent train`"
    )
