"""A post about the brand by an author whose word reaches many people.

Judged per post, with no baseline: an author at or over `min_followers` alerts at once, at most
once per `cooldown_seconds` per author (a big account live-posting a thread is one alert).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hubbub.alerts.detectors import SEVERITIES, check_settings, grade, iso_utc
from hubbub.alerts.signals import SENTIMENTS, Mention
from hubbub.core.clock import from_unix


@dataclass(frozen=True)
class InfluenceConfig:
    """Tuning of one topic's high-influence author detector."""

    min_followers: int = 10_000
    """Sensitivity: followers an author needs for their post to alert."""
    cooldown_seconds: int = 6 * 3600
    """Least time between two alerts about the same author."""
    sentiments: tuple[str, ...] = ()
    """Only posts with these labels alert (empty: any); e.g. ``["negative"]``."""

    def __post_init__(self) -> None:
        check_settings(
            "influence",
            {
                "min_followers": self.min_followers >= 1,
                "cooldown_seconds": self.cooldown_seconds >= 0,
                "sentiments": all(label in SENTIMENTS for label in self.sentiments),
            },
        )


@dataclass(frozen=True)
class InfluenceAlert:
    """One post by a high-influence author."""

    time: datetime
    topic: str
    author: str
    followers: int
    min_followers: int
    sentiment: str
    network: str
    example: dict[str, str]
    kind: str = "influential_author"

    @property
    def series(self) -> str:
        return self.topic

    @property
    def severity(self) -> str:
        """Each 4× more followers than the threshold is one grade up; negative is one more."""
        strength = 1 + math.log(self.followers / self.min_followers, 4)
        level = SEVERITIES.index(grade(strength))
        if self.sentiment == "negative":
            level = min(level + 1, len(SEVERITIES) - 1)
        return SEVERITIES[level]

    def summary(self) -> str:
        return (
            f"{self.author} ({self.followers:,} followers on {self.network or 'an unknown network'}"
            f", threshold {self.min_followers:,}) posted about {self.topic} ({self.sentiment})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": iso_utc(self.time),
            "kind": self.kind,
            "series": self.series,
            "topic": self.topic,
            "severity": self.severity,
            "explanation": {
                "summary": self.summary(),
                "author": self.author,
                "followers": self.followers,
                "min_followers": self.min_followers,
                "reach_ratio": round(self.followers / self.min_followers, 1),
                "sentiment": self.sentiment,
                "network": self.network,
                "examples": [self.example],
            },
        }


class InfluentialAuthorDetector:
    """Alerts on posts by authors over a follower threshold, once per author per cool-down."""

    def __init__(self, topic: str, config: InfluenceConfig | None = None) -> None:
        self.topic = topic
        self.config = config or InfluenceConfig()
        self._last_alert: dict[str, float] = {}

    def observe(self, mention: Mention) -> list[InfluenceAlert]:
        cfg = self.config
        if mention.followers < cfg.min_followers:
            return []
        if cfg.sentiments and mention.sentiment not in cfg.sentiments:
            return []
        last = self._last_alert.get(mention.author)
        if last is not None and mention.time - last < cfg.cooldown_seconds:
            return []
        self._last_alert[mention.author] = mention.time
        return [
            InfluenceAlert(
                time=from_unix(mention.time),
                topic=self.topic,
                author=mention.author,
                followers=mention.followers,
                min_followers=cfg.min_followers,
                sentiment=mention.sentiment,
                network=mention.network,
                example=mention.example(),
            )
        ]
