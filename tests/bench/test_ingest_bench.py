"""``hubbub bench ingest`` produces its report (figures are measured by hand, not asserted)."""

from __future__ import annotations

import json
import statistics

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hubbub.cli.app import app


def test_bench_ingest_reports_both_sides_on_the_same_events() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "ingest", "--events", "2000", "--commit-batches", "2", "--rounds", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["events"] == 2000
    assert report["commit_batches"] == 2
    rounds = report["rounds"]
    assert [pair["order"] for pair in rounds] == [
        ["baseline", "hubbub"],
        ["hubbub", "baseline"],
        ["baseline", "hubbub"],
    ]
    for pair in rounds:
        for side in ("baseline", "hubbub"):
            assert pair[side]["events"] == 2000
            assert pair[side]["stored"] == 2000
            assert pair[side]["events_per_second"] > 0
            assert pair[side]["peak_rss_mb"] > 0
        assert pair["hubbub"]["rejected"] == 0
        ratio = pair["hubbub"]["events_per_second"] / pair["baseline"]["events_per_second"]
        assert pair["ratio_to_baseline"] == ratio
    ratios = [pair["ratio_to_baseline"] for pair in rounds]
    assert report["ratio_to_baseline"] == statistics.median(ratios)
    median_round = rounds[ratios.index(report["ratio_to_baseline"])]
    assert report["hubbub"] == median_round["hubbub"]
    for side in ("baseline", "hubbub"):
        rates = [pair[side]["events_per_second"] for pair in rounds]
        assert report["events_per_second_median"][side] == statistics.median(rates)
        assert report["peak_rss_mb_max"][side] == max(pair[side]["peak_rss_mb"] for pair in rounds)
    assert set(report["targets"]) == {"ratio_to_baseline_min", "events_per_second_min", "met"}


def test_bench_ingest_prints_each_round_and_the_median() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "1000", "--rounds", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["round 1", "round 2"]
    assert "(median round)" in lines[-1]


def test_bench_ingest_on_postgresql_stores_into_databases_it_drops(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("runs in the PostgreSQL half of the suite")
    admin = create_engine(db_url)

    def bench_databases() -> list[str]:
        with admin.connect() as conn:
            query = text("SELECT datname FROM pg_database WHERE datname LIKE 'hubbub_bench_%'")
            return list(conn.execute(query).scalars())

    before = bench_databases()
    result = CliRunner().invoke(
        app,
        ["bench", "ingest", "--events", "1000", "--rounds", "1", "--postgres", db_url, "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["database"]["backend"] == "postgresql" and report["database"]["server"]
    (pair,) = report["rounds"]
    assert pair["baseline"]["stored"] == pair["hubbub"]["stored"] == 1000
    assert report["targets"]["met"] is None  # issue #2 sets them for SQLite
    assert bench_databases() == before
    admin.dispose()


def test_bench_ingest_refuses_a_postgres_option_that_is_not_postgresql() -> None:
    result = CliRunner().invoke(
        app, ["bench", "ingest", "--events", "1000", "--postgres", "sqlite:///x.db"]
    )
    assert result.exit_code == 2 and "a postgresql:// URL" in result.output


def test_bench_ingest_says_why_a_postgres_server_cannot_be_used() -> None:
    url = "postgresql+psycopg://bench:s3cret-pw@127.0.0.1:1/test"  # nothing listens on port 1
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "1000", "--postgres", url])
    assert result.exit_code == 1
    assert "PostgreSQL server of --postgres: connection failed" in result.output
    assert "s3cret-pw" not in result.output
