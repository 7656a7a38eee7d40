"""Backtest of the volume-spike detector on the Higgs Twitter week (1–7 July 2012).

Every interaction (retweet, mention, reply) counts as one mention of a single topic, "higgs".
The onset of the 4 July surge is determined from the data alone, independently of the
detector's settings, so the detector cannot be tuned to an onset it defined itself.
"""

from __future__ import annotations

import gzip
import heapq
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hubbub.alerts.detectors import Alert, SpikeConfig, VolumeSpikeDetector, iso_utc
from hubbub.core.clock import from_unix
from hubbub.core.errors import Rejected

ACTIVITY_FILE = "higgs-activity_time.txt.gz"
INTERACTIONS = {"RT": "retweet", "MT": "mention", "RE": "reply"}
SEMINAR_START = datetime.fromisoformat("2012-07-04T07:00:00+00:00")
"""The CERN seminar announcing the discovery began at 09:00 CEST."""
REORDER_SECONDS = 600
"""Events are held this long in a heap before release, so a file not strictly sorted still
reaches the detector in time order (an event later than this is counted as late)."""
ONSET_REFERENCE_SECONDS = 24 * 3600
SURGE_TOLERANCE = timedelta(minutes=30)


def activity_path(directory: Path) -> Path:
    """The activity file inside a Higgs folder, refused clearly when it is not there."""
    path = directory / ACTIVITY_FILE
    if not path.is_file():
        raise Rejected("missing_file", f"{path} not found (expected the SNAP Higgs folder)")
    return path


def read_activity(path: Path) -> Iterator[tuple[int, str, str, str]]:
    """(unix time, user A, user B, RT|MT|RE) per line; a malformed line is refused by number."""
    try:
        with gzip.open(path, "rt", encoding="ascii") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if len(fields) != 4:
                    raise Rejected("bad_line", f"{path.name}:{number}: expected 4 fields")
                user_a, user_b, stamp, kind = fields
                if kind not in INTERACTIONS:
                    raise Rejected("unknown_type", f"{path.name}:{number}: {kind!r}")
                if not stamp.isdigit():
                    raise Rejected("bad_timestamp", f"{path.name}:{number}: {stamp!r}")
                yield int(stamp), user_a, user_b, kind
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise Rejected("bad_file", f"{path.name}: {exc}") from exc


def in_time_order(
    events: Iterator[tuple[int, str, str, str]], hold: int = REORDER_SECONDS
) -> Iterator[tuple[int, str, str, str]]:
    """Release events in time order once `hold` seconds newer ones have been read."""
    heap: list[tuple[int, int, str, str, str]] = []
    newest = None
    for sequence, (stamp, user_a, user_b, kind) in enumerate(events):
        heapq.heappush(heap, (stamp, sequence, user_a, user_b, kind))
        newest = stamp if newest is None else max(newest, stamp)
        while heap and heap[0][0] <= newest - hold:
            stamp0, _, a0, b0, k0 = heapq.heappop(heap)
            yield stamp0, a0, b0, k0
    while heap:
        stamp0, _, a0, b0, k0 = heapq.heappop(heap)
        yield stamp0, a0, b0, k0


def surge_onset(counts: dict[int, int], bucket_seconds: int) -> tuple[int, int]:
    """(onset bucket, peak bucket) of the week's largest surge, from the counts alone.

    The peak is the busiest bucket. The onset is the earliest bucket of the day before the
    peak from which every bucket up to the peak is busier than *any* bucket of the 24 hours
    before it: the moment volume left the range of the whole previous day and stayed out.
    """
    first, last = min(counts), max(counts)
    series = [counts.get(i, 0) for i in range(first, last + 1)]
    peak = max(range(len(series)), key=series.__getitem__)
    reference = ONSET_REFERENCE_SECONDS // bucket_seconds
    onset = peak
    floor = series[peak]
    floors: dict[int, int] = {}
    for candidate in range(peak, max(reference, peak - reference) - 1, -1):
        floor = min(floor, series[candidate])
        floors[candidate] = floor
    for candidate in sorted(floors):
        if floors[candidate] > max(series[candidate - reference : candidate]):
            onset = candidate
            break
    return first + onset, first + peak


def run_higgs(directory: Path, config: SpikeConfig | None = None) -> dict[str, Any]:
    """Replay the Higgs week through one detector; the JSON-ready report of the backtest."""
    started = time.perf_counter()
    config = config or SpikeConfig()
    detector = VolumeSpikeDetector("higgs", config)
    counts: Counter[int] = Counter()
    alerts: list[Alert] = []
    events = 0
    for stamp, user_a, user_b, kind in in_time_order(read_activity(activity_path(directory))):
        events += 1
        counts[stamp // config.bucket_seconds] += 1
        drivers = {"active_user": user_a, "interaction": kind, "target_user": user_b}
        alerts.extend(detector.observe(stamp, drivers))
    alerts.extend(detector.flush())
    if not counts:
        raise Rejected("empty_file", f"{ACTIVITY_FILE} holds no events")

    onset_index, peak_index = surge_onset(counts, config.bucket_seconds)
    onset = from_unix(onset_index * config.bucket_seconds)
    # The surge's alert is the first one between half an hour before the onset and the peak;
    # one fired slightly before the onset (on the ramp) counts, with a negative delay.
    surge_alerts = [
        a
        for a in alerts
        if a.bucket_end > onset - SURGE_TOLERANCE and a.time <= _peak_end(peak_index, config)
    ]
    surge = surge_alerts[0] if surge_alerts else None
    delay = (surge.time - onset).total_seconds() / 60 if surge else None
    others = [a for a in alerts if a is not surge]
    return {
        "series": "higgs",
        "events": events,
        "late_events": detector.late_events,
        "first_bucket": iso_utc(from_unix(min(counts) * config.bucket_seconds)),
        "buckets": detector.buckets_judged,
        "config": asdict(config),
        "seminar_start": iso_utc(SEMINAR_START),
        "onset": {
            "time": iso_utc(onset),
            "peak": iso_utc(from_unix(peak_index * config.bucket_seconds)),
            "peak_count": counts[peak_index],
            "method": (
                "busiest bucket of the week, then back to the earliest bucket from which every "
                "bucket up to the peak exceeds the maximum of the 24 h before it"
            ),
        },
        "surge_alert": (
            {"time": iso_utc(surge.time), "minutes_after_onset": round(delay, 1)}
            if surge is not None and delay is not None
            else None
        ),
        "alert_count": len(alerts),
        "other_alert_count": len(others),
        "alerts": [alert.as_dict() for alert in alerts],
        "seconds": round(time.perf_counter() - started, 2),
    }


def _peak_end(peak_index: int, config: SpikeConfig) -> datetime:
    return from_unix((peak_index + 1) * config.bucket_seconds + config.lateness_seconds)
