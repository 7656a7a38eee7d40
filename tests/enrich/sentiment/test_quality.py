"""Quality floors on data the shipped model never saw, and docs that quote those very figures."""

from __future__ import annotations

from pathlib import Path

from hubbub.enrich.sentiment import default_model
from hubbub.enrich.sentiment.data import read_tweeteval, read_vader
from hubbub.enrich.sentiment.evaluate import classification, pearson, vader_scorer
from tests.support.data import shared_path

DOC = Path(__file__).resolve().parents[3] / "docs" / "sentiment.md"


def test_beats_vader_macro_recall_on_tweeteval_validation() -> None:
    folder = shared_path("sentiment", "tweeteval_val")
    data = read_tweeteval(folder / "val_text.txt", folder / "val_labels.txt")
    ours = classification(data.labels, default_model().predict(data.texts)[0])
    theirs = classification(data.labels, vader_scorer()(data.texts)[0])
    assert theirs["macro_recall"] < 0.62
    assert ours["macro_recall"] > theirs["macro_recall"] + 0.08
    assert ours["macro_recall"] >= 0.70
    assert f"**{ours['macro_recall']:.4f}**" in DOC.read_text(), "docs/sentiment.md is stale"


def test_correlates_with_human_ratings_at_least_as_well_as_vader() -> None:
    doc = DOC.read_text()
    for name in ("tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt"):
        data = read_vader(shared_path("sentiment", "vader_icwsm2014", name))
        ours = pearson(default_model().predict(data.texts)[1], data.ratings)
        theirs = pearson(vader_scorer()(data.texts)[1], data.ratings)
        assert ours >= theirs, name
        assert f"**{ours:.4f}**" in doc, f"docs/sentiment.md is stale for {name}"
