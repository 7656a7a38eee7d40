"""The project's own labelled intent set: reading it strictly and checking it for near-copies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected

I64 = npt.NDArray[np.int64]

# Order is the order of issue 7; index i in every score array is LABELS[i].
LABELS = (
    "question",
    "complaint",
    "praise",
    "purchase_intent",
    "feature_request",
    "support_request",
    "spam",
    "none",
)
DATA_PATH = Path(__file__).with_name("data") / "intent_posts.tsv"
MAX_TEXT = 2000


@dataclass(frozen=True)
class IntentSet:
    """Posts and their label indices into LABELS, in file order."""

    texts: list[str]
    labels: I64


def read_posts(path: Path = DATA_PATH) -> IntentSet:
    """Read `label<TAB>text` lines; any malformed line refuses the whole file (it is curated)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Rejected("unreadable", f"cannot read {path}: {exc}") from exc
    index = {name: i for i, name in enumerate(LABELS)}
    texts: list[str] = []
    labels: list[int] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        label, tab, text = line.partition("\t")
        if not tab:
            raise Rejected("missing_field", f"{path}:{number}: expected label<TAB>text")
        if label not in index:
            raise Rejected("unknown_label", f"{path}:{number}: unknown label {label!r}")
        if not text.strip():
            raise Rejected("missing_field", f"{path}:{number}: empty text")
        if "\t" in text or len(text) > MAX_TEXT:
            raise Rejected("bad_text", f"{path}:{number}: tab in text or longer than {MAX_TEXT}")
        texts.append(text)
        labels.append(index[label])
    if not texts:
        raise Rejected("empty", f"{path} holds no posts")
    return IntentSet(texts, np.asarray(labels, dtype=np.int64))


_WORD = re.compile(r"\w+")


def _shingles(text: str) -> frozenset[str]:
    """Word-normalised character 4-grams: robust to case, punctuation and brand swaps alike."""
    flat = " ".join(_WORD.findall(text.lower()))
    return frozenset(flat[i : i + 4] for i in range(max(len(flat) - 3, 1)))


def near_duplicates(texts: list[str], threshold: float = 0.6) -> list[tuple[int, int, float]]:
    """Pairs whose character 4-gram Jaccard similarity reaches threshold, most similar first.

    Cross-validation over templated near-copies overstates accuracy; this is the check that
    the set has none (the tests hold it to zero pairs).
    """
    sets = [_shingles(t) for t in texts]
    found: list[tuple[int, int, float]] = []
    for i, a in enumerate(sets):
        for j in range(i + 1, len(sets)):
            b = sets[j]
            small, large = sorted((len(a), len(b)))
            if small < threshold * large:
                continue  # Jaccard cannot reach the threshold: skip the set operations
            score = len(a & b) / len(a | b)
            if score >= threshold:
                found.append((i, j, round(score, 3)))
    return sorted(found, key=lambda pair: -pair[2])
