"""Emerging terms and hashtags: a word suddenly used far more than its own baseline predicts.

Per topic, posts are counted per term (a post counts once per term) in fixed buckets. A term's
expected count in the current bucket is its share of the posts of the last `window` buckets
times the posts seen in the bucket so far (with half a post of prior, so a never-seen term has
a small, not zero, expectation). The burst score is the Poisson z ``(count − expected) /
√(expected + 1)``. A term bursts when the score, the ratio to the expectation, its count and
its number of distinct authors all pass their minimums; because the expectation scales with
the bucket's posts, a topic that simply gets busier does not make every word burst (that is
the volume detector's job). Judged as each post arrives, so the alert leaves with the post that
tips it, not when the bucket ends.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hubbub.alerts.detectors import check_settings, grade, iso_utc, sparkline
from hubbub.alerts.signals import Mention, terms_of
from hubbub.core.clock import from_unix

PRIOR = 0.5  # posts of pseudo-count for a term never seen in the baseline
CHART_BUCKETS = 24


@dataclass(frozen=True)
class TermsConfig:
    """Tuning of one topic's emerging-terms detector."""

    bucket_seconds: int = 300
    """Width of a counting bucket."""
    window: int = 144
    """Buckets in the baseline (144 × 5 min = 12 h)."""
    min_history_posts: int = 200
    """Posts of baseline needed before any term is judged."""
    threshold: float = 6.0
    """Sensitivity: Poisson z-score a term must reach (lower is more sensitive)."""
    min_ratio: float = 3.0
    """The count must also be at least this multiple of the expectation."""
    min_count: int = 10
    """Minimum volume: posts with the term in the bucket before it may alert."""
    min_authors: int = 3
    """Distinct authors using the term in the bucket (one account repeating itself is not news)."""
    cooldown_seconds: int = 6 * 3600
    """Least time between two alerts naming the same term."""
    top_n: int = 5
    """Terms listed per alert, strongest first."""
    examples: int = 3
    """Example posts kept per term."""
    ignore: tuple[str, ...] = ()
    """Terms never reported, e.g. the topic's own name (lowercase; hashtags with #)."""

    def __post_init__(self) -> None:
        check_settings(
            "emerging-terms",
            {
                "bucket_seconds": self.bucket_seconds > 0,
                "window": self.window >= 1,
                "min_history_posts": self.min_history_posts >= 1,
                "threshold": self.threshold > 0,
                "min_ratio": self.min_ratio >= 1.0,
                "min_count": self.min_count >= 1,
                "min_authors": self.min_authors >= 1,
                "cooldown_seconds": self.cooldown_seconds >= 0,
                "top_n": self.top_n >= 1,
                "examples": self.examples >= 0,
            },
        )


@dataclass(frozen=True)
class TermBurst:
    """One bursting term with its numbers against its own baseline."""

    term: str
    count: int
    expected: float
    baseline_count: int
    """Posts with the term in the whole baseline window."""
    score: float
    authors: int
    examples: tuple[dict[str, str], ...]
    chart: tuple[int, ...]

    @property
    def ratio(self) -> float:
        return self.count / self.expected

    def as_dict(self) -> dict[str, Any]:
        counts = [*self.chart, self.count]
        return {
            "term": self.term,
            "count": self.count,
            "expected": round(self.expected, 2),
            "baseline_count": self.baseline_count,
            "ratio": round(self.ratio, 1),
            "score": round(self.score, 2),
            "authors": self.authors,
            "examples": list(self.examples),
            "chart": {"counts": counts, "sparkline": sparkline(counts)},
        }


@dataclass(frozen=True)
class TermAlert:
    """Terms of one topic that burst in one bucket."""

    time: datetime
    topic: str
    bucket_start: datetime
    bucket_seconds: int
    bucket_posts: int
    baseline_posts: int
    baseline_buckets: int
    terms: tuple[TermBurst, ...]
    threshold: float
    kind: str = "emerging_terms"

    @property
    def series(self) -> str:
        return self.topic

    @property
    def severity(self) -> str:
        return grade(max(t.score for t in self.terms) / self.threshold)

    def summary(self) -> str:
        minutes = self.bucket_seconds // 60
        parts = [
            f"{t.term} {t.count} posts vs {t.expected:.1f} expected ({t.ratio:.0f}x, "
            f"{t.authors} authors)"
            for t in self.terms
        ]
        return f"Emerging in {self.topic} (last {minutes} min): " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": iso_utc(self.time),
            "kind": self.kind,
            "series": self.series,
            "topic": self.topic,
            "severity": self.severity,
            "explanation": {
                "summary": self.summary(),
                "bucket_start": iso_utc(self.bucket_start),
                "bucket_seconds": self.bucket_seconds,
                "bucket_posts": self.bucket_posts,
                "baseline": {
                    "method": "term share of the last window's posts × posts in this bucket",
                    "posts": self.baseline_posts,
                    "buckets": self.baseline_buckets,
                },
                "threshold": self.threshold,
                "terms": [t.as_dict() for t in self.terms],
            },
        }


