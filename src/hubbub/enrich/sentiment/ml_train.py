"""Training and honest evaluation of the `ml` tier's head (numpy softmax regression).

The head reads the embedding and the default tier's log-probabilities. On training rows those
log-probabilities come out of fold (a default model that never saw the row), so the head learns
how far to trust the default tier on text it has not memorised, as at run time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.enrich.sentiment.data import Labelled
from hubbub.enrich.sentiment.evaluate import classification, vader_scorer
from hubbub.enrich.sentiment.ml import EMBED_DIM, Embedder, MLHead, _default_logits, stack
from hubbub.enrich.sentiment.model import LinearSentiment
from hubbub.enrich.sentiment.train import TIME_SPLIT_TEST, TrainConfig, fit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class HeadConfig:
    """Head hyper-parameters (fixed before looking at any held-out figure)."""

    steps: int = 400
    lr: float = 0.05
    l2: float = 1e-4
    folds: int = 5
    seed: int = 13


def embed_cached(encoder: Embedder, texts: Sequence[str], cache: Path | None) -> F32:
    """Embeddings of `texts`, kept under `cache` by a digest of the texts and the encoder."""
    if cache is None:
        return encoder.embed(texts)
    digest = hashlib.sha256(encoder.name.encode() + encoder.precision.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\n")
    path = cache / f"embeddings-{digest.hexdigest()[:20]}.npy"
    if path.exists():
        stored: F32 = np.load(path)
        if stored.shape == (len(texts), EMBED_DIM):
            return stored
    cache.mkdir(parents=True, exist_ok=True)
    vectors = encoder.embed(texts)
    np.save(path, vectors)
    return vectors


def out_of_fold_logits(
    texts: Sequence[str], labels: I64, config: TrainConfig, folds: int, seed: int
) -> F64:
    """Default-tier logits for each row from a model trained on the other folds."""
    fold_of = np.random.default_rng(seed).permutation(len(texts)) % folds
    out = np.zeros((len(texts), 3))
    for k in range(folds):
        train = np.flatnonzero(fold_of != k)
        test = np.flatnonzero(fold_of == k)
        model = fit([texts[int(i)] for i in train], labels[train], config)
        out[test] = _default_logits(model, [texts[int(i)] for i in test])
    return out


def fit_head(embeddings: F32, logits: F64, labels: I64, config: HeadConfig) -> F64:
    """Class-balanced softmax regression, full-batch Adam: deterministic and a few seconds."""
    x = stack(embeddings, logits)
    n, d = x.shape
    counts = np.bincount(labels, minlength=3).astype(np.float64)
    sample = (n / (3.0 * np.maximum(counts, 1.0)))[labels] / n
    onehot = np.eye(3)[labels]
    w = np.zeros((d, 3))
    first = np.zeros_like(w)
    second = np.zeros_like(w)
    penalty = np.ones((d, 1))
    penalty[-1] = 0.0  # the bias is not shrunk
    for step in range(1, config.steps + 1):
        z = x @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = x.T @ ((p - onehot) * sample[:, None]) + config.l2 * penalty * w
        first = 0.9 * first + 0.1 * grad
        second = 0.999 * second + 0.001 * grad * grad
        lr = config.lr * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        w -= lr * first / (np.sqrt(second) + 1e-8)
    return w


def train_head(
    pool: Labelled,
    embeddings: F32,
    default: LinearSentiment,
    default_digest: str,
    config: HeadConfig = HeadConfig(),
    default_config: TrainConfig = TrainConfig(),
    logits: F64 | None = None,
) -> MLHead:
    """The shipped head: every SemEval row, stacked on out-of-fold default logits.

    `logits` lets a caller pass the out-of-fold logits it already computed (same seed).
    """
    if logits is None:
        logits = out_of_fold_logits(
            pool.texts, pool.labels, default_config, config.folds, config.seed
        )
    weights = fit_head(embeddings, logits, pool.labels, config)
    return MLHead(
        weights=weights,
        default_digest=default_digest,
        meta={"config": config.__dict__, "rows": len(pool.texts), "data": "semeval_2013_2016"},
    )


def time_split(
    pool: Labelled,
    embeddings: F32,
    config: HeadConfig = HeadConfig(),
    default_config: TrainConfig = TrainConfig(),
    precomputed: tuple[F64, F64] | None = None,
) -> dict[str, Any]:
    """Older SemEval sets -> twitter-2016test, with both the default tier and head trained only
    on the older sets; the test rows are scored exactly as at run time.

    `precomputed` is (out-of-fold logits of the older rows, test logits of the default tier
    trained on all older rows), when a caller already has them.
    """
    sources = np.asarray(pool.sources)
    train = np.flatnonzero(sources != TIME_SPLIT_TEST)
    test = np.flatnonzero(sources == TIME_SPLIT_TEST)
    train_texts = [pool.texts[i] for i in train]
    test_texts = [pool.texts[i] for i in test]
    if precomputed is None:
        logits = out_of_fold_logits(
            train_texts, pool.labels[train], default_config, config.folds, config.seed
        )
        default = fit(train_texts, pool.labels[train], default_config)
        test_logits = _default_logits(default, test_texts)
    else:
        logits, test_logits = precomputed
    weights = fit_head(embeddings[train], logits, pool.labels[train], config)
    head = MLHead(weights=weights, default_digest="time-split")
    ml_labels = head.proba_from(embeddings[test], test_logits).argmax(axis=1)
    return {
        "test": TIME_SPLIT_TEST,
        "train_rows": int(train.shape[0]),
        "hubbub_ml": classification(pool.labels[test], ml_labels.astype(np.int64)),
        "hubbub_default": classification(pool.labels[test], test_logits.argmax(axis=1)),
        "vader": classification(pool.labels[test], vader_scorer()(test_texts)[0]),
    }
