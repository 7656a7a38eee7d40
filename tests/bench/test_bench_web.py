"""``hubbub bench web`` builds its store, serves it and loads it (figures are not asserted)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from hubbub.cli.app import app


def test_bench_web_tiny_run_reports_every_endpoint_and_no_errors(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["bench", "web", "--posts", "2000", "--conversations", "200", "--clients", "4"]
    args += ["--rate", "100"]
    result = CliRunner().invoke(app, [*args, "--seconds", "2", "--reuse", str(store), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    fixture = report["fixture"]
    assert fixture["posts"] == 2000 and fixture["conversations"] == 200
    assert fixture["reused"] is False and fixture["topic_matches"] > 0
    saturation, api, page = report["saturation"], report["api"], report["dashboard"]
    assert saturation["clients"] == api["clients"] == 4
    assert saturation["mode"] == "closed loop" and api["mode"] == "open loop at 100 requests/s"
    for phase in (saturation, api, page):
        assert phase["requests"] > 0 and phase["errors"] == 0, phase["error_kinds"]
    assert report["requests"] == saturation["requests"] + api["requests"] + page["requests"]
    # The open loop keeps to its schedule: about rate × seconds requests, never more.
    assert 0.5 * 100 * 2 <= api["requests"] <= 100 * 2 + 4
    # Every request of the mix was sent, and pages were followed through their cursors.
    assert {"list", "waiting", "status", "topic", "text", "intent", "next_page"} <= set(
        api["endpoints"]
    )
    for figures in [api["latency_ms"], page["latency_ms"], *api["endpoints"].values()]:
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]
    assert api["rps"] > 0
    assert set(report["met"]) == {"api_p99", "api_rps", "dashboard_p95", "all"}
    assert set(report["targets"]) == {"api_p99_ms", "api_rps", "dashboard_p95_ms"}
    assert report["machine"]["cpus"] >= 1 and len(report["machine"]["load_average_before"]) == 3

    # The rows are the app's own: the store's counts match, and a second run reuses them.
    with sqlite3.connect(store / "hubbub.db") as db:
        assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 2000
        assert db.execute("SELECT count(*) FROM inbox_conversations").fetchone()[0] == 200
        rollup = db.execute("SELECT sum(posts) FROM hourly_rollups").fetchone()[0]
        assert rollup == fixture["topic_matches"]
    again = CliRunner().invoke(app, [*args, "--seconds", "1", "--reuse", str(store), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["fixture"]["reused"] is True
