"""`hubbub bench graph` at a tiny size, and our PageRank against igraph's."""

from __future__ import annotations

import json

import igraph
import numpy as np
import pytest
from typer.testing import CliRunner

from hubbub.cli.app import app
from hubbub.graph.bench import build_edges, generate_interactions
from hubbub.graph.pagerank import pagerank

runner = CliRunner()


def test_bench_graph_json_shape_and_sanity() -> None:
    result = runner.invoke(app, ["bench", "graph", "--nodes", "2000", "--edges", "20000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["nodes"] == 2000 and figures["edges"] == 20000
    assert figures["interactions"] >= figures["edges"]
    for step in ("generate", "build", "pagerank_ours", "igraph_build", "pagerank_igraph",
                 "leiden", "ranking_refresh"):  # fmt: skip
        assert figures["steps"][step]["seconds"] >= 0
        assert figures["steps"][step]["peak_rss_mb"] > 0
    assert figures["steps"]["ranking_refresh"]["tracemalloc_peak_mb"] > 0
    rank = figures["pagerank"]
    assert rank["sum"] == pytest.approx(1.0, abs=1e-9)
    assert rank["max_abs_diff_vs_igraph"] < 1e-8
    assert rank["top100_overlap_with_igraph"] >= 98
    assert figures["leiden"]["communities"] >= 2
    assert 0 < figures["leiden"]["modularity"] < 1
    ranking = figures["ranking"]
    assert ranking["pagerank_same_as_above"] is True
    assert 1_800 < ranking["candidates"] <= 2_000  # ~2 % never seen, 0.1 % blocked
    scores = [p["score"] for p in ranking["top"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    assert figures["full_refresh_seconds"] > 0 and figures["full_refresh_cpu_seconds"] > 0
    assert len(figures["machine"]["load_before"]) == 3


def test_generated_graph_is_power_law_and_exact_in_size() -> None:
    src, dst, weight, counts = build_edges(
        20_000, 100_000, *generate_interactions(20_000, 100_000, 1), seed=1
    )
    assert len(src) == 100_000
    assert not np.any(src == dst)
    assert len(np.unique(src * 20_000 + dst)) == len(src)  # one edge per ordered pair
    assert np.all(weight > 0) and np.all(counts.sum(axis=1) >= 1)
    degree = np.sort(np.bincount(dst, minlength=20_000))[::-1]
    assert degree[0] > 50 * degree.mean()  # heavy tail: hubs far above the mean


@pytest.mark.parametrize("personal", [False, True])
def test_pagerank_matches_igraph(personal: bool) -> None:
    rng = np.random.default_rng(5)
    n = 300
    pairs = {(int(u), int(v)) for u, v in rng.integers(0, n, (900, 2)) if u != v}
    edges = sorted(pairs)  # some nodes have no out-edges: dangling
    src = np.array([u for u, _ in edges])
    dst = np.array([v for _, v in edges])
    weight = rng.random(len(edges)) + 0.05
    reset = np.where(rng.random(n) < 0.1, rng.random(n), 0.0) if personal else None
    graph = igraph.Graph(n=n, edges=edges, directed=True)
    if reset is None:
        theirs = graph.pagerank(weights=weight.tolist(), damping=0.85)
    else:
        theirs = graph.personalized_pagerank(
            weights=weight.tolist(), damping=0.85, reset=reset.tolist()
        )
    ours = pagerank(n, src, dst, weight, reset)
    assert ours.sum() == pytest.approx(1.0)
    assert np.abs(ours - np.array(theirs)).max() < 1e-10
