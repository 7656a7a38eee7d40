"""The Monte Carlo estimator against exact spreads, and the baseline lists."""

from __future__ import annotations

import pytest

from hubbub.core.errors import Rejected
from hubbub.graph.seeding.baselines import top_k_by_out_degree, top_k_by_pagerank
from hubbub.graph.seeding.imm import rr_spread_estimate
from hubbub.graph.seeding.reader import Model, build_graph
from hubbub.graph.seeding.spread import monte_carlo_spread
from tests.graph.helpers import exact_ic_spread, exact_lt_spread

# A diamond with a back edge and a tail: paths interfere, so sum-of-paths shortcuts are wrong.
DIAMOND = [
    (0, 1, 0.6),
    (0, 2, 0.5),
    (1, 3, 0.4),
    (2, 3, 0.3),
    (3, 4, 0.7),
    (4, 1, 0.2),
    (2, 4, 0.1),
]


@pytest.mark.parametrize(
    ("model", "exact"), [(Model.IC, exact_ic_spread), (Model.LT, exact_lt_spread)]
)
@pytest.mark.parametrize("seeds", [[0], [2, 4]])
def test_monte_carlo_matches_exact(model: Model, exact: object, seeds: list[int]) -> None:
    src, dst, prob = zip(*DIAMOND, strict=True)
    graph = build_graph(5, src, dst, prob, model)
    truth = exact(5, DIAMOND, seeds)  # type: ignore[operator]
    estimate = monte_carlo_spread(graph, seeds, runs=200_000, seed=4)
    assert estimate.runs == 200_000
    assert 0 < estimate.stderr < 0.01
    assert abs(estimate.mean - truth) < 4 * estimate.stderr + 1e-9


def test_ic_and_lt_differ_where_they_should() -> None:
    # Two half-weight edges into node 2: IC misses it with 0.5 * 0.5, LT always reaches 1 >= U.
    src, dst, prob = (0, 1), (2, 2), (0.5, 0.5)
    ic = build_graph(3, src, dst, prob, Model.IC)
    lt = build_graph(3, src, dst, prob, Model.LT)
    assert monte_carlo_spread(ic, [0, 1], 20_000).mean == pytest.approx(2.75, abs=0.02)
    assert monte_carlo_spread(lt, [0, 1], 1_000).mean == 3.0


def test_edge_cases() -> None:
    graph = build_graph(3, (0,), (1,), (1.0,), Model.IC)
    assert monte_carlo_spread(graph, [], 10).mean == 0.0
    assert monte_carlo_spread(graph, [0, 0], 10).mean == 2.0
    same = monte_carlo_spread(graph, [2], 5, seed=1)
    assert same == monte_carlo_spread(graph, [2], 5, seed=1)
    for seeds, runs, code in (([3], 10, "node_out_of_range"), ([0], 0, "bad_runs")):
        with pytest.raises(Rejected) as caught:
            monte_carlo_spread(graph, seeds, runs)
        assert caught.value.code == code


def test_baselines_rank_hubs_first() -> None:
    # 0 -> {1,2,3}; 4 -> {0}; 5 -> {4}; ties broken by lower id.
    edges = [(0, 1, 1.0), (0, 2, 1.0), (0, 3, 1.0), (4, 0, 1.0), (5, 4, 1.0)]
    src, dst, prob = zip(*edges, strict=True)
    graph = build_graph(6, src, dst, prob, Model.IC)
    assert top_k_by_out_degree(graph, 3) == [0, 4, 5]
    assert top_k_by_out_degree(graph, 2, exclude=[0]) == [4, 5]
    # Influence-direction PageRank: 5 reaches everyone through 4 and 0.
    assert top_k_by_pagerank(graph, 1) == [5]
    assert top_k_by_pagerank(graph, 2, exclude=[5]) == [4, 0]


@pytest.mark.parametrize(
    ("model", "exact"), [(Model.IC, exact_ic_spread), (Model.LT, exact_lt_spread)]
)
def test_rr_sets_are_unbiased_for_a_fixed_seed_list(model: Model, exact: object) -> None:
    # Node 3 has in-edges of different probabilities (per-edge coins); node 1 mixes 0.6 and 0.2.
    uniform = [(0, 1, 0.5), (4, 1, 0.5), (1, 2, 1.0), (2, 3, 0.3), (0, 3, 0.3), (4, 3, 0.3)]
    for edges in (DIAMOND, uniform):
        src, dst, prob = zip(*edges, strict=True)
        graph = build_graph(5, src, dst, prob, model)
        for seeds in ([0], [4], [0, 4]):
            truth = exact(5, edges, seeds)  # type: ignore[operator]
            # 200k sets: the share has stderr <= 0.5 / sqrt(200k), times n = 5 -> 0.006.
            assert rr_spread_estimate(graph, seeds, 200_000, seed=2) == pytest.approx(
                truth, abs=0.03
            )
