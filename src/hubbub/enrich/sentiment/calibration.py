"""Per-workspace calibration of the default tier from analysts' sentiment corrections.

Matrix scaling: calibrated logits are ``log p @ W + b`` over the model's three probabilities,
fitted by multinomial logistic regression whose L2 penalty pulls towards ``W = I, b = 0`` (the
model as shipped), so a few corrections can only nudge it. One correction in
``HOLDOUT_EVERY`` (chosen by a hash of the post id, so a post never changes side) is held out;
a calibration is marked ``applied`` only when it has enough data and beats the uncalibrated
model on those held-out corrections by more than chance (a sign test on the posts it
changes). Pure numpy, no database.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.enrich.sentiment.evaluate import classification
from hubbub.enrich.sentiment.model import LABELS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

HOLDOUT_EVERY = 3  # one correction in three is held out
MIN_CORRECTIONS = 100  # label corrections (latest per post) before any fit
MIN_HELD_OUT = 20
MIN_PER_CLASS = 5  # in the fitting share, for each of the three labels
SIGN_TEST_P = 0.1  # held-out posts fixed vs broken: one-sided exact sign test
L2 = 0.02  # towards the identity, on the mean cross-entropy
NEWTON_STEPS = 50
EPS = 1e-9


def held_out(post_id: int) -> bool:
    """Whether the correction of this post is kept out of fitting (stable, ~1 in 3)."""
    digest = hashlib.blake2b(str(post_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % HOLDOUT_EVERY == 0


@dataclass(frozen=True)
class Calibration:
    """``softmax(log p @ weights + bias)`` with p the model's (negative, neutral, positive)."""

    weights: tuple[tuple[float, float, float], ...]
    bias: tuple[float, float, float]

    @classmethod
    def identity(cls) -> Calibration:
        eye = np.eye(3)
        return cls(_rows(eye), (0.0, 0.0, 0.0))

    def proba(self, proba: F64) -> F64:
        """Calibrated probabilities for an (n, 3) array of model probabilities."""
        z = np.log(np.clip(proba, EPS, 1.0)) @ np.asarray(self.weights) + np.asarray(self.bias)
        return _softmax(z)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": [list(r) for r in self.weights], "bias": list(self.bias)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        weights = np.asarray(data["weights"], dtype=np.float64)
        bias = np.asarray(data["bias"], dtype=np.float64)
        if weights.shape != (3, 3) or bias.shape != (3,):
            raise ValueError("a calibration is a 3×3 matrix and 3 biases")
        return cls(_rows(weights), (float(bias[0]), float(bias[1]), float(bias[2])))


@dataclass(frozen=True)
class Agreement:
    """How often labels agree with the analysts' on a set of corrections."""

    n: int
    accuracy: float
    macro_recall: float
    confusion: list[list[int]]  # rows: the analysts' label, columns: the predicted one

    @classmethod
    def of(cls, truth: I64, predicted: I64) -> Agreement:
        found = classification(truth, predicted)
        return cls(
            n=int(found["n"]),
            accuracy=float(found["accuracy"]),
            macro_recall=float(found["macro_recall"]),
            confusion=found["confusion"]["rows_truth_cols_predicted"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_recall": self.macro_recall,
            "confusion": self.confusion,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Agreement:
        return cls(
            int(data["n"]),
            float(data["accuracy"]),
            float(data["macro_recall"]),
            [[int(v) for v in row] for row in data["confusion"]],
        )


@dataclass(frozen=True)
class Report:
    """One fit: counts, held-out agreement before and after, and whether to apply it."""

    corrections: int
    fitted_on: int
    held_out: int
    before: Agreement | None
    after: Agreement | None
    fixed: int  # held-out posts wrong before and right after
    broken: int  # held-out posts right before and wrong after
    calibration: Calibration | None
    applied: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "corrections": self.corrections,
            "fitted_on": self.fitted_on,
            "held_out": self.held_out,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "fixed": self.fixed,
            "broken": self.broken,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "applied": self.applied,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            corrections=int(data["corrections"]),
            fitted_on=int(data["fitted_on"]),
            held_out=int(data["held_out"]),
            before=Agreement.from_dict(data["before"]) if data.get("before") else None,
            after=Agreement.from_dict(data["after"]) if data.get("after") else None,
            fixed=int(data.get("fixed", 0)),
            broken=int(data.get("broken", 0)),
            calibration=(
                Calibration.from_dict(data["calibration"]) if data.get("calibration") else None
            ),
            applied=bool(data["applied"]),
            reason=str(data["reason"]),
        )


def fit(proba: F64, truth: I64, l2: float = L2) -> Calibration:
    """Matrix scaling by damped Newton steps on the L2-to-identity multinomial log-loss."""
    n = proba.shape[0]
    x = np.hstack([np.log(np.clip(proba, EPS, 1.0)), np.ones((n, 1))])  # (n, 4)
    y = np.eye(3)[truth]
    anchor = np.vstack([np.eye(3), np.zeros((1, 3))])  # (4, 3): the uncalibrated model
    theta = anchor.copy()

    def loss(t: F64) -> float:
        z = x @ t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-(y * log_p).sum() / n + l2 * ((t - anchor) ** 2).sum())

    current = loss(theta)
    for _ in range(NEWTON_STEPS):
        p = _softmax(x @ theta)
        grad = x.T @ (p - y) / n + 2 * l2 * (theta - anchor)
        # Hessian of the mean log-loss: sum_i kron(x_i x_i^T, diag(p_i) - p_i p_i^T) / n.
        s = np.einsum("ic,cd->icd", p, np.eye(3)) - np.einsum("ic,id->icd", p, p)
        hess = np.einsum("ia,ib,icd->acbd", x, x, s).reshape(12, 12) / n
        hess += 2 * l2 * np.eye(12)
        step = np.linalg.solve(hess, grad.reshape(12)).reshape(4, 3)
        scale = 1.0
        while scale > 1e-4:
            candidate = theta - scale * step
            value = loss(candidate)
            if value <= current:
                break
            scale /= 2
        else:
            break
        done = current - value < 1e-10
        theta, current = candidate, value
        if done:
            break
    return Calibration(
        _rows(theta[:3]), (float(theta[3, 0]), float(theta[3, 1]), float(theta[3, 2]))
    )


