"""Default-tier scorer: a multinomial linear model over batch features; weights ship inside."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment.features import DENSE_NAMES, Features, featurise, lexicon
from hubbub.enrich.weights import unreadable

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

LABELS = ("negative", "neutral", "positive")
WEIGHTS_PATH = Path(__file__).with_name("default_weights.npz")
FORMAT_VERSION = 1
BATCH = 4096


@dataclass(frozen=True)
class Sentiment:
    """One post's verdict: a label and a score in [-1, 1] (P(positive) - P(negative))."""

    label: str
    score: float


@dataclass(frozen=True)
class LinearSentiment:
    """Weights of the linear model; `predict` works on whole batches with numpy."""

    bits: int
    sparse: F64  # (3, 2**bits): one contiguous row per class makes the gathers cheap
    dense: F32
    dense_mean: F32
    dense_scale: F32
    bias: F32
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, feats: Features) -> F64:
        """Class scores for a featurised batch."""
        out = np.empty((feats.n_docs, 3), dtype=np.float64)
        for c in range(3):
            out[:, c] = np.bincount(
                feats.doc,
                weights=self.sparse[c].take(feats.col) * feats.val,
                minlength=feats.n_docs,
            )
        standard = (feats.dense - self.dense_mean) / self.dense_scale
        out += standard @ self.dense + self.bias
        return out

    def proba_of(self, feats: Features) -> F64:
        """Class probabilities for a batch featurised already (e.g. shared with intent)."""
        return _softmax(self.logits(feats))

    def proba(self, texts: Sequence[str]) -> F64:
        """Class probabilities (negative, neutral, positive) for each text, in order."""
        parts = [
            self.proba_of(featurise(texts[i : i + BATCH], self.bits))
            for i in range(0, len(texts), BATCH)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 3))

    def predict(self, texts: Sequence[str]) -> tuple[I64, F64]:
        """Label indices and scores in [-1, 1] for a batch of texts."""
        p = self.proba(texts)
        return p.argmax(axis=1).astype(np.int64), p[:, 2] - p[:, 0]

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """Per-text verdicts, in input order."""
        labels, scores = self.predict(texts)
        return [Sentiment(LABELS[i], float(s)) for i, s in zip(labels, scores, strict=True)]

    def save(self, path: Path) -> None:
        """Write the weights compressed: the hashed table in float16 keeps the file small."""
        meta = dict(self.meta, format=FORMAT_VERSION, bits=self.bits, lexicon=lexicon()[2])
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                sparse=self.sparse.astype(np.float16),
                dense=self.dense,
                dense_mean=self.dense_mean,
                dense_scale=self.dense_scale,
                bias=self.bias,
                meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path) -> LinearSentiment:
        """Read weights written by `save`, refusing files from another format or lexicon."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                model = cls(
                    bits=int(meta["bits"]),
                    sparse=np.ascontiguousarray(data["sparse"], dtype=np.float64),
                    dense=data["dense"].astype(np.float32),
                    dense_mean=data["dense_mean"].astype(np.float32),
                    dense_scale=data["dense_scale"].astype(np.float32),
                    bias=data["bias"].astype(np.float32),
                    meta=meta,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise unreadable("sentiment weights", path, exc) from exc
        if meta.get("format") != FORMAT_VERSION:
            raise Rejected("bad_weights", f"{path} has format {meta.get('format')}")
        if meta.get("lexicon") != lexicon()[2]:
            raise Rejected(
                "bad_weights",
                f"{path} was trained with another VADER lexicon; run `hubbub sentiment train`",
            )
        if model.sparse.shape != (3, 1 << model.bits) or model.dense.shape != (
            len(DENSE_NAMES),
            3,
        ):
            raise Rejected("bad_weights", f"{path} has unexpected weight shapes")
        return model


@cache
def default_model() -> LinearSentiment:
    """The shipped model, loaded once per process."""
    return LinearSentiment.load(WEIGHTS_PATH)


def chunks(lines: Iterator[str], size: int = BATCH) -> Iterator[list[str]]:
    """Group a stream of texts into batches so scoring stays vectorised on unbounded input."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _softmax(z: F64) -> F64:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out
