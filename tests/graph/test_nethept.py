"""IMM on the real NetHEPT graph: spread within a sane band of the published figures."""

from __future__ import annotations

import pytest

from hubbub.graph.seeding.baselines import top_k_by_out_degree
from hubbub.graph.seeding.imm import imm
from hubbub.graph.seeding.reader import load_graph_folder
from hubbub.graph.seeding.spread import monte_carlo_spread
from tests.support.data import shared_path


@pytest.mark.parametrize(("model", "low", "high"), [("IC", 940.0, 1000.0), ("LT", 1270.0, 1350.0)])
def test_k50_spread_in_band_and_beats_degree(model: str, low: float, high: float) -> None:
    graph = load_graph_folder(shared_path("graphs", "nethept"), model)
    result = imm(graph, 50, 0.1, seed=11)
    assert len(set(result.seeds)) == 50
    estimate = monte_carlo_spread(graph, result.seeds, runs=1_000, seed=12)
    # Published IMM estimates: IC 966, LT 1316; the band allows ~5 standard errors of 1,000 runs.
    assert low < estimate.mean < high
    assert low < result.estimated_spread < high
    degree = monte_carlo_spread(graph, top_k_by_out_degree(graph, 50), runs=1_000, seed=12)
    assert estimate.mean > degree.mean + 50
