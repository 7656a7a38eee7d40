"""The shipped weights load and behave on obvious texts; batching never changes a verdict."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment import LABELS, default_model, features, score
from hubbub.enrich.sentiment.features import featurise, reset_cache
from hubbub.enrich.sentiment.model import WEIGHTS_PATH, LinearSentiment


def test_shipped_weights_are_small_and_load() -> None:
    assert WEIGHTS_PATH.stat().st_size < 4_000_000
    model = default_model()
    assert model.meta["data"].startswith("semeval")
    assert model.sparse.shape == (3, 1 << model.bits)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this phone, the camera is absolutely amazing!!", "positive"),
        ("Best concert ever, thank you so much :)", "positive"),
        ("This is the worst customer service I have ever had. Awful.", "negative"),
        ("My flight got cancelled again, I hate this airline", "negative"),
        ("The store opens at 9am on Monday.", "neutral"),
        ("Apple will announce the new iPad on Wednesday", "neutral"),
    ],
)
def test_obvious_texts(text: str, label: str) -> None:
    (verdict,) = score([text])
    assert verdict.label == label
    assert -1.0 <= verdict.score <= 1.0
    if label != "neutral":
        assert (verdict.score > 0.3) == (label == "positive")
        assert abs(verdict.score) > 0.3


def test_negation_flips_the_score() -> None:
    good, not_good = score(["the new update is good", "the new update is not good at all"])
    assert good.score > 0 > not_good.score


def test_batching_and_line_breaks_do_not_change_results() -> None:
    texts = ["so happy today!!", "", "meh\nterrible day\r\nreally", "@someone http://x.y ok 😂"]
    model = default_model()
    together = model.proba(texts)
    alone = np.concatenate([model.proba([t]) for t in texts])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    flattened = model.proba(["meh terrible day  really"])
    np.testing.assert_allclose(together[2], flattened[0], rtol=1e-5, atol=1e-6)
    assert [s.label for s in score(texts)] == [LABELS[i] for i in together.argmax(axis=1)]


def test_features_stay_inside_their_document_and_repeat_exactly() -> None:
    reset_cache()
    first = featurise(["ab", "cd ef", "gh"], 18)
    reset_cache()
    again = featurise(["ab", "cd ef", "gh"], 18)
    np.testing.assert_array_equal(first.col, again.col)
    assert set(first.doc.tolist()) == {0, 1, 2}
    # "ab" is two characters: it has no char trigram, only its word features
    alone = featurise(["ab"], 18)
    assert np.sum(first.doc == 0) == alone.col.shape[0]


def test_empty_batch() -> None:
    assert score([]) == []
    assert default_model().proba([]).shape == (0, 3)


def test_rejects_foreign_weights(tmp_path: Path) -> None:
    bad = tmp_path / "w.npz"
    bad.write_bytes(b"not a weights file")
    with pytest.raises(Rejected) as info:
        LinearSentiment.load(bad)
    assert info.value.code == "bad_weights" and "not a weights file" in info.value.detail


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=6))
def test_any_text_gets_one_bounded_verdict_independent_of_batch(texts: list[str]) -> None:
    model = default_model()
    labels, scores = model.predict(texts)
    assert labels.shape == scores.shape == (len(texts),)
    assert np.all((scores >= -1) & (scores <= 1))
    for text, label in zip(texts, labels, strict=True):
        assert model.predict([text])[0][0] == label


def test_threads_sharing_the_token_cache_get_the_same_answers() -> None:
    model = default_model()
    batches = [[f"{word} number {i} :)" for word in ("great", "awful", "plain")] for i in range(40)]
    expected = [model.proba(b) for b in batches]

    def run(i: int) -> np.ndarray:
        if i % 7 == 0:
            reset_cache()
        return model.proba(batches[i])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(len(batches))))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


ELONGATED_CASES = [
    "soooo good\nnooooo\n",
    "aaa",
    "a\nbbb\nc",
    "1000 followers, 2000!!! ...",
    "ééééé ß_____ x😀😀😀",
    "no repeats here",
    "\n\n",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="ab1_ \n.!é😀\u0301", max_size=40), max_size=8)
    | st.sampled_from([ELONGATED_CASES])
)
def test_elongations_shorten_exactly_as_the_plain_regex_does(texts: list[str]) -> None:
    """The numpy pre-scan only skips lines; what changes is the regex's business."""
    joined = "\n".join(texts)
    expected = features._ELONGATED.sub(r"\1\1", joined)
    assert features._shorten_elongations(joined) == expected
