"""Reproducible training and stratified cross-validation of the intent model (numpy only).

The set is small (hundreds of posts), so training is full-batch: every step sees every post,
the buckets are compacted to the ones the training posts use, and a few hundred Adam steps
take well under a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.enrich.intent.data import LABELS, IntentSet
from hubbub.enrich.intent.features import featurise_intent
from hubbub.enrich.intent.model import LinearIntent, softmax

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters (chosen on the seeded 5-fold CV of the project set; see docs/intent.md)."""

    bits: int = 18
    steps: int = 60  # early stopping: 300 steps grow rare n-gram weights, CV F1 0.81 -> 0.78
    lr: float = 0.05
    l2: float = 1e-4
    l2_dense: float = 1e-4
    seed: int = 7
    min_docs: int = 5  # a bucket must occur in this many training posts to get a weight


def fit(texts: list[str], labels: I64, config: TrainConfig = TrainConfig()) -> LinearIntent:
    """Class-balanced softmax regression trained with full-batch Adam; deterministic."""
    k = len(LABELS)
    n = len(texts)
    feats = featurise_intent(texts, config.bits)
    # Buckets seen in fewer than min_docs training posts can only memorise; drop them.
    pairs = np.unique(feats.col * n + feats.doc)
    used, per_bucket = np.unique(pairs // n, return_counts=True)
    keep = np.isin(feats.col, used[per_bucket >= config.min_docs])
    buckets, local_col = np.unique(feats.col[keep], return_inverse=True)
    local_col = local_col.astype(np.int64).ravel()
    doc = feats.doc[keep]
    val = feats.val[keep].astype(np.float64)
    mean = feats.dense.mean(axis=0).astype(np.float64)
    scale = feats.dense.std(axis=0).astype(np.float64) + 1e-6
    xd = (feats.dense - mean) / scale
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sample = n / (k * np.maximum(counts, 1.0))[labels]
    sample /= sample.sum()
    onehot = np.eye(k)[labels]
    rng = np.random.default_rng(config.seed)
    # Tiny random start breaks ties between classes the same way on every run.
    params = [
        rng.normal(0.0, 1e-3, (buckets.shape[0], k)),
        rng.normal(0.0, 1e-3, (xd.shape[1], k)),
        np.zeros(k),
    ]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n_buckets = buckets.shape[0]
    classes = np.arange(k)
    # Flat (entry, class) indices turn the k per-class bincounts into one call each way.
    doc_flat = (doc[:, None] * k + classes).ravel()
    col_flat = (local_col[:, None] * k + classes).ravel()
    for step in range(1, config.steps + 1):
        w_sparse, w_dense, bias = params
        z = xd @ w_dense + bias
        z += np.bincount(
            doc_flat, weights=(w_sparse[local_col] * val[:, None]).ravel(), minlength=n * k
        ).reshape(n, k)
        g = (softmax(z) - onehot) * sample[:, None]
        grad_sparse = np.bincount(
            col_flat, weights=(g[doc] * val[:, None]).ravel(), minlength=n_buckets * k
        ).reshape(n_buckets, k)
        grads = [
            grad_sparse + config.l2 * w_sparse,
            xd.T @ g + config.l2_dense * w_dense,
            g.sum(axis=0),
        ]
        lr = config.lr * np.sqrt(1 - beta2**step) / (1 - beta1**step)
        for i, grad in enumerate(grads):
            first[i] = beta1 * first[i] + (1 - beta1) * grad
            second[i] = beta2 * second[i] + (1 - beta2) * grad * grad
            params[i] = params[i] - lr * first[i] / (np.sqrt(second[i]) + eps)
    return LinearIntent(
        bits=config.bits,
        buckets=buckets.astype(np.int64),
        sparse=params[0],
        dense=params[1],
        dense_mean=mean,
        dense_scale=scale,
        bias=params[2],
        meta={"config": asdict(config), "rows": n},
    )


def train_default(data: IntentSet, config: TrainConfig = TrainConfig()) -> LinearIntent:
    """The shipped model: every post of the project set."""
    model = fit(data.texts, data.labels, config)
    return LinearIntent(**{**model.__dict__, "meta": {**model.meta, "data": "intent_posts.tsv"}})


def stratified_folds(labels: I64, folds: int, seed: int) -> I64:
    """Fold number per row: each class is shuffled (seeded) and dealt round-robin to folds."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(labels.shape[0], dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        # Start each class where the last one stopped so fold sizes stay even overall.
        fold_of[rows] = (np.arange(rows.shape[0]) + offset) % folds
        offset += rows.shape[0]
    return fold_of


def report(truth: I64, predicted: I64) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    k = len(LABELS)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    support = confusion.sum(axis=1)
    predicted_n = confusion.sum(axis=0)
    hits = np.diag(confusion).astype(np.float64)
    recall = np.divide(hits, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(hits, predicted_n, out=np.zeros(k), where=predicted_n > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = support > 0
    return {
        "n": int(truth.shape[0]),
        "accuracy": round(float(hits.sum() / max(truth.shape[0], 1)), 4),
        "macro_f1": round(float(f1[present].mean()) if present.any() else 0.0, 4),
        "per_class": {
            name: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, name in enumerate(LABELS)
        },
        "confusion": {"labels": list(LABELS), "rows_truth_cols_predicted": confusion.tolist()},
    }


def cross_validate(
    data: IntentSet, config: TrainConfig = TrainConfig(), folds: int = 5
) -> dict[str, Any]:
    """Seeded stratified k-fold: every post is scored once by a model that never saw it."""
    fold_of = stratified_folds(data.labels, folds, config.seed)
    predicted = np.empty_like(data.labels)
    fold_f1: list[float] = []
    for f in range(folds):
        train = np.flatnonzero(fold_of != f)
        test = np.flatnonzero(fold_of == f)
        model = fit([data.texts[i] for i in train], data.labels[train], config)
        guess, _ = model.predict([data.texts[i] for i in test])
        predicted[test] = guess
        fold_f1.append(report(data.labels[test], guess)["macro_f1"])
    out = report(data.labels, predicted)
    out.update(
        folds=folds,
        seed=config.seed,
        fold_macro_f1=fold_f1,
        fold_macro_f1_std=round(float(np.std(fold_f1)), 4),
        config=asdict(config),
    )
    return out
