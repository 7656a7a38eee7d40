"""Streaming volume-spike detection over counts per time bucket, with self-explaining alerts.

One `VolumeSpikeDetector` watches one series (a topic, or a topic × sentiment). Events are
counted into fixed buckets; a bucket is judged when simulated (or real) time has moved past
its end plus the allowed lateness, against a robust baseline: the median and MAD of the same
hour-of-week slot when enough weeks of history exist, else of the last `window` buckets.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from hubbub.core.clock import from_unix
from hubbub.core.errors import Rejected

WEEK_SECONDS = 7 * 24 * 3600
CHART_BUCKETS = 24  # buckets of history drawn in an alert's small chart
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def check_settings(kind: str, checks: dict[str, bool]) -> None:
    """Refuse a detector's settings, naming every field that fails its check."""
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise Rejected("bad_config", f"invalid {kind} settings: {', '.join(bad)}")


@dataclass(frozen=True)
class SpikeConfig:
    """Tuning of one series' detector; every field is configurable per topic."""

    bucket_seconds: int = 300
    """Width of a counting bucket."""
    window: int = 288
    """Buckets of recent history in the rolling baseline (288 × 5 min = 24 h)."""
    min_history: int = 24
    """Buckets of history needed before any bucket is judged (no baseline, no alert)."""
    min_weeks: int = 3
    """Past weeks with the same hour-of-week slot needed to use the seasonal baseline."""
    max_weeks: int = 8
    """Past weeks kept per hour-of-week slot."""
    threshold: float = 5.0
    """Sensitivity: robust z-score a bucket must reach to alert (lower is more sensitive)."""
    min_ratio: float = 1.5
    """The bucket must also be at least this multiple of the baseline median."""
    min_volume: int = 50
    """Buckets with fewer events than this never alert (noise at low volume)."""
    release: float = 2.0
    """After an alert, the series re-arms only once a bucket's score falls below this."""
    cooldown_seconds: int = 3 * 3600
    """Minimum time between two alerts of the series, even when re-armed."""
    lateness_seconds: int = 60
    """How long a bucket stays open after its end for out-of-order events."""
    top_n: int = 5
    """How many values to report per driver dimension."""
    early: bool = False
    """Alert the moment the open bucket's count crosses the threshold, instead of when the
    bucket closes (a count only grows, so the closed bucket would alert too). Live engines
    turn it on; the Higgs backtest keeps bucket-close timing by default."""

    def __post_init__(self) -> None:
        check_settings(
            "spike detector",
            {
                "bucket_seconds": self.bucket_seconds > 0
                and WEEK_SECONDS % self.bucket_seconds == 0,
                "window": self.window >= 3,
                "min_history": 1 <= self.min_history <= self.window,
                "min_weeks": self.min_weeks >= 1,
                "max_weeks": self.max_weeks >= self.min_weeks,
                "threshold": self.threshold > 0,
                "min_ratio": self.min_ratio >= 1.0,
                "min_volume": self.min_volume >= 0,
                "release": self.release < self.threshold,
                "cooldown_seconds": self.cooldown_seconds >= 0,
                "lateness_seconds": self.lateness_seconds >= 0,
                "top_n": self.top_n >= 0,
            },
        )


@dataclass(frozen=True)
class Baseline:
    """What a bucket is compared with, and where that came from."""

    method: str
    """``hour_of_week`` (same slot in past weeks) or ``rolling`` (last `window` buckets)."""
    median: float
    mad: float
    scale: float
    """Spread for the score: max(1.4826 × MAD, √median, 1); a flat series never divides by 0."""
    samples: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "median": round(self.median, 3),
            "mad": round(self.mad, 3),
            "scale": round(self.scale, 3),
            "samples": self.samples,
        }


