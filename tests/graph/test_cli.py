"""The ``graph seed`` and ``bench seeding`` commands: one JSON object each, errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hubbub.graph.cli import bench_seeding, graph_app
from tests.graph.helpers import FolderMaker
from tests.support.data import shared_path

runner = CliRunner()
STARS = [(0, v, 1.0) for v in range(1, 11)] + [(11, v, 1.0) for v in range(12, 17)]


def _bench_app() -> typer.Typer:
    """Mounted the way the lead mounts it into the main CLI."""
    app = typer.Typer()
    app.command("seeding")(bench_seeding)
    app.command("other")(lambda: None)  # a second command keeps "seeding" a named subcommand
    return app


def test_seed_json(make_folder: FolderMaker) -> None:
    folder = make_folder(17, STARS)
    result = runner.invoke(
        graph_app,
        ["seed", "--graph", str(folder), "--model", "lt", "--k", "2", "--epsilon", "0.2",
         "--exclude", "0", "--force", "5", "--mc-runs", "500", "--seed", "3", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["seeds"] == [5, 11]
    assert payload["model"] == "LT"
    # Forced leaf 5 (itself) + small star (6); the big centre is excluded. Edges are certain, so
    # the simulation is exact while IMM's sampled estimate is only close.
    assert payload["estimated_spread"] == pytest.approx(7.0, rel=0.1)
    assert payload["monte_carlo"]["runs"] == 500
    assert payload["monte_carlo"]["spread"] == 7.0
    assert set(payload["seconds"]) == {"read", "imm"}
    assert payload["constraints"]["exclude"] == [0]


def test_seed_with_costs_and_budget(make_folder: FolderMaker, tmp_path: Path) -> None:
    folder = make_folder(17, STARS)
    costs = tmp_path / "costs.txt"
    costs.write_text("0 10\n")
    args = ["seed", "--graph", str(folder), "--k", "17", "--costs", str(costs), "--json"]
    result = runner.invoke(graph_app, [*args, "--budget", "10", "--mc-runs", "0"])
    payload = json.loads(result.output)
    assert payload["constraints"]["total_cost"] <= 10
    assert 11 in payload["seeds"]
    assert 0 not in payload["seeds"]
    assert payload["monte_carlo"] is None
    lonely = runner.invoke(graph_app, args)
    assert lonely.exit_code == 2
    assert json.loads(lonely.output)["error"]["code"] == "missing_field"


def test_seed_rejects_bad_folder_readably(make_folder: FolderMaker) -> None:
    folder = make_folder(3, [(0, 1, 2.0)])
    result = runner.invoke(graph_app, ["seed", "--graph", str(folder), "--k", "1"])
    assert result.exit_code == 2
    assert "bad_probability" in result.output
    as_json = runner.invoke(graph_app, ["seed", "--graph", str(folder), "--k", "1", "--json"])
    assert json.loads(as_json.output)["error"]["code"] == "bad_probability"


def test_bench_json_shape_on_small_graph(make_folder: FolderMaker) -> None:
    folder = make_folder(17, STARS)
    result = runner.invoke(
        _bench_app(),
        ["seeding", "--graph", str(folder), "--k", "2", "--mc-runs", "200",
         "--warm-repeats", "1", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["imm"]["seeds"] == [0, 11]
    assert payload["monte_carlo"]["imm"]["spread"] == 17.0
    assert payload["monte_carlo"]["top_k_out_degree"]["seeds"] == [0, 11]
    assert payload["reference"] is None  # only NetHEPT at k=50, epsilon=0.1 has one
    assert payload["imm"]["cold_seconds"] > 0
    assert payload["imm"]["warm_seconds"] > 0
    assert payload["memory"]["rr_store_mb"] > 0


def test_bench_on_nethept_reports_reference_and_verdicts() -> None:
    folder = shared_path("graphs", "nethept")
    result = runner.invoke(
        _bench_app(),
        ["seeding", "--graph", str(folder), "--model", "LT", "--mc-runs", "300",
         "--warm-repeats", "1", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    reference = payload["reference"]
    assert reference["spread"] == 1316.0
    assert reference["seconds"] == 0.47
    assert isinstance(reference["spread_pass"], bool)
    assert 0.95 < reference["spread_ratio"] < 1.05
    mc = payload["monte_carlo"]
    assert mc["imm"]["spread"] > mc["top_k_out_degree"]["spread"]
    assert len(payload["imm"]["seeds"]) == 50
