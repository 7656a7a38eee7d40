"""Aspect sentiment: one verdict per target mentioned in a post, from the clauses around it.

"love Acme, BetaCorp is awful" is one post but two opinions. The post is cut into clauses
(sentence ends, commas, semicolons, dashes and contrast words such as "but" or "while"),
each target owns the clause it is named in plus the following clauses that name no other
target, and that window is scored by the sentence model with every target masked, so a
brand's own name cannot lend it the sentiment it picked up in training data.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hubbub.enrich.sentiment.model import LABELS, Sentiment, default_model

Score = Sentiment
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Where one opinion may end and the next begin. Contrast words open a new clause.
_BOUNDARY = re.compile(
    r"[.!?;:|\n]+\s*|,\s*|\s+[-–—]+\s+|\s*\b(?:but|while|whereas|although|though|however|"
    r"yet|unlike|meanwhile)\b\s*",
    re.IGNORECASE,
)
_JOIN = re.compile(r"\s+(?:and|so|then|&)\s+", re.IGNORECASE)
_COMPARATIVE = re.compile(r"\b(?:better|worse|nicer|faster|slower|cheaper)\s+than\b", re.I)
MASK = "it"  # a neutral pronoun keeps the clause grammatical
MIN_WORDS = 2  # a clause with fewer other words ("Acme!") borrows the next clause
POLAR = 0.2  # windows that disagree: a mean score beyond ±POLAR is a verdict, else neutral


class Scorer(Protocol):
    """Anything with the tiers' batch `predict` (default or ml)."""

    def predict(self, texts: Sequence[str]) -> tuple[I64, F64]: ...


@dataclass(frozen=True)
class _Mention:
    target: str
    start: int
    end: int


def _mentions(text: str, targets: Sequence[str]) -> list[_Mention]:
    """Every whole-word, case-insensitive mention (also as @name or #name), left to right."""
    found: list[_Mention] = []
    for target in dict.fromkeys(t for t in targets if t.strip()):
        pattern = re.compile(
            r"(?<![\w])[@#]?" + re.escape(target.strip()) + r"(?![\w])", re.IGNORECASE
        )
        found.extend(_Mention(target, m.start(), m.end()) for m in pattern.finditer(text))
    found.sort(key=lambda m: (m.start, -m.end))
    kept: list[_Mention] = []
    for mention in found:  # "Acme Cloud" and "Acme": the longer, earlier match wins
        if not kept or mention.start >= kept[-1].end:
            kept.append(mention)
    return kept


def _clauses(text: str, mentions: list[_Mention]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [piece for span in spans for piece in _split_joined(text, span, mentions)]


def _split_joined(
    text: str, span: tuple[int, int], mentions: list[_Mention]
) -> list[tuple[int, int]]:
    """'Nimbly lost my order and Zento refunded me': two targets, two predicates, two clauses.

    Only an 'and'/'so'/'then' with other words beside it between two different targets splits;
    'Zento and Nimbly let me down' keeps one shared predicate.
    """
    inside = [m for m in mentions if m.start >= span[0] and m.end <= span[1]]
    out: list[tuple[int, int]] = []
    start = span[0]
    for left, right in itertools.pairwise(inside):
        if left.target == right.target:
            continue
        gap = text[left.end : right.start]
        match = _JOIN.search(gap)
        if match and _words(gap[: match.start()] + gap[match.end() :]) > 0:
            out.append((start, left.end + match.start()))
            start = left.end + match.end()
    out.append((start, span[1]))
    return out


def _masked(text: str, start: int, end: int, mentions: list[_Mention]) -> str:
    pieces: list[str] = []
    cursor = start
    for m in mentions:
        if m.start >= start and m.end <= end:
            pieces.append(text[cursor : m.start])
            pieces.append(MASK)
            cursor = m.end
    pieces.append(text[cursor:end])
    return "".join(pieces).strip()


def _words(snippet: str) -> int:
    return len([w for w in re.findall(r"\w+", snippet.replace(MASK, " ")) if w])


def windows(text: str, targets: Sequence[str]) -> dict[str, list[str]]:
    """The masked text windows each mentioned target is judged on (absent targets: none)."""
    mentions = _mentions(text, targets)
    clauses = _clauses(text, mentions)
    owner: list[list[_Mention]] = [
        [m for m in mentions if m.start < end and m.end > start] for start, end in clauses
    ]
    out: dict[str, list[str]] = {}
    for i, (start, end) in enumerate(clauses):
        for mention in owner[i]:
            stop = end
            j = i + 1
            # Follow-on clauses that name no target still speak about this one.
            while j < len(clauses) and not owner[j]:
                stop = clauses[j][1]
                j += 1
            # Before the first named target: leading clauses belong to it too.
            first = i == next(k for k, o in enumerate(owner) if o)
            begin = clauses[0][0] if first else start
            snippet = _masked(text, begin, stop, mentions)
            if _words(snippet) < MIN_WORDS and j < len(clauses):
                snippet = _masked(text, begin, clauses[j][1], mentions)
            out.setdefault(mention.target, []).append(snippet)
    return out


def _comparative_sign(text: str, targets: Sequence[str]) -> dict[str, float]:
    """'Acme is better than BetaCorp': the target after 'than' gets the opposite verdict."""
    signs: dict[str, float] = {}
    for match in _COMPARATIVE.finditer(text):
        for mention in _mentions(text, targets):
            if mention.start >= match.end():
                signs.setdefault(mention.target, -1.0)
    return signs


def score_aspects(
    text: str, targets: Sequence[str], model: Scorer | None = None
) -> dict[str, Score]:
    """Sentiment towards each target mentioned in `text`; targets not mentioned are left out.

    A target named several times gets the mean score of its windows; the label follows the
    score with the model's own most probable class when the windows agree.
    """
    return score_aspects_many([(text, targets)], model)[0]


def score_aspects_many(
    posts: Sequence[tuple[str, Sequence[str]]], model: Scorer | None = None
) -> list[dict[str, Score]]:
    """``score_aspects`` of each (text, targets), with every window of the batch scored in one
    call of the model (the `ml` tier is many times faster on a batch than post by post)."""
    per_post = [windows(text, targets) for text, targets in posts]
    flat = [
        (post, target, snippet)
        for post, per_target in enumerate(per_post)
        for target, snippets in per_target.items()
        for snippet in snippets
    ]
    out: list[dict[str, Score]] = [{} for _ in posts]
    if not flat:
        return out
    labels, scores = (model or default_model()).predict([snippet for *_, snippet in flat])
    rows: dict[tuple[int, str], list[int]] = {}
    for i, (post, target, _) in enumerate(flat):
        rows.setdefault((post, target), []).append(i)
    flips = [_comparative_sign(text, targets) for text, targets in posts]
    for (post, target), picked in rows.items():
        out[post][target] = verdict_of(labels[picked], scores[picked], flips[post].get(target, 1.0))
    return out


def verdict_of(labels: I64, scores: F64, sign: float = 1.0) -> Score:
    """Several verdicts on one target (its windows, or its names): the mean score; the label
    they agree on, else the mean's (``sign`` -1 flips both, for the far side of a comparative)."""
    value = float(np.mean(scores))
    votes = np.bincount(labels, minlength=3)
    label = int(votes.argmax())
    if sign < 0:
        value, label = -value, 2 - label
    if votes.max() < len(labels):  # they disagree: let the mean decide
        label = 2 if value > POLAR else 0 if value < -POLAR else 1
    return Score(LABELS[label], value)