def calibrate(post_ids: Sequence[int], proba: F64, truth: Sequence[int] | I64) -> Report:
    """Fit on the kept share of corrections, judge on the held-out share, decide to apply.

    ``proba`` holds the uncalibrated model's probabilities of each corrected post, ``truth``
    the analysts' label indices into :data:`LABELS`, one per post (its latest correction).
    """
    labels = np.asarray(truth, dtype=np.int64)
    total = len(post_ids)
    mask = np.array([held_out(p) for p in post_ids], dtype=bool)
    kept, out = np.flatnonzero(~mask), np.flatnonzero(mask)

    def report(reason: str, **extra: Any) -> Report:
        fields: dict[str, Any] = {
            "before": None,
            "after": None,
            "fixed": 0,
            "broken": 0,
            "calibration": None,
            "applied": False,
        }
        fields.update(extra)
        return Report(total, len(kept), len(out), reason=reason, **fields)

    before = Agreement.of(labels[out], proba[out].argmax(axis=1)) if len(out) else None
    if total < MIN_CORRECTIONS:
        return report(
            f"not enough corrections yet: {total} of the {MIN_CORRECTIONS} needed", before=before
        )
    if len(out) < MIN_HELD_OUT:
        return report(
            f"not enough held-out corrections: {len(out)} of {MIN_HELD_OUT}", before=before
        )
    counts = np.bincount(labels[kept], minlength=3)
    short = [LABELS[c] for c in range(3) if counts[c] < MIN_PER_CLASS]
    if short:
        return report(
            f"fewer than {MIN_PER_CLASS} fitting corrections labelled {', '.join(short)}",
            before=before,
        )
    calibration = fit(proba[kept], labels[kept])
    old = proba[out].argmax(axis=1)
    new = calibration.proba(proba[out]).argmax(axis=1)
    after = Agreement.of(labels[out], new)
    truth_out = labels[out]
    fixed = int(((old != truth_out) & (new == truth_out)).sum())
    broken = int(((old == truth_out) & (new != truth_out)).sum())
    assert before is not None
    improved = (
        after.accuracy > before.accuracy
        and after.macro_recall >= before.macro_recall
        and sign_test(fixed, broken) < SIGN_TEST_P
    )
    reason = (
        "applied: better than the model on the held-out corrections"
        if improved
        else "not applied: no clear gain on the held-out corrections"
    )
    return report(
        reason,
        before=before,
        after=after,
        fixed=fixed,
        broken=broken,
        calibration=calibration,
        applied=improved,
    )


def sign_test(fixed: int, broken: int) -> float:
    """P(at least ``fixed`` of the changed posts fixed) if changes were coin flips."""
    n = fixed + broken
    if n == 0:
        return 1.0
    return float(sum(math.comb(n, k) for k in range(fixed, n + 1)) / 2**n)  # exact ints


def _rows(matrix: F64) -> tuple[tuple[float, float, float], ...]:
    return tuple((float(r[0]), float(r[1]), float(r[2])) for r in matrix)


def _softmax(z: F64) -> F64:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out
