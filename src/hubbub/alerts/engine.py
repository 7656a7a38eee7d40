"""Every detector of every topic behind one `observe(mention)`, with settings per topic.

Per topic: a volume-spike series for the topic and one per topic × sentiment, emerging terms,
sentiment shift and high-influence authors. Settings come from a `TopicAlertConfig` per topic
(else the default), which can be read from a mapping (YAML/JSON) so a manager can tune a topic
without code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubbub.alerts.detectors import SpikeConfig, SpikeMonitor
from hubbub.alerts.emerging import EmergingTermsDetector, TermsConfig
from hubbub.alerts.influence import InfluenceConfig, InfluentialAuthorDetector
from hubbub.alerts.sentiment import SentimentConfig, SentimentShiftDetector
from hubbub.alerts.signals import SENTIMENTS, AnyAlert, Mention, terms_of
from hubbub.core.errors import Rejected

DETECTORS = ("volume", "terms", "sentiment", "influence")


@dataclass(frozen=True)
class TopicAlertConfig:
    """One topic's detector settings: window, sensitivity, minimum volume, cool-down …"""

    volume: SpikeConfig = field(default_factory=lambda: SpikeConfig(early=True))
    """The topic's own volume series (early alerting: the tipping post fires it)."""
    volume_by_sentiment: SpikeConfig | None = field(
        default_factory=lambda: SpikeConfig(early=True, min_volume=20)
    )
    """Each topic × sentiment series; None turns them off."""
    terms: TermsConfig | None = field(default_factory=TermsConfig)
    sentiment: SentimentConfig | None = field(default_factory=SentimentConfig)
    influence: InfluenceConfig | None = field(default_factory=InfluenceConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TopicAlertConfig:
        """Settings from e.g. YAML: ``{volume: {threshold: 4}, influence: null, …}``.

        Unknown sections or fields are refused by name, never ignored.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise Rejected("bad_config", f"unknown alert settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        types: dict[str, type[Any]] = {
            "volume": SpikeConfig,
            "volume_by_sentiment": SpikeConfig,
            "terms": TermsConfig,
            "sentiment": SentimentConfig,
            "influence": InfluenceConfig,
        }
        defaults = cls()
        for name, section in data.items():
            if section is None:
                if name == "volume":
                    raise Rejected("bad_config", "the volume detector cannot be turned off")
                values[name] = None
                continue
            if not isinstance(section, Mapping):
                raise Rejected("bad_config", f"{name}: expected a mapping of settings")
            kind = types[name]
            fields = {f.name for f in dataclasses.fields(kind)}
            wrong = sorted(set(section) - fields)
            if wrong:
                raise Rejected("bad_config", f"{name}: unknown settings {', '.join(wrong)}")
            base = getattr(defaults, name) or kind()
            cleaned = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
            try:
                values[name] = dataclasses.replace(base, **cleaned)
            except TypeError as exc:
                raise Rejected("bad_config", f"{name}: {exc}") from exc
        return dataclasses.replace(defaults, **values)


class AlertEngine:
    """Feeds each mention to its topic's detectors; one clock shared by all volume series."""

    def __init__(
        self,
        default: TopicAlertConfig | None = None,
        per_topic: Mapping[str, TopicAlertConfig] | None = None,
    ) -> None:
        self.default = default or TopicAlertConfig()
        self.per_topic = dict(per_topic or {})
        series: dict[str, SpikeConfig] = {}
        for topic, config in self.per_topic.items():
            series[topic] = config.volume
            if config.volume_by_sentiment is not None:
                series.update({f"{topic}/{s}": config.volume_by_sentiment for s in SENTIMENTS})
        self.volume = SpikeMonitor(self.default.volume, series)
        self._terms: dict[str, EmergingTermsDetector | None] = {}
        self._sentiment: dict[str, SentimentShiftDetector | None] = {}
        self._influence: dict[str, InfluentialAuthorDetector | None] = {}
        self.mentions = 0

    def config(self, topic: str) -> TopicAlertConfig:
        return self.per_topic.get(topic, self.default)

    def observe(self, mention: Mention) -> list[AnyAlert]:
        """Run the mention through every detector of its topic; the alerts it raised, in order."""
        self.mentions += 1
        topic = mention.topic
        config = self.config(topic)
        drivers = {"author": mention.author, "network": mention.network}
        alerts: list[AnyAlert] = []
        alerts += self.volume.observe(
            topic, mention.time, {**drivers, "sentiment": mention.sentiment}
        )
        if config.volume_by_sentiment is not None:
            if f"{topic}/{mention.sentiment}" not in self.volume.per_series:
                self.volume.per_series[f"{topic}/{mention.sentiment}"] = config.volume_by_sentiment
            alerts += self.volume.observe(f"{topic}/{mention.sentiment}", mention.time, drivers)
        terms = self._detector(self._terms, topic, config.terms, EmergingTermsDetector)
        if terms is not None:
            alerts += terms.observe(mention)
        shift = self._detector(self._sentiment, topic, config.sentiment, SentimentShiftDetector)
        if shift is not None:
            alerts += shift.observe(mention)
        big = self._detector(self._influence, topic, config.influence, InfluentialAuthorDetector)
        if big is not None:
            alerts += big.observe(mention)
        return alerts

    def advance(self, unix_time: float) -> list[AnyAlert]:
        """Move the volume series' clock on when no mention arrives (a quiet period)."""
        return list(self.volume.advance(unix_time))

    def run(self, mentions: Iterable[Mention]) -> list[AnyAlert]:
        """Replay `mentions` (in time order); every alert."""
        alerts: list[AnyAlert] = []
        for mention in mentions:
            alerts += self.observe(mention)
        return alerts

    @staticmethod
    def _detector(cache: dict[str, Any], topic: str, config: Any, kind: type[Any]) -> Any:
        """The topic's detector, made on first use; a topic's own name is never a driver."""
        if topic not in cache:
            if config is not None and hasattr(config, "ignore"):
                own = tuple(terms_of(topic)) + tuple(f"#{w}" for w in terms_of(topic))
                config = dataclasses.replace(config, ignore=(*config.ignore, *own))
            cache[topic] = None if config is None else kind(topic, config)
        return cache[topic]
