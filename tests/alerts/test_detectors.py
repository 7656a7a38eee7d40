"""The volume-spike detector on synthetic series whose right answer is known by construction."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from hubbub.alerts.detectors import (
    WEEK_SECONDS,
    Alert,
    SpikeConfig,
    SpikeMonitor,
    VolumeSpikeDetector,
)
from hubbub.core.errors import Rejected

BUCKET = 300
DAY = 24 * 3600 // BUCKET
WEEK = WEEK_SECONDS // BUCKET
T0 = 1_341_100_800  # Sunday 1 July 2012 00:00 UTC, a bucket and day boundary


def run(counts: Sequence[int], config: SpikeConfig | None = None) -> list[Alert]:
    """Feed one weighted event per bucket (mid-bucket) and flush; every alert."""
    detector = VolumeSpikeDetector("brand", config or SpikeConfig())
    alerts: list[Alert] = []
    for index, count in enumerate(counts):
        time = T0 + index * BUCKET + BUCKET // 2
        if count:
            alerts.extend(detector.observe(time, weight=count))
        else:
            alerts.extend(detector.advance(time))
    alerts.extend(detector.flush())
    return alerts


def bucket_of(alert: Alert) -> int:
    return int(alert.bucket_start.timestamp() - T0) // BUCKET


def test_flat_series_raises_nothing() -> None:
    assert run([100] * (2 * DAY)) == []


def test_noisy_flat_series_raises_nothing() -> None:
    rng = random.Random(7)
    # Poisson(100)-like noise via a normal approximation, seeded.
    counts = [max(0, round(rng.gauss(100, 10))) for _ in range(3 * DAY)]
    assert run(counts) == []


def test_a_step_raises_one_alert_at_the_step() -> None:
    counts = [100] * DAY + [400] * DAY
    alerts = run(counts)
    assert [bucket_of(a) for a in alerts] == [DAY]
    alert = alerts[0]
    assert alert.kind == "volume_spike"
    assert alert.observed == 400
    assert alert.baseline.method == "rolling"
    assert alert.baseline.median == 100
    assert alert.score >= SpikeConfig().threshold
    # Fires once the bucket and its lateness are over, in ISO 8601 UTC.
    payload = alert.as_dict()
    assert payload["time"] == "2012-07-02T00:06:00Z"
    assert payload["explanation"]["bucket_start"] == "2012-07-02T00:00:00Z"
    assert payload["explanation"]["observed"] == 400


def test_no_alert_before_enough_history() -> None:
    config = SpikeConfig(min_history=24)
    assert run([100] * 10 + [1000] + [100] * 30, config) == []
    assert [bucket_of(a) for a in run([100] * 30 + [1000] + [100] * 30, config)] == [30]


@pytest.mark.parametrize(
    ("gap_hours", "expected"),
    [(1, 1), (2.5, 1), (3, 2), (6, 2)],
)
def test_cooldown_between_two_spikes(gap_hours: float, expected: int) -> None:
    gap = int(gap_hours * 12)
    counts = [100] * DAY
    counts[DAY // 2] = 1000
    counts[DAY // 2 + gap] = 1000
    alerts = run(counts, SpikeConfig(cooldown_seconds=3 * 3600))
    assert len(alerts) == expected
    assert bucket_of(alerts[0]) == DAY // 2


def test_no_cooldown_still_needs_the_series_to_come_down() -> None:
    """A long surge is one alert: the series re-arms only below the release score."""
    counts = [100] * DAY + [1000] * 12 + [100] * 12 + [1000] * 3
    alerts = run(counts, SpikeConfig(cooldown_seconds=0))
    assert [bucket_of(a) for a in alerts] == [DAY, DAY + 24]


def test_minimum_volume() -> None:
    counts = [5] * DAY
    counts[DAY // 2] = 40  # 8x and a z far above the threshold, but only 40 events
    assert run(counts, SpikeConfig(min_volume=50)) == []
    assert [bucket_of(a) for a in run(counts, SpikeConfig(min_volume=30))] == [DAY // 2]


def test_sensitivity() -> None:
    counts = [100] * DAY
    counts[DAY // 2] = 160  # z = 60 / sqrt(100) = 6
    assert run(counts, SpikeConfig(threshold=7)) == []
    assert len(run(counts, SpikeConfig(threshold=5))) == 1


def weekly(weeks: int, busy: Callable[[int], int]) -> list[int]:
    """`weeks` weeks of 50 per bucket, with `busy(slot)` added at given hour-of-week slots."""
    return [50 + busy(index % WEEK) for index in range(weeks * WEEK)]


MONDAY_NINE = DAY + 9 * 12  # Monday 09:00–09:05 in a week that starts on Sunday


def test_hour_of_week_baseline_learns_a_weekly_peak() -> None:
    """Every Monday 09:00 is busy: an alert in the first weeks, none once three weeks are known."""
    counts = weekly(5, lambda slot: 250 if slot == MONDAY_NINE else 0)
    config = SpikeConfig(window=DAY, min_weeks=3)
    alerts = run(counts, config)
    assert [bucket_of(a) for a in alerts] == [MONDAY_NINE + w * WEEK for w in range(3)]
    assert {a.baseline.method for a in alerts} == {"rolling"}


def test_hour_of_week_baseline_explains_a_real_spike() -> None:
    counts = weekly(4, lambda slot: 0)
    counts[3 * WEEK + MONDAY_NINE] = 300
    alerts = run(counts, SpikeConfig(window=DAY, min_weeks=3))
    assert [bucket_of(a) for a in alerts] == [3 * WEEK + MONDAY_NINE]
    baseline = alerts[0].baseline
    assert (baseline.method, baseline.median, baseline.samples) == ("hour_of_week", 50, 3)


def test_out_of_order_events_within_lateness_count_later_ones_are_reported() -> None:
    config = SpikeConfig(lateness_seconds=60, min_history=3)
    detector = VolumeSpikeDetector("brand", config)
    # First event seen is later than the second: both belong to open buckets.
    assert detector.observe(T0 + 400) == []
    assert detector.observe(T0 + 100) == []
    detector.advance(T0 + 2 * BUCKET + 60)  # closes buckets 0 and 1
    assert detector.buckets_judged == 2
    assert detector.late_events == 0
    detector.observe(T0 + 10)  # its bucket is judged already
    assert detector.late_events == 1


def test_drivers_are_ranked_per_dimension() -> None:
    config = SpikeConfig(min_history=12, min_volume=10, top_n=2)
    detector = VolumeSpikeDetector("brand", config)
    alerts: list[Alert] = []
    for index in range(12):
        alerts += detector.observe(T0 + index * BUCKET, {"author": "quiet", "interaction": "RE"})
    spike = T0 + 12 * BUCKET
    for n in range(30):
        author = "ana" if n < 15 else ("ben" if n < 25 else f"u{n}")
        alerts += detector.observe(spike + n, {"author": author, "interaction": "RT"})
    alerts += detector.flush()
    assert len(alerts) == 1
    drivers = alerts[0].as_dict()["explanation"]["drivers"]
    assert drivers["author"] == [
        {"value": "ana", "count": 15, "share": 0.5},
        {"value": "ben", "count": 10, "share": 0.333},
    ]
    assert drivers["interaction"] == [{"value": "RT", "count": 30, "share": 1.0}]
    assert "author ana (50%)" in alerts[0].summary()


def test_monitor_keeps_settings_per_series_and_one_clock() -> None:
    sensitive = SpikeConfig(min_history=3, min_volume=1, threshold=3)
    monitor = SpikeMonitor(SpikeConfig(min_history=3), {"brand/negative": sensitive})
    alerts: list[Alert] = []
    for index in range(6):
        for _ in range(4):
            alerts += monitor.observe("brand/negative", T0 + index * BUCKET)
            alerts += monitor.observe("brand", T0 + index * BUCKET)
    for _ in range(20):  # both series jump to 5x
        alerts += monitor.observe("brand/negative", T0 + 6 * BUCKET)
        alerts += monitor.observe("brand", T0 + 6 * BUCKET)
    # Only the other series moves the clock on; the spike is still judged.
    alerts += monitor.observe("other", T0 + 8 * BUCKET)
    assert [(a.series, a.observed) for a in alerts] == [("brand/negative", 20)]


@pytest.mark.parametrize(
    "settings",
    [
        {"bucket_seconds": 7000},
        {"window": 2},
        {"min_history": 500},
        {"threshold": 0},
        {"release": 9.0, "threshold": 5.0},
        {"min_ratio": 0.5},
    ],
)
def test_bad_settings_are_rejected(settings: dict[str, float]) -> None:
    with pytest.raises(Rejected) as caught:
        SpikeConfig(**settings)  # type: ignore[arg-type]
    assert caught.value.code == "bad_config"


def test_non_finite_time_is_rejected() -> None:
    with pytest.raises(Rejected) as caught:
        VolumeSpikeDetector("brand").observe(float("nan"))
    assert caught.value.code == "bad_timestamp"