@dataclass
class _Open:
    index: int
    posts: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    authors: dict[str, set[str]] = field(default_factory=dict)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    hot: set[str] = field(default_factory=set)


class EmergingTermsDetector:
    """Streaming burst detection over the terms and hashtags of one topic's posts."""

    def __init__(self, topic: str, config: TermsConfig | None = None) -> None:
        self.topic = topic
        self.config = config or TermsConfig()
        self._history: deque[tuple[int, Counter[str]]] = deque()
        self._totals: Counter[str] = Counter()
        self._history_posts = 0
        self._open: _Open | None = None
        self._last_alert: dict[str, float] = {}
        self.late_posts = 0

    def observe(self, mention: Mention) -> list[TermAlert]:
        """Count the post's terms; an alert when one of them tips over into a burst."""
        cfg = self.config
        index = int(mention.time // cfg.bucket_seconds)
        current = self._roll(index)
        if current is None:
            self.late_posts += 1  # its bucket is in the baseline already; counted, not hidden
            return []
        current.posts += 1
        tipped = False
        ignored = set(cfg.ignore)
        author_cap = max(cfg.min_authors, 50)
        for term in terms_of(mention.text, mention.hashtags):
            if term in ignored:
                continue
            current.counts[term] += 1
            authors = current.authors.setdefault(term, set())
            if len(authors) < author_cap:
                authors.add(mention.author)
            examples = current.examples.setdefault(term, [])
            if len(examples) < cfg.examples:
                examples.append(mention.example())
            if current.counts[term] >= cfg.min_count:
                current.hot.add(term)
                tipped = tipped or self._bursting(current, term, mention.time) is not None
        if not tipped:
            return []
        return [self._alert(current, mention.time)]

    def _roll(self, index: int) -> _Open | None:
        """The open bucket for `index`, closing older ones into the baseline; None when late."""
        current = self._open
        if current is None:
            self._open = _Open(index)
            return self._open
        if index < current.index:
            return None
        if index > current.index:
            self._push(current.posts, current.counts)
            for _ in range(min(index - current.index - 1, self.config.window)):
                self._push(0, Counter())
            self._open = _Open(index)
        return self._open

    def _push(self, posts: int, counts: Counter[str]) -> None:
        self._history.append((posts, counts))
        self._history_posts += posts
        self._totals.update(counts)
        if len(self._history) > self.config.window:
            old_posts, old_counts = self._history.popleft()
            self._history_posts -= old_posts
            self._totals.subtract(old_counts)
            for term in old_counts:
                if self._totals[term] <= 0:
                    del self._totals[term]

    def _bursting(self, current: _Open, term: str, now: float) -> TermBurst | None:
        cfg = self.config
        if self._history_posts < cfg.min_history_posts:
            return None
        last = self._last_alert.get(term)
        if last is not None and now - last < cfg.cooldown_seconds:
            return None
        count = current.counts[term]
        baseline_count = self._totals.get(term, 0)
        expected = current.posts * (baseline_count + PRIOR) / (self._history_posts + 1)
        score = (count - expected) / math.sqrt(expected + 1.0)
        authors = len(current.authors.get(term, ()))
        if (
            score < cfg.threshold
            or count < cfg.min_ratio * expected
            or count < cfg.min_count
            or authors < cfg.min_authors
        ):
            return None
        chart = tuple(c.get(term, 0) for _, c in list(self._history)[-CHART_BUCKETS:])
        return TermBurst(
            term=term,
            count=count,
            expected=expected,
            baseline_count=baseline_count,
            score=score,
            authors=authors,
            examples=tuple(current.examples.get(term, ())),
            chart=chart,
        )

    def _alert(self, current: _Open, now: float) -> TermAlert:
        cfg = self.config
        bursts = [b for t in current.hot if (b := self._bursting(current, t, now)) is not None]
        bursts.sort(key=lambda b: (-b.score, b.term))
        listed = bursts[: cfg.top_n]
        for burst in listed:
            self._last_alert[burst.term] = now
        return TermAlert(
            time=from_unix(now),
            topic=self.topic,
            bucket_start=from_unix(current.index * cfg.bucket_seconds),
            bucket_seconds=cfg.bucket_seconds,
            bucket_posts=current.posts,
            baseline_posts=self._history_posts,
            baseline_buckets=len(self._history),
            terms=tuple(listed),
            threshold=cfg.threshold,
        )
