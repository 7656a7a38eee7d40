"""The Higgs backtest: the 4 July surge alerts within 30 minutes of its onset, and little else."""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hubbub.alerts.backtest import ACTIVITY_FILE, in_time_order, read_activity, surge_onset
from hubbub.alerts.cli import alerts_app
from hubbub.core.clock import parse_timestamp
from hubbub.core.errors import Rejected
from tests.support.data import shared_path

runner = CliRunner()

MAX_OTHER_ALERTS = 3
"""Documented bound (docs/alerts.md): with the defaults, 2 other alerts fire over the week."""


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """One replay of the real week through the real command, shared by the tests below."""
    path = shared_path("cascades", "higgs", ACTIVITY_FILE)
    result = runner.invoke(alerts_app, ["backtest", "--higgs", str(path.parent), "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.output)
    return payload


def test_every_event_is_replayed(report: dict[str, Any]) -> None:
    assert report["events"] == 563_069
    assert report["late_events"] == 0
    assert report["buckets"] == 7 * 24 * 12


def test_onset_is_on_4_july_before_the_peak(report: dict[str, Any]) -> None:
    onset = parse_timestamp(report["onset"]["time"])
    peak = parse_timestamp(report["onset"]["peak"])
    assert onset.date().isoformat() == "2012-07-04"
    assert onset < peak
    assert report["onset"]["time"] == "2012-07-04T03:50:00Z"  # the figure in docs/alerts.md


def test_surge_alert_within_30_minutes_of_onset(report: dict[str, Any]) -> None:
    onset = parse_timestamp(report["onset"]["time"])
    surge = report["surge_alert"]
    assert surge is not None
    fired = parse_timestamp(surge["time"])
    assert timedelta(0) <= fired - onset <= timedelta(minutes=30)
    assert surge["time"] in [a["time"] for a in report["alerts"]]


def test_few_other_alerts(report: dict[str, Any]) -> None:
    assert report["alert_count"] == report["other_alert_count"] + 1
    assert report["other_alert_count"] <= MAX_OTHER_ALERTS


def test_every_alert_explains_itself(report: dict[str, Any]) -> None:
    for alert in report["alerts"]:
        assert alert["time"].endswith("Z")
        assert parse_timestamp(alert["time"]).year == 2012
        assert alert["kind"] == "volume_spike"
        why = alert["explanation"]
        assert why["observed"] >= report["config"]["min_volume"]
        assert why["score"] >= report["config"]["threshold"]
        assert why["baseline"]["method"] == "rolling"  # one week: never enough for hour-of-week
        assert {d["value"] for d in why["drivers"]["interaction"]} <= {"RT", "MT", "RE"}
        assert why["drivers"]["active_user"] and why["drivers"]["target_user"]
        assert sum(d["count"] for d in why["drivers"]["interaction"]) == why["observed"]


def test_surge_onset_on_a_ramp() -> None:
    bucket = 300
    day = [10 + (i % 7) for i in range(288)]  # previous day's maximum is 16
    ramp = [12, 15, 30, 60, 120, 240, 500, 300]
    counts = dict(enumerate(day + day + ramp))
    onset, peak = surge_onset(counts, bucket)
    assert peak == 2 * 288 + 6
    assert onset == 2 * 288 + 2  # 30: the first bucket out of yesterday's range for good


def write_activity(path: Path, lines: list[str]) -> Path:
    with gzip.open(path / ACTIVITY_FILE, "wt", encoding="ascii") as handle:
        handle.writelines(line + "\n" for line in lines)
    return path


def test_unsorted_file_is_replayed_in_time_order(tmp_path: Path) -> None:
    rng = random.Random(3)
    stamps = [1_341_100_800 + i for i in range(0, 3000, 3)]
    shuffled = [s + rng.randint(-300, 300) for s in stamps]
    folder = write_activity(tmp_path, [f"1 2 {s} RT" for s in shuffled])
    released = [stamp for stamp, *_ in in_time_order(read_activity(folder / ACTIVITY_FILE))]
    assert released == sorted(shuffled)


@pytest.mark.parametrize(
    ("line", "code"),
    [("1 2 1341100800", "bad_line"), ("1 2 1341100800 XX", "unknown_type"),
     ("1 2 July RT", "bad_timestamp")],
)  # fmt: skip
def test_malformed_lines_are_refused_with_a_code(tmp_path: Path, line: str, code: str) -> None:
    folder = write_activity(tmp_path, ["1 2 1341100800 RT", line])
    result = runner.invoke(alerts_app, ["backtest", "--higgs", str(folder), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert error["code"] == code
    assert ":2:" in error["detail"]


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(alerts_app, ["backtest", "--higgs", str(tmp_path / "nope"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["code"] == "missing_file"


def test_not_gzip_is_refused(tmp_path: Path) -> None:
    (tmp_path / ACTIVITY_FILE).write_bytes(b"plain text, not gzip")
    with pytest.raises(Rejected) as caught:
        list(read_activity(tmp_path / ACTIVITY_FILE))
    assert caught.value.code == "bad_file"


def spike_lines(start: int) -> list[str]:
    """3 h of 10 mentions per 5 min, then 200 within one bucket."""
    lines = [f"{i % 9} 1 {start + 30 * i} MT" for i in range(10 * 12 * 3)]
    return lines + [f"{i % 4} 1 {start + 3 * 3600 + i} RT" for i in range(200)]


START = int(datetime.fromisoformat("2012-07-01T00:00:00+00:00").timestamp())


def test_readable_output_lists_the_alerts(tmp_path: Path) -> None:
    folder = write_activity(tmp_path, spike_lines(START))
    result = runner.invoke(alerts_app, ["backtest", "--higgs", str(folder)])
    assert result.exit_code == 0, result.output
    assert "events: 560 (late: 0)" in result.output
    assert "alerts: 1 (other: 0)" in result.output
    assert "2012-07-01T03:06:00Z volume_spike: 200 mentions of higgs in 5 min" in result.output


def test_events_later_than_the_reorder_hold_are_reported_late(tmp_path: Path) -> None:
    lines = spike_lines(START)
    lines += [f"5 1 {START + 12 * 3600 + 60 * i} RE" for i in range(60)]  # moves time on 1 h
    lines.insert(len(lines) - 1, f"7 1 {START + 3600} RE")  # 11 h behind the clock
    folder = write_activity(tmp_path, lines)
    result = runner.invoke(alerts_app, ["backtest", "--higgs", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["events"], payload["late_events"]) == (len(lines), 1)