@dataclass(frozen=True)
class Alert:
    """One alert with everything needed to explain it to a person."""

    time: datetime
    """When the alert fires: the bucket's end plus the allowed lateness (simulated time)."""
    kind: str
    series: str
    bucket_start: datetime
    bucket_end: datetime
    observed: int
    baseline: Baseline
    score: float
    ratio: float
    drivers: dict[str, list[tuple[str, int]]]
    threshold: float = 5.0
    chart: tuple[int, ...] = ()
    """Counts of the buckets before this one (oldest first), for a small chart."""

    @property
    def topic(self) -> str:
        """The topic of the series (``topic`` or ``topic/sentiment``)."""
        return self.series.split("/", 1)[0]

    @property
    def severity(self) -> str:
        """Graded from how far the score went past the threshold."""
        return grade(self.score / self.threshold)

    def summary(self) -> str:
        """One sentence a person can read in a notification."""
        seconds = int((self.bucket_end - self.bucket_start).total_seconds())
        span = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
        where = "same hour of week" if self.baseline.method == "hour_of_week" else "recent window"
        text = (
            f"{self.observed} mentions of {self.series} in {span} vs a median of "
            f"{self.baseline.median:g} (MAD {self.baseline.mad:g}, {where}): "
            f"robust z {self.score:.1f}, {self.ratio:.1f}x"
        )
        parts = []
        for dimension, top in self.drivers.items():
            if top:
                value, count = top[0]
                parts.append(f"{dimension} {value} ({100 * count / max(self.observed, 1):.0f}%)")
        return text + ("; top " + ", ".join(parts) if parts else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ISO 8601 UTC times and an `explanation` object."""
        return {
            "time": iso_utc(self.time),
            "kind": self.kind,
            "series": self.series,
            "topic": self.topic,
            "severity": self.severity,
            "explanation": {
                "summary": self.summary(),
                "bucket_start": iso_utc(self.bucket_start),
                "bucket_end": iso_utc(self.bucket_end),
                "observed": self.observed,
                "baseline": self.baseline.as_dict(),
                "score": round(self.score, 2),
                "ratio": round(self.ratio, 2),
                "drivers": {
                    dimension: [
                        {"value": value, "count": count, "share": round(count / self.observed, 3)}
                        for value, count in top
                    ]
                    for dimension, top in self.drivers.items()
                },
                "chart": {
                    "bucket_seconds": int((self.bucket_end - self.bucket_start).total_seconds()),
                    "counts": [*self.chart, self.observed],
                    "sparkline": sparkline([*self.chart, self.observed]),
                },
            },
        }


SEVERITIES = ("low", "medium", "high", "critical")


def grade(strength: float) -> str:
    """Severity from strength = score / threshold (1 means just over the threshold)."""
    if strength < 1.5:
        return "low"
    if strength < 2.5:
        return "medium"
    if strength < 4.0:
        return "high"
    return "critical"


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int] | list[float]) -> str:
    """A one-line chart of `values` for notifications that cannot show images."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    return "".join(SPARKS[int((v - low) / span * (len(SPARKS) - 1))] for v in values)


def iso_utc(value: datetime) -> str:
    """ISO 8601 with a Z, the form every alert time takes."""
    return value.isoformat().replace("+00:00", "Z")


def robust_baseline(values: list[int], method: str) -> Baseline:
    """Median and MAD of `values`; the spread never falls below Poisson noise (√median) or 1."""
    mid = float(median(values))
    mad = float(median(abs(v - mid) for v in values))
    scale = max(MAD_TO_SIGMA * mad, math.sqrt(mid), 1.0)
    return Baseline(method=method, median=mid, mad=mad, scale=scale, samples=len(values))


@dataclass
class _Bucket:
    count: int = 0
    drivers: dict[str, Counter[str]] = field(default_factory=dict)
    alerted: bool = False


class VolumeSpikeDetector:
    """Count events of one series per bucket and alert when a closed bucket spikes.

    Feed events with `observe` (any order within the lateness), move time on with `advance`
    when nothing arrives, and collect the alerts both return. Empty buckets count as zero.
    """

    def __init__(self, series: str, config: SpikeConfig | None = None) -> None:
        self.series = series
        self.config = config or SpikeConfig()
        self._open: dict[int, _Bucket] = {}
        self._next: int | None = None  # index of the oldest bucket not yet judged
        self._recent: deque[int] = deque(maxlen=self.config.window)
        self._slots: dict[int, deque[int]] = {}
        self._armed = True
        self._cache: tuple[int, Baseline | None] | None = None
        self._last_alert: int | None = None  # bucket index of the last alert
        self.late_events = 0
        self.buckets_judged = 0

    def observe(
        self, unix_time: float, drivers: Mapping[str, str] | None = None, weight: int = 1
    ) -> list[Alert]:
        """Count one event (with its driver values, e.g. author and interaction type)."""
        if not math.isfinite(unix_time):
            raise Rejected("bad_timestamp", f"event time {unix_time!r} is not a finite number")
        index = int(unix_time // self.config.bucket_seconds)
        if self._next is not None and index < self._next:
            self.late_events += weight  # its bucket was judged already; counted, not hidden
            return self.advance(unix_time)
        bucket = self._open.get(index)
        if bucket is None:
            bucket = self._open[index] = _Bucket()
        bucket.count += weight
        for dimension, value in (drivers or {}).items():
            counter = bucket.drivers.get(dimension)
            if counter is None:
                counter = bucket.drivers[dimension] = Counter()
            counter[value] += weight
        alerts = self.advance(unix_time)
        if self.config.early and not bucket.alerted and index in self._open:
            early = self._check(index, bucket, from_unix(unix_time))
            if early is not None:
                alerts.append(early)
        return alerts

    def advance(self, unix_time: float) -> list[Alert]:
        """Judge every bucket whose end plus lateness is at or before `unix_time`."""
        size = self.config.bucket_seconds
        last_closed = int((unix_time - self.config.lateness_seconds) // size) - 1
        if self._next is None:
            # The series starts at its earliest bucket seen before the first one closes.
            if not self._open or min(self._open) > last_closed:
                return []
            self._next = min(self._open)
        alerts: list[Alert] = []
        while self._next <= last_closed:
            alert = self._judge(self._next, self._open.pop(self._next, _Bucket()))
            if alert is not None:
                alerts.append(alert)
            self._next += 1
        return alerts

    def flush(self) -> list[Alert]:
        """Judge every open bucket (end of a replay)."""
        if not self._open:
            return []
        last = max(self._open)
        return self.advance((last + 1) * self.config.bucket_seconds + self.config.lateness_seconds)

    def _baseline(self, slot: int) -> Baseline | None:
        """The slot's baseline, cached until the next bucket is judged (early checks are per
        event, and a median of 288 buckets per event would cost more than everything else)."""
        cached = self._cache
        if cached is not None and cached[0] == slot:
            return cached[1]
        found = self._compute_baseline(slot)
        self._cache = (slot, found)
        return found

    def _compute_baseline(self, slot: int) -> Baseline | None:
        history = self._slots.get(slot)
        if history is not None and len(history) >= self.config.min_weeks:
            return robust_baseline(list(history), "hour_of_week")
        if len(self._recent) >= self.config.min_history:
            return robust_baseline(list(self._recent), "rolling")
        return None

    def _judge(self, index: int, bucket: _Bucket) -> Alert | None:
        cfg = self.config
        fire_at = from_unix((index + 1) * cfg.bucket_seconds + cfg.lateness_seconds)
        alert = None if bucket.alerted else self._check(index, bucket, fire_at, closing=True)
        slot = index % (WEEK_SECONDS // cfg.bucket_seconds)
        self._recent.append(bucket.count)
        self._slots.setdefault(slot, deque(maxlen=cfg.max_weeks)).append(bucket.count)
        self._cache = None
        self.buckets_judged += 1
        return alert

    def _check(
        self, index: int, bucket: _Bucket, fire_at: datetime, closing: bool = False
    ) -> Alert | None:
        """Score `bucket` (closed, or still open when early) against the history before it."""
        cfg = self.config
        baseline = self._baseline(index % (WEEK_SECONDS // cfg.bucket_seconds))
        if baseline is None:
            return None
        score = (bucket.count - baseline.median) / baseline.scale
        if closing and score < cfg.release:
            self._armed = True
        ratio = bucket.count / max(baseline.median, 1.0)
        cooling = (
            self._last_alert is not None
            and (index - self._last_alert) * cfg.bucket_seconds < cfg.cooldown_seconds
        )
        if (
            score < cfg.threshold
            or ratio < cfg.min_ratio
            or bucket.count < cfg.min_volume
            or not self._armed
            or cooling
        ):
            return None
        self._armed = False
        self._last_alert = index
        bucket.alerted = True
        start = index * cfg.bucket_seconds
        return Alert(
            time=fire_at,
            kind="volume_spike",
            series=self.series,
            bucket_start=from_unix(start),
            bucket_end=from_unix(start + cfg.bucket_seconds),
            observed=bucket.count,
            baseline=baseline,
            score=score,
            ratio=ratio,
            drivers={
                dimension: counter.most_common(cfg.top_n)
                for dimension, counter in sorted(bucket.drivers.items())
            },
            threshold=cfg.threshold,
            chart=tuple(list(self._recent)[-CHART_BUCKETS:]),
        )


def replay(
    detector: VolumeSpikeDetector, events: Iterator[tuple[float, Mapping[str, str]]]
) -> list[Alert]:
    """Run `events` (time, drivers) through `detector` in simulated time; every alert, in order."""
    alerts: list[Alert] = []
    for unix_time, drivers in events:
        alerts.extend(detector.observe(unix_time, drivers))
    alerts.extend(detector.flush())
    return alerts


class SpikeMonitor:
    """One detector per series (topic, or topic × sentiment), each with its own settings.

    Time is shared: an event of one series also moves every other series' clock on, so a
    quiet topic's empty buckets are judged as zeros rather than waiting for its next event.
    """

    def __init__(
        self,
        default: SpikeConfig | None = None,
        per_series: Mapping[str, SpikeConfig] | None = None,
    ) -> None:
        self.default = default or SpikeConfig()
        self.per_series = dict(per_series or {})
        self.detectors: dict[str, VolumeSpikeDetector] = {}

    def detector(self, series: str) -> VolumeSpikeDetector:
        """The series' detector, created on first use with its configured settings."""
        found = self.detectors.get(series)
        if found is None:
            config = self.per_series.get(series, self.default)
            found = self.detectors[series] = VolumeSpikeDetector(series, config)
        return found

    def observe(
        self, series: str, unix_time: float, drivers: Mapping[str, str] | None = None
    ) -> list[Alert]:
        """Count one event of `series` and judge every series' buckets that time has closed."""
        alerts = self.detector(series).observe(unix_time, drivers)
        return alerts + self.advance(unix_time)

    def advance(self, unix_time: float) -> list[Alert]:
        """Move every series' clock to `unix_time`; alerts sorted by time then series."""
        alerts = [a for d in self.detectors.values() for a in d.advance(unix_time)]
        return sorted(alerts, key=lambda a: (a.time, a.series))
