"""``hubbub bench listen`` produces its report (figures are measured by hand, not asserted)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hubbub.cli.app import app


def test_bench_listen_measures_every_stage_and_keeps_what_the_topics_match() -> None:
    result = CliRunner().invoke(
        app, ["bench", "listen", "--posts", "10000", "--rules", "60", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    stages, end_to_end = report["stages"], report["end_to_end"]
    assert stages["posts"] == end_to_end["events"] == 10000
    # About 5% of the posts carry a rule's snippet, and the matcher finds each of them.
    assert stages["matched"] == report["posts_carrying_a_rule_snippet"]
    assert 0.03 < stages["matched_share"] < 0.07
    # The live stage matched the same posts, and the workspace kept only what concerns it.
    assert end_to_end["topic_matches"] >= stages["matched"]
    assert end_to_end["stored"] + end_to_end["not_kept"] == 10000
    assert end_to_end["stored"] < 10000 * 0.2
    assert set(report["met"]) == {
        "match_rate",
        "match_speedup",
        "enrichment_vs_vader",
        "end_to_end_rate",
        "peak_memory",
    }
    assert all(rate > 0 for rate in stages["posts_per_cpu_second"].values())
