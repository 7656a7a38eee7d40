"""The intent classifier: a softmax-linear model over hashed n-grams and cue counts.

Only the hashed buckets that training touched carry weight, so the shipped file stores those
buckets (sorted) and their weights rather than the whole 2**bits table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected
from hubbub.enrich.intent.data import LABELS
from hubbub.enrich.intent.features import (
    DENSE_NAMES,
    featurise_intent,
    featurise_with_polarity,
    sentiment_fingerprint,
)
from hubbub.enrich.sentiment.features import Features, lexicon
from hubbub.enrich.weights import unreadable

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

WEIGHTS_PATH = Path(__file__).with_name("intent_weights.npz")
FORMAT_VERSION = 1
BATCH = 4096


@dataclass(frozen=True)
class Intent:
    """One post's verdict: the most probable label and its probability."""

    label: str
    score: float


@dataclass(frozen=True)
class LinearIntent:
    """Weights: sorted hashed buckets with a row of class weights each, plus a dense block."""

    bits: int
    buckets: I64  # sorted bucket ids that carry weight
    sparse: F64  # (len(buckets), n_classes)
    dense: F64  # (len(DENSE_NAMES), n_classes)
    dense_mean: F64
    dense_scale: F64
    bias: F64
    meta: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def _slots(self) -> npt.NDArray[np.int32]:
        """Column of each hashed bucket in ``_by_class``; buckets without weight point at its
        last column, which is all zeros (1 MB for 2**18 buckets)."""
        slots = np.full(1 << self.bits, self.buckets.shape[0], dtype=np.int32)
        slots[self.buckets] = np.arange(self.buckets.shape[0], dtype=np.int32)
        return slots

    @cached_property
    def _by_class(self) -> F64:
        """(n_classes, weighted buckets + 1): one contiguous row per class, so each class's
        weights are one small gather instead of a column of a strided 2D gather."""
        table = np.zeros((self.bias.shape[0], self.buckets.shape[0] + 1), dtype=np.float64)
        table[:, :-1] = self.sparse.T
        return table

    def logits(self, feats: Features) -> F64:
        """Class scores for a featurised batch; buckets unseen in training weigh nothing."""
        n_classes = self.bias.shape[0]
        out = np.zeros((feats.n_docs, n_classes), dtype=np.float64)
        if self.buckets.shape[0] and feats.col.shape[0]:
            slot = self._slots.take(feats.col)
            table = self._by_class
            for c in range(n_classes):
                weights = table[c].take(slot) * feats.val
                out[:, c] = np.bincount(feats.doc, weights=weights, minlength=feats.n_docs)
        standard = (feats.dense - self.dense_mean) / self.dense_scale
        out += standard @ self.dense + self.bias
        return out

    def proba(self, texts: Sequence[str]) -> F64:
        """Class probabilities in LABELS order for each text, in input order."""
        parts = [
            softmax(self.logits(featurise_intent(texts[i : i + BATCH], self.bits)))
            for i in range(0, len(texts), BATCH)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, len(LABELS)))

    def proba_with_polarity(self, texts: Sequence[str]) -> tuple[F64, F64]:
        """Intent probabilities and the sentiment model's (negative, neutral, positive) ones,
        from a single featurisation of each text: what enrichment needs, at the cost of one."""
        intents: list[F64] = []
        polarities: list[F64] = []
        for i in range(0, len(texts), BATCH):
            feats, polarity = featurise_with_polarity(texts[i : i + BATCH], self.bits)
            intents.append(softmax(self.logits(feats)))
            polarities.append(polarity)
        if not intents:
            return np.zeros((0, len(LABELS))), np.zeros((0, 3))
        return np.concatenate(intents), np.concatenate(polarities)

    def predict(self, texts: Sequence[str]) -> tuple[I64, F64]:
        """Label indices and the winning probability for a batch of texts."""
        p = self.proba(texts)
        best = p.argmax(axis=1).astype(np.int64)
        return best, p[np.arange(p.shape[0]), best]

    def classify(self, texts: Sequence[str]) -> list[Intent]:
        """Per-text verdicts, in input order."""
        best, score = self.predict(texts)
        return [Intent(LABELS[i], float(s)) for i, s in zip(best, score, strict=True)]

    def save(self, path: Path) -> None:
        """Write compressed weights; float16 is ample for a linear model's scores."""
        meta = dict(
            self.meta,
            format=FORMAT_VERSION,
            bits=self.bits,
            labels=list(LABELS),
            dense_names=list(DENSE_NAMES),
            lexicon=lexicon()[2],
            sentiment_weights=sentiment_fingerprint(),
        )
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                buckets=self.buckets.astype(np.int64),
                sparse=self.sparse.astype(np.float16),
                dense=self.dense.astype(np.float32),
                dense_mean=self.dense_mean.astype(np.float32),
                dense_scale=self.dense_scale.astype(np.float32),
                bias=self.bias.astype(np.float32),
                meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path) -> LinearIntent:
        """Read weights written by `save`; refuse other formats, label sets or lexicons."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                model = cls(
                    bits=int(meta["bits"]),
                    buckets=data["buckets"].astype(np.int64),
                    sparse=data["sparse"].astype(np.float64),
                    dense=data["dense"].astype(np.float64),
                    dense_mean=data["dense_mean"].astype(np.float64),
                    dense_scale=data["dense_scale"].astype(np.float64),
                    bias=data["bias"].astype(np.float64),
                    meta=meta,
                )
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise unreadable("intent weights", path, exc) from exc
        if meta.get("format") != FORMAT_VERSION:
            raise Rejected("bad_weights", f"{path} has format {meta.get('format')}")
        if meta.get("labels") != list(LABELS) or meta.get("dense_names") != list(DENSE_NAMES):
            raise Rejected("bad_weights", f"{path} was trained for other labels or features")
        if meta.get("lexicon") != lexicon()[2]:
            raise Rejected(
                "bad_weights",
                f"{path} was trained with another VADER lexicon; run `hubbub intent train`",
            )
        k = len(LABELS)
        if (
            model.sparse.shape != (model.buckets.shape[0], k)
            or model.dense.shape != (len(DENSE_NAMES), k)
            or model.bias.shape != (k,)
            or np.any(np.diff(model.buckets) <= 0)
        ):
            raise Rejected("bad_weights", f"{path} has unexpected weight shapes")
        return model


@cache
def default_model() -> LinearIntent:
    """The shipped model, loaded once per process."""
    return LinearIntent.load(WEIGHTS_PATH)


def softmax(z: F64) -> F64:
    """Row-wise softmax, shifted for numerical safety."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out
