"""``hubbub bench influence`` fills a demo workspace, refreshes its graph and times the pages."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from hubbub.cli.app import app
from hubbub.demo.load import demo_topics


def test_bench_influence_tiny_run_times_every_page_and_reuses_its_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["bench", "influence", "--posts", "300", "--reuse", str(store), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    workspace = report["workspace"]
    assert workspace["posts"] >= 300 and workspace["demo_seeds_added"] == [7]
    assert workspace["reused"] is False and 0 < workspace["topic_matches"] < workspace["posts"]
    # The graph job processed every post of the new workspace.
    assert report["graph_refresh"]["posts"] == workspace["posts"]
    assert set(report["functions_seconds"]) >= {"rank_influencers", "find_communities"}
    assert set(report["pages_seconds"]) == {
        "influencers", "influencers_topic", "communities", "communities_topic", "cascades",
        "seeding_k10",
    }  # fmt: skip
    for views in report["pages_seconds"].values():
        assert views["first"] > 0 and views["repeat"] > 0
    with sqlite3.connect(store / "hubbub.db") as db:
        assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == workspace["posts"]
        topics = {row[0] for row in db.execute("SELECT name FROM topics")}
        assert topics == {name for name, _, _ in demo_topics()}

    again = CliRunner().invoke(app, [*args, "--pages-only"])
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["workspace"]["reused"] is True and second["workspace"]["demo_seeds_added"] == []
    assert second["graph_refresh"]["posts"] == 0 and second["functions_seconds"] is None
