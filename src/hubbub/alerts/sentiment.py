"""Sentiment shift: the share of negative (or positive) posts of a topic jumps above its baseline.

The baseline share is pooled over the last `window` buckets (all their labelled posts over all
their posts), floored so a topic that was never criticised still has a noise level. The open
bucket's share is compared with it by the binomial z ``(p − p₀) / √(p₀(1 − p₀)/n)``: the same
jump is more convincing over 400 posts than over 40. It must also be a real change in absolute
terms (`min_delta`) over at least `min_volume` posts. Judged per post, so the alert leaves with
the post that tips it; after an alert the topic re-arms once a closed bucket scores below
`release`, so a long bad day is one alert, not one per bucket.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hubbub.alerts.detectors import check_settings, grade, iso_utc, sparkline
from hubbub.alerts.signals import SENTIMENTS, Mention, terms_of
from hubbub.core.clock import from_unix

CHART_BUCKETS = 24


@dataclass(frozen=True)
class SentimentConfig:
    """Tuning of one topic's sentiment-shift detector."""

    bucket_seconds: int = 300
    """Width of a bucket."""
    window: int = 288
    """Buckets in the baseline (288 × 5 min = 24 h)."""
    label: str = "negative"
    """Whose share is watched: ``negative`` (crisis) or ``positive`` (a win)."""
    min_history_posts: int = 200
    """Posts of baseline needed before anything is judged."""
    threshold: float = 4.0
    """Sensitivity: binomial z-score the share must reach."""
    min_delta: float = 0.15
    """The share must also rise by at least this much (0.15 = 15 percentage points)."""
    min_volume: int = 30
    """Posts in the bucket before it may alert."""
    floor_share: float = 0.02
    """Lowest baseline share used, so a never-criticised topic still has a noise level."""
    release: float = 2.0
    """After an alert, the topic re-arms once a closed bucket scores below this."""
    cooldown_seconds: int = 3 * 3600
    """Least time between two alerts of the topic."""
    top_n: int = 5
    """Values listed per driver (terms, authors, networks)."""
    examples: int = 3
    """Example posts of the watched label kept per bucket (the most-followed authors')."""
    ignore: tuple[str, ...] = ()
    """Words left out of the driving terms, e.g. the topic's own name."""

    def __post_init__(self) -> None:
        check_settings(
            "sentiment-shift",
            {
                "bucket_seconds": self.bucket_seconds > 0,
                "window": self.window >= 1,
                "label": self.label in SENTIMENTS,
                "min_history_posts": self.min_history_posts >= 1,
                "threshold": self.threshold > 0,
                "min_delta": 0 <= self.min_delta < 1,
                "min_volume": self.min_volume >= 1,
                "floor_share": 0 < self.floor_share < 1,
                "release": self.release < self.threshold,
                "cooldown_seconds": self.cooldown_seconds >= 0,
                "top_n": self.top_n >= 1,
                "examples": self.examples >= 0,
            },
        )


@dataclass(frozen=True)
class SentimentAlert:
    """The watched share of one topic jumped; with the posts, words and people behind it."""

    time: datetime
    topic: str
    label: str
    bucket_start: datetime
    bucket_seconds: int
    posts: int
    labelled: int
    baseline_share: float
    baseline_posts: int
    score: float
    threshold: float
    drivers: dict[str, list[tuple[str, int]]]
    examples: tuple[dict[str, str], ...]
    chart: tuple[float, ...]
    kind: str = "sentiment_shift"

    @property
    def series(self) -> str:
        return f"{self.topic}/{self.label}"

    @property
    def share(self) -> float:
        return self.labelled / self.posts

    @property
    def severity(self) -> str:
        return grade(self.score / self.threshold)

    def summary(self) -> str:
        minutes = self.bucket_seconds // 60
        text = (
            f"{self.label.capitalize()} share of {self.topic} at {100 * self.share:.0f}% "
            f"({self.labelled} of {self.posts} posts in {minutes} min) vs "
            f"{100 * self.baseline_share:.0f}% baseline: z {self.score:.1f}"
        )
        terms = self.drivers.get("terms")
        if terms:
            text += "; top words " + ", ".join(term for term, _ in terms[:3])
        return text

    def as_dict(self) -> dict[str, Any]:
        shares = [*self.chart, self.share]
        return {
            "time": iso_utc(self.time),
            "kind": self.kind,
            "series": self.series,
            "topic": self.topic,
            "severity": self.severity,
            "explanation": {
                "summary": self.summary(),
                "label": self.label,
                "bucket_start": iso_utc(self.bucket_start),
                "bucket_seconds": self.bucket_seconds,
                "posts": self.posts,
                "labelled": self.labelled,
                "share": round(self.share, 3),
                "baseline": {
                    "method": "pooled share of the last window's posts",
                    "share": round(self.baseline_share, 3),
                    "posts": self.baseline_posts,
                },
                "score": round(self.score, 2),
                "threshold": self.threshold,
                "drivers": {
                    name: [
                        {"value": value, "count": count, "share": round(count / self.labelled, 3)}
                        for value, count in top
                    ]
                    for name, top in self.drivers.items()
                },
                "examples": list(self.examples),
                "chart": {
                    "shares": [round(s, 3) for s in shares],
                    "sparkline": sparkline(shares),
                },
            },
        }


