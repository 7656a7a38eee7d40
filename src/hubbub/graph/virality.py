"""Early virality: from a cascade's first hour, will it end in the top 10% by final size?

A logistic regression (Newton's method with a small L2 penalty, numpy only, no randomness)
on first-hour features of the cascade tree, evaluated on a split by time: trained on the
cascades that started first, tested on the ones that started later, as a live scorer would
be used. The baseline ranks by first-hour size alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.core.clock import from_unix
from hubbub.graph.cascades import (
    Cascade,
    depths,
    higgs_cascades,
    max_breadth,
    read_higgs,
    structural_virality,
)

FloatArray = npt.NDArray[np.float64]

FEATURES = (
    "log_adoptions",
    "depth",
    "log_max_breadth",
    "structural_virality",
    "reply_share",
    "log_adoptions_first_10min",
    "log_adoptions_last_half",
    "log_seconds_since_last",
    "log_starter_audience",
    "log_adopters_audience_sum",
    "log_adopters_audience_max",
)


def first_window_features(cascade: Cascade, window_seconds: float) -> list[float]:
    """Features of the tree as it stood `window_seconds` after its first adoption."""
    start = cascade.times[0]
    end = start + window_seconds
    early = cascade.prefix(end)
    times = early.times[1:]
    adopters = len(early) - 1
    audiences = early.audience[1:]
    replies = sum(1 for k in early.kinds[1:] if k == "reply")
    return [
        math.log1p(adopters),
        float(max(depths(early.parents))),
        math.log1p(max_breadth(early.parents)),
        structural_virality(early.parents),
        replies / adopters if adopters else 0.0,
        math.log1p(sum(1 for t in times if t <= start + window_seconds / 6)),
        math.log1p(sum(1 for t in times if t > start + window_seconds / 2)),
        math.log1p(end - early.times[-1]),
        math.log1p(early.audience[0]),
        math.log1p(sum(audiences)),
        math.log1p(max(audiences, default=0)),
    ]


def auc(scores: FloatArray, labels: npt.NDArray[np.bool_]) -> float:
    """Area under the ROC curve (Mann-Whitney U), ties counted half."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    start = 0
    while start < len(sorted_scores):
        stop = start
        while stop + 1 < len(sorted_scores) and sorted_scores[stop + 1] == sorted_scores[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2.0 + 1.0
        start = stop + 1
    rank_sum = float(ranks[labels].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


@dataclass
class LogisticModel:
    """Standardised inputs, weights and bias."""

    mean: FloatArray
    scale: FloatArray
    weights: FloatArray
    bias: float

    def score(self, x: FloatArray) -> FloatArray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        result: FloatArray = 1.0 / (1.0 + np.exp(-z))
        return result


def fit_logistic(
    x: FloatArray, y: npt.NDArray[np.bool_], *, l2: float = 1e-2, iterations: int = 50
) -> LogisticModel:
    """Penalised maximum likelihood by Newton's method (deterministic, converges in ~10 steps)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    target = y.astype(np.float64)
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2 * len(x))
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (p - target) + penalty * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return LogisticModel(mean, scale, beta[:-1], float(beta[-1]))


def top_threshold(sizes: Sequence[int], share: float) -> int:
    """Smallest size s such that at most `share` of the cascades have size >= s."""
    array = np.asarray(sizes)
    for s in np.unique(array):
        if float((array >= s).mean()) <= share:
            return int(s)
    return int(array.max()) + 1


def evaluate(
    cascades: Sequence[Cascade],
    *,
    window_seconds: float = 3600,
    top_share: float = 0.10,
    train_share: float = 0.7,
    censor_seconds: float = 24 * 3600,
) -> dict[str, Any]:
    """Train on the earliest cascades, test on the later ones; AUC of model and baseline.

    Cascades starting less than `censor_seconds` before the last event are left out: their
    final size is not known yet. The top-10% threshold comes from the training cascades.
    """
    if not cascades:
        return {"error": "no cascades"}
    data_end = max(c.times[-1] for c in cascades)
    kept = sorted(
        (c for c in cascades if c.times[0] <= data_end - censor_seconds),
        key=lambda c: (c.times[0], c.key),
    )
    cut = int(len(kept) * train_share)
    train, test = kept[:cut], kept[cut:]
    if not train or not test:
        return {"error": "too few cascades for a split", "cascades": len(kept)}
    threshold = top_threshold([len(c) for c in train], top_share)

    def matrix(group: Sequence[Cascade]) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray]:
        x = np.array([first_window_features(c, window_seconds) for c in group])
        y = np.array([len(c) >= threshold for c in group])
        early_size = np.array(
            [len(c.prefix(c.times[0] + window_seconds)) for c in group], dtype=np.float64
        )
        return x, y, early_size

    x_train, y_train, _ = matrix(train)
    x_test, y_test, size_test = matrix(test)
    model = fit_logistic(x_train, y_train)
    scores = model.score(x_test)
    open_cases = size_test < threshold
    return {
        "cascades": len(cascades),
        "evaluated": len(kept),
        "train": len(train),
        "test": len(test),
        "train_until": _iso(train[-1].times[0]),
        "test_from": _iso(test[0].times[0]),
        "window_seconds": window_seconds,
        "top_share": top_share,
        "threshold_final_size": threshold,
        "positives": {"train": int(y_train.sum()), "test": int(y_test.sum())},
        "auc": round(auc(scores, y_test), 4),
        "auc_train": round(auc(model.score(x_train), y_train), 4),
        "baseline_auc_first_window_size": round(auc(size_test, y_test), 4),
        "not_yet_top_after_window": {
            "test": int(open_cases.sum()),
            "positives": int(y_test[open_cases].sum()),
            "auc": round(auc(scores[open_cases], y_test[open_cases]), 4),
            "baseline_auc": round(auc(size_test[open_cases], y_test[open_cases]), 4),
        },
        "coefficients": {
            name: round(float(w), 4) for name, w in zip(FEATURES, model.weights, strict=True)
        },
    }


def _iso(stamp: float) -> str:
    return from_unix(stamp).isoformat()


def evaluate_higgs(
    directory: Path,
    *,
    gap_seconds: float = 6 * 3600,
    window_seconds: float = 3600,
    top_share: float = 0.10,
    train_share: float = 0.7,
    max_events: int | None = None,
) -> dict[str, Any]:
    """`hubbub eval virality`: build the Higgs cascades and evaluate the early scorer."""
    started = time.perf_counter()
    events = read_higgs(directory)
    if max_events is not None:
        events = events[:max_events]
    cascades = higgs_cascades(events, gap_seconds=gap_seconds)
    built = time.perf_counter() - started
    result = evaluate(
        cascades, window_seconds=window_seconds, top_share=top_share, train_share=train_share
    )
    return {
        "dataset": str(directory),
        "events": len(events),
        "gap_seconds": gap_seconds,
        **result,
        "seconds": {
            "build": round(built, 2),
            "evaluate": round(time.perf_counter() - started - built, 2),
        },
    }
