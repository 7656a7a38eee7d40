"""``hubbub bench dashboard`` on a tiny store: the report's shape, and ours and DuckDB's answers
to every dashboard question are equal (the real check; the timings are measured by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hubbub.bench.dashboard import build_store, duckdb_questions, load_duckdb, our_questions
from hubbub.cli.app import app
from hubbub.store.engine import make_engine

QUESTIONS = {"volume_per_hour", "sentiment_split", "share_of_voice", "top_authors", "top_terms"}


def test_bench_dashboard_reports_both_sides_with_equal_answers(tmp_path: Path) -> None:
    args = ["bench", "dashboard", "--posts", "1000", "--repeat", "3", "--json"]
    result = CliRunner().invoke(app, [*args, "--reuse", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["posts"] == 1000 and set(report["questions"]) == QUESTIONS
    assert report["store"]["build_seconds"]["term_rows_compacted"] == 0
    for name, figures in report["questions"].items():
        assert figures["same_answer"], name
        for side in ("hubbub", "duckdb"):
            assert figures[side]["runs"] == 3
            assert 0 < figures[side]["p50_ms"] <= figures[side]["p95_ms"]
        assert set(figures["met"]) == {"p95_under_100ms", "at_most_half_duckdb"}
    assert report["same_answers"] is True
    rows = report["store"]["rollup_rows"]
    assert rows["hourly_rollups"] > 0 and rows["term_rollups"] > 0
    assert report["peak_rss_mb"] > 0 and report["machine"]["cpus"]

    # --reuse keeps the store: the second run builds nothing and answers the same.
    again = CliRunner().invoke(app, [*args, "--reuse", str(tmp_path)])
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["store"]["build_seconds"] == report["store"]["build_seconds"]
    assert second["same_answers"] is True


def test_answers_are_real_figures(tmp_path: Path) -> None:
    """Both sides agree on non-trivial answers: nearly every post is in the share of voice, the
    brand's hourly volume sums to its share, and its top term is its own keyword."""
    store = build_store(tmp_path, 400, seed=3)
    # Cells this small keep all their terms, so top terms are exact on both sides.
    assert store.build_seconds["term_rows_compacted"] == 0
    engine = make_engine(f"sqlite:///{store.path}", writer=False)
    with Session(engine) as session:
        ours = {name: ask(session) for name, ask in our_questions(engine, store).items()}
    engine.dispose()
    con, _ = load_duckdb(store)
    theirs = {name: ask() for name, ask in duckdb_questions(con, store).items()}
    con.close()
    assert ours == theirs
    voice = dict(ours["share_of_voice"])
    # Posts span 30 days back from the build; the period starts at a midnight inside them.
    assert 400 * 0.9 < sum(voice.values()) <= 400
    assert sum(n for _, n in ours["volume_per_hour"]) == voice[store.topic_ids[0]]
    assert sum(n for _, n in ours["sentiment_split"]) == voice[store.topic_ids[0]]
    assert ours["top_terms"][0] == ("acme", voice[store.topic_ids[0]])
    assert len(ours["top_authors"]) == 10 and len(ours["top_terms"]) == 20