@dataclass
class _Open:
    index: int
    posts: int = 0
    labelled: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    authors: Counter[str] = field(default_factory=Counter)
    networks: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    alerted: bool = False


class SentimentShiftDetector:
    """Streaming shift detection on one topic's share of one sentiment label."""

    def __init__(self, topic: str, config: SentimentConfig | None = None) -> None:
        self.topic = topic
        self.config = config or SentimentConfig()
        self._ignore = frozenset(self.config.ignore)
        self._history: deque[tuple[int, int]] = deque()
        self._history_posts = 0
        self._history_labelled = 0
        self._open: _Open | None = None
        self._armed = True
        self._last_alert: float | None = None
        self.late_posts = 0

    def observe(self, mention: Mention) -> list[SentimentAlert]:
        """Count the post; an alert when the open bucket's share tips over the threshold."""
        cfg = self.config
        index = int(mention.time // cfg.bucket_seconds)
        current = self._roll(index)
        if current is None:
            self.late_posts += 1
            return []
        current.posts += 1
        if mention.sentiment == cfg.label:
            current.labelled += 1
            current.terms.update(terms_of(mention.text, mention.hashtags) - self._ignore)
            current.authors[mention.author] += 1
            current.networks[mention.network] += 1
            self._keep_example(current, mention)
        if current.alerted or not self._armed or current.posts < cfg.min_volume:
            return []
        if self._last_alert is not None and mention.time - self._last_alert < cfg.cooldown_seconds:
            return []
        score, baseline = self._score(current)
        if baseline is None or score < cfg.threshold:
            return []
        if current.labelled / current.posts - baseline < cfg.min_delta:
            return []
        current.alerted = True
        self._armed = False
        self._last_alert = mention.time
        return [self._alert(current, mention.time, score, baseline)]

    def _keep_example(self, current: _Open, mention: Mention) -> None:
        """Keep the posts of the most-followed authors: the ones most people saw."""
        current.examples.append((mention.followers, mention.example()))
        if len(current.examples) > self.config.examples:
            current.examples.sort(key=lambda pair: -pair[0])
            current.examples.pop()

    def _score(self, bucket: _Open) -> tuple[float, float | None]:
        cfg = self.config
        if self._history_posts < cfg.min_history_posts or bucket.posts == 0:
            return 0.0, None
        baseline = max(self._history_labelled / self._history_posts, cfg.floor_share)
        share = bucket.labelled / bucket.posts
        spread = math.sqrt(baseline * (1 - baseline) / bucket.posts)
        return (share - baseline) / spread, baseline

    def _roll(self, index: int) -> _Open | None:
        current = self._open
        if current is None:
            self._open = _Open(index)
            return self._open
        if index < current.index:
            return None
        if index > current.index:
            score, baseline = self._score(current)
            if baseline is None or current.posts < self.config.min_volume:
                score = 0.0
            if score < self.config.release:
                self._armed = True
            self._push(current.posts, current.labelled)
            for _ in range(min(index - current.index - 1, self.config.window)):
                self._push(0, 0)
            self._open = _Open(index)
        return self._open

    def _push(self, posts: int, labelled: int) -> None:
        self._history.append((posts, labelled))
        self._history_posts += posts
        self._history_labelled += labelled
        if len(self._history) > self.config.window:
            old_posts, old_labelled = self._history.popleft()
            self._history_posts -= old_posts
            self._history_labelled -= old_labelled

    def _alert(self, current: _Open, now: float, score: float, baseline: float) -> SentimentAlert:
        cfg = self.config
        chart = tuple(
            labelled / posts if posts else 0.0
            for posts, labelled in list(self._history)[-CHART_BUCKETS:]
        )
        return SentimentAlert(
            time=from_unix(now),
            topic=self.topic,
            label=cfg.label,
            bucket_start=from_unix(current.index * cfg.bucket_seconds),
            bucket_seconds=cfg.bucket_seconds,
            posts=current.posts,
            labelled=current.labelled,
            baseline_share=baseline,
            baseline_posts=self._history_posts,
            score=score,
            threshold=cfg.threshold,
            drivers={
                "terms": current.terms.most_common(cfg.top_n),
                "authors": current.authors.most_common(cfg.top_n),
                "networks": current.networks.most_common(cfg.top_n),
            },
            examples=tuple(example for _, example in current.examples),
            chart=chart,
        )
