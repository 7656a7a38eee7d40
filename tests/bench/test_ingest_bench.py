"""``hubbub bench ingest`` produces its report (figures are measured by hand, not asserted)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hubbub.cli.app import app


def test_bench_ingest_reports_both_sides_on_the_same_events() -> None:
    result = CliRunner().invoke(
        app, ["bench", "ingest", "--events", "2000", "--commit-batches", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["events"] == 2000
    assert report["commit_batches"] == 2
    for side in ("baseline", "hubbub"):
        assert report[side]["events"] == 2000
        assert report[side]["stored"] == 2000
        assert report[side]["events_per_second"] > 0
        assert report[side]["peak_rss_mb"] > 0
    assert report["hubbub"]["rejected"] == 0
    assert set(report["targets"]) == {"ratio_to_baseline_min", "events_per_second_min", "met"}
