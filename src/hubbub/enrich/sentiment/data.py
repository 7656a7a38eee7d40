"""Readers for the public sentiment sets; malformed files are refused with a Rejected code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

SEMEVAL_DIR = "semeval_2013_2016"
TWEETEVAL_DIR = "tweeteval_val"
VADER_DIR = "vader_icwsm2014"
VADER_FILES = {
    "tweets": "tweets_GroundTruth.txt",
    "movie_reviews": "movieReviewSnippets_GroundTruth.txt",
}
# A mean human rating within this distance of 0 counts as neutral when the 3-class view is needed.
NEUTRAL_BAND = 0.5


@dataclass(frozen=True)
class Labelled:
    """Texts with 3-class labels (0 negative, 1 neutral, 2 positive) and optional origin tags."""

    texts: list[str]
    labels: I64
    sources: list[str]


@dataclass(frozen=True)
class Rated:
    """Texts with continuous mean human ratings in [-4, 4]."""

    texts: list[str]
    ratings: F64

    def classes(self) -> I64:
        """3-class view of the ratings (neutral within NEUTRAL_BAND of zero)."""
        return np.where(
            self.ratings >= NEUTRAL_BAND, 2, np.where(self.ratings <= -NEUTRAL_BAND, 0, 1)
        ).astype(np.int64)


def _lines(path: Path) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise Rejected("missing_file", f"{path} does not exist") from exc
    except OSError as exc:  # a file given where the data folder goes, a folder as a file …
        raise Rejected("unreadable_file", f"{path} cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise Rejected("bad_encoding", f"{path} is not UTF-8: {exc}") from exc
    return raw.replace("\r\n", "\n").split("\n")[:-1] if raw.endswith("\n") else raw.split("\n")


def read_labels(path: Path) -> I64:
    """One label a line: 0/1/2 or negative/neutral/positive."""
    names = {"0": 0, "1": 1, "2": 2, "negative": 0, "neutral": 1, "positive": 2}
    out: list[int] = []
    for number, line in enumerate(_lines(path), 1):
        key = line.strip().lower()
        if key not in names:
            raise Rejected("bad_label", f"{path}:{number}: {line!r} is not a sentiment label")
        out.append(names[key])
    return np.asarray(out, dtype=np.int64)


def read_tweeteval(text: Path, labels: Path) -> Labelled:
    """TweetEval layout: texts and labels in two line-aligned files."""
    texts = _lines(text)
    y = read_labels(labels)
    if len(texts) != y.shape[0]:
        raise Rejected(
            "length_mismatch", f"{text} has {len(texts)} lines but {labels} has {y.shape[0]}"
        )
    return Labelled(texts, y, [text.parent.name] * len(texts))


def read_semeval(folder: Path) -> Labelled:
    """The SemEval 2013-2016 pool: texts, labels and the original set of each tweet."""
    data = read_tweeteval(folder / "train_text.txt", folder / "train_labels.txt")
    sources = _lines(folder / "train_sources.txt")
    if len(sources) != len(data.texts):
        raise Rejected("length_mismatch", f"{folder}: sources and texts differ in length")
    return Labelled(data.texts, data.labels, sources)


def read_vader(path: Path) -> Rated:
    """VADER ground truth: `id<TAB>mean rating<TAB>text` per line (CRLF tolerated)."""
    texts: list[str] = []
    ratings: list[float] = []
    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise Rejected("missing_field", f"{path}:{number}: expected id, rating and text")
        try:
            rating = float(parts[1])
        except ValueError as exc:
            raise Rejected("bad_rating", f"{path}:{number}: {parts[1]!r} is not a number") from exc
        texts.append(parts[2])
        ratings.append(rating)
    return Rated(texts, np.asarray(ratings, dtype=np.float64))
