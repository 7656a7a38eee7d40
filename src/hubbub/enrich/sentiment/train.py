"""Deterministic training of the default tier: class-balanced softmax regression with Adam."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.enrich.sentiment.data import Labelled
from hubbub.enrich.sentiment.evaluate import classification, vader_scorer
from hubbub.enrich.sentiment.features import featurise
from hubbub.enrich.sentiment.model import BATCH, LinearSentiment

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters, chosen on the time split (older SemEval sets -> twitter-2016test)."""

    bits: int = 18
    epochs: int = 6
    batch: int = 256
    lr: float = 0.004
    l2: float = 3e-5
    seed: int = 13


@dataclass(frozen=True)
class Matrix:
    """Training rows in CSR form plus the dense lexicon block."""

    indptr: I64
    col: I64
    val: F32
    dense: F32


def build_matrix(texts: Sequence[str], bits: int) -> Matrix:
    """Featurise texts in batches and sort the sparse triples by row."""
    docs: list[I64] = []
    cols: list[I64] = []
    vals: list[F32] = []
    dense: list[F32] = []
    for start in range(0, len(texts), BATCH):
        feats = featurise(texts[start : start + BATCH], bits)
        order = np.argsort(feats.doc, kind="stable")
        docs.append(feats.doc[order] + start)
        cols.append(feats.col[order])
        vals.append(feats.val[order])
        dense.append(feats.dense)
    doc = np.concatenate(docs)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(doc, minlength=len(texts))))).astype(
        np.int64
    )
    return Matrix(indptr, np.concatenate(cols), np.concatenate(vals), np.concatenate(dense))


def fit(
    texts: Sequence[str],
    labels: I64,
    config: TrainConfig = TrainConfig(),
    weights: F64 | None = None,
    progress: Progress | None = None,
) -> LinearSentiment:
    """Train on texts with labels 0/1/2; classes are re-weighted to count equally."""
    n = len(texts)
    matrix = build_matrix(texts, config.bits)
    counts = np.bincount(labels, minlength=3).astype(np.float64)
    sample = n / (3.0 * np.maximum(counts, 1.0))[labels]
    if weights is not None:
        sample = sample * weights
    mean = matrix.dense.mean(axis=0)
    scale = matrix.dense.std(axis=0) + 1e-6
    xd = ((matrix.dense - mean) / scale).astype(np.float64)
    size = 1 << config.bits
    params = [np.zeros((size, 3)), np.zeros((xd.shape[1], 3)), np.zeros(3)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    average = [np.zeros_like(p) for p in params]
    onehot = np.eye(3)[labels]
    rng = np.random.default_rng(config.seed)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    total_steps = config.epochs * ((n + config.batch - 1) // config.batch)
    averaged = 0
    for _epoch in range(config.epochs):
        order = rng.permutation(n)
        for start in range(0, n, config.batch):
            rows = order[start : start + config.batch]
            begin = matrix.indptr[rows]
            lens = matrix.indptr[rows + 1] - begin
            local = np.repeat(np.arange(rows.shape[0]), lens)
            idx = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
            idx += np.repeat(begin, lens)
            col = matrix.col[idx]
            val = matrix.val[idx].astype(np.float64)
            w_sparse, w_dense, bias = params
            z = xd[rows] @ w_dense + bias
            gathered = w_sparse[col] * val[:, None]
            for c in range(3):
                z[:, c] += np.bincount(local, weights=gathered[:, c], minlength=rows.shape[0])
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            g = (p - onehot[rows]) * (sample[rows] / sample[rows].sum())[:, None]
            per_entry = g[local] * val[:, None]
            grad_sparse = np.stack(
                [np.bincount(col, weights=per_entry[:, c], minlength=size) for c in range(3)],
                axis=1,
            )
            grads = [
                grad_sparse + config.l2 * w_sparse,
                xd[rows].T @ g + config.l2 * w_dense,
                g.sum(axis=0),
            ]
            step += 1
            lr = config.lr * np.sqrt(1 - beta2**step) / (1 - beta1**step)
            for i, grad in enumerate(grads):
                first[i] *= beta1
                first[i] += (1 - beta1) * grad
                second[i] *= beta2
                second[i] += (1 - beta2) * grad * grad
                params[i] -= lr * first[i] / (np.sqrt(second[i]) + eps)
            if step > total_steps // 2:
                # Average the second half of the trajectory: steadier weights, better held-out.
                averaged += 1
                for i, param in enumerate(params):
                    average[i] += (param - average[i]) / averaged
            if progress is not None:
                progress(step, total_steps)
    return LinearSentiment(
        bits=config.bits,
        sparse=np.ascontiguousarray(average[0].T),
        dense=average[1].astype(np.float32),
        dense_mean=mean.astype(np.float32),
        dense_scale=scale.astype(np.float32),
        bias=average[2].astype(np.float32),
        meta={"config": config.__dict__, "rows": n},
    )


TIME_SPLIT_TEST = "twitter-2016test"


def train_default(
    pool: Labelled, config: TrainConfig = TrainConfig(), progress: Progress | None = None
) -> LinearSentiment:
    """The shipped model: every SemEval row (TweetEval validation and VADER sets stay unseen)."""
    model = fit(pool.texts, pool.labels, config, progress=progress)
    return LinearSentiment(
        **{**model.__dict__, "meta": {**model.meta, "data": "semeval_2013_2016 (all rows)"}}
    )


def _held_out(
    pool: Labelled, train: I64, test: I64, config: TrainConfig, progress: Progress | None
) -> dict[str, Any]:
    model = fit([pool.texts[i] for i in train], pool.labels[train], config, progress=progress)
    texts = [pool.texts[i] for i in test]
    ours, _ = model.predict(texts)
    baseline, _ = vader_scorer()(texts)
    return {
        "train_rows": int(train.shape[0]),
        "hubbub_default": classification(pool.labels[test], ours),
        "vader": classification(pool.labels[test], baseline),
    }


def cross_validate(
    pool: Labelled, config: TrainConfig, folds: int = 5, progress: Progress | None = None
) -> dict[str, Any]:
    """Random k-fold over the pool plus the time split; never scores a row it trained on."""
    rng = np.random.default_rng(config.seed)
    fold_of = rng.permutation(len(pool.texts)) % folds
    runs = []
    for k in range(folds):
        runs.append(
            _held_out(
                pool, np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k), config, progress
            )
        )
    summary: dict[str, Any] = {}
    for scorer in ("hubbub_default", "vader"):
        summary[scorer] = {
            metric: {
                "mean": round(float(np.mean([r[scorer][metric] for r in runs])), 4),
                "std": round(float(np.std([r[scorer][metric] for r in runs])), 4),
            }
            for metric in ("accuracy", "macro_recall", "macro_f1")
        }
    sources = np.asarray(pool.sources)
    test = np.flatnonzero(sources == TIME_SPLIT_TEST)
    train = np.flatnonzero(sources != TIME_SPLIT_TEST)
    return {
        "config": config.__dict__,
        "kfold": {"folds": folds, "summary": summary, "runs": runs},
        "time_split": {"test": TIME_SPLIT_TEST, **_held_out(pool, train, test, config, progress)},
    }
