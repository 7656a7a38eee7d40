"""IMM on hand-made graphs whose best seeds are known, with every constraint."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubbub.core.errors import Rejected
from hubbub.graph.seeding.imm import SeedConstraints, imm
from hubbub.graph.seeding.reader import Graph, Model, build_graph, load_graph_folder
from tests.graph.helpers import Edge, FolderMaker, exact_ic_spread, exact_lt_spread


def _graph(n: int, edges: list[Edge], model: Model = Model.IC) -> Graph:
    src, dst, prob = zip(*edges, strict=True) if edges else ((), (), ())
    return build_graph(n, src, dst, prob, model)


def _star(center: int, leaves: range, p: float) -> list[Edge]:
    return [(center, leaf, p) for leaf in leaves]


TWO_STARS = _star(0, range(1, 11), 1.0) + _star(11, range(12, 17), 1.0)  # 17 nodes


@pytest.mark.parametrize("model", [Model.IC, Model.LT])
def test_star_center_is_the_single_best_seed(model: Model) -> None:
    result = imm(_graph(11, _star(0, range(1, 11), 1.0), model), 1, 0.1)
    assert result.seeds == [0]
    assert result.estimated_spread == pytest.approx(11.0)


def test_uncertain_star_still_picks_center() -> None:
    result = imm(_graph(21, _star(0, range(1, 21), 0.3)), 1, 0.2, seed=3)
    assert result.seeds == [0]
    # Exact spread 1 + 20 * 0.3 = 7; the estimate comes from ~10^5 RR sets.
    assert result.estimated_spread == pytest.approx(7.0, rel=0.05)


@pytest.mark.parametrize("model", [Model.IC, Model.LT])
def test_two_disjoint_stars(model: Model) -> None:
    graph = _graph(17, TWO_STARS, model)
    assert imm(graph, 1, 0.1).seeds == [0]
    two = imm(graph, 2, 0.1)
    assert two.seeds == [0, 11]
    assert two.estimated_spread == pytest.approx(17.0)


def test_phase_one_lower_bound_and_sample_size_follow_the_paper() -> None:
    graph = _graph(17, TWO_STARS)
    result = imm(graph, 2, 0.1)
    # n F_R(S) = 17 >= (1 + sqrt2 eps) * 17/2 at i = 1, so LB = 17 / (1 + sqrt2 * 0.1).
    assert result.lower_bound == pytest.approx(17 / (1 + np.sqrt(2) * 0.1))
    assert result.theta == int(np.ceil(result.params["lambda_star"] / result.lower_bound))
    assert result.rr_sets == max(result.theta, result.phase1_sets)
    fresh = imm(graph, 2, 0.1, fresh_final=True)
    assert fresh.seeds == [0, 11]
    assert fresh.rr_sets == fresh.theta


def test_brute_force_optimum_on_a_small_random_graph() -> None:
    rng = np.random.default_rng(5)
    n = 7
    pairs = rng.permutation([(u, v) for u in range(n) for v in range(n) if u != v])[:11]
    edges = [(int(u), int(v), float(rng.choice([0.2, 0.5, 0.9]))) for u, v in pairs]
    best = max(exact_ic_spread(n, edges, s) for s in itertools.combinations(range(n), 2))
    chosen = imm(_graph(n, edges), 2, 0.05, seed=1).seeds
    assert exact_ic_spread(n, edges, chosen) >= 0.97 * best

    lt_edges = [(u, v, p / 3) for u, v, p in edges]
    lt_best = max(exact_lt_spread(n, lt_edges, s) for s in itertools.combinations(range(n), 2))
    lt_chosen = imm(_graph(n, lt_edges, Model.LT), 2, 0.05, seed=1).seeds
    assert exact_lt_spread(n, lt_edges, lt_chosen) >= 0.97 * lt_best


def test_exclude_and_force() -> None:
    graph = _graph(17, TWO_STARS)
    excluded = imm(graph, 2, 0.1, constraints=SeedConstraints(exclude=(0,)))
    assert 0 not in excluded.seeds
    assert excluded.seeds[0] == 11
    forced = imm(graph, 2, 0.1, constraints=SeedConstraints(force=(5,)))
    assert forced.seeds == [5, 0]
    # Everything excluded but one node: fewer than k seeds, never an excluded one.
    only = imm(graph, 3, 0.1, constraints=SeedConstraints(exclude=tuple(range(1, 17))))
    assert only.seeds == [0]


def test_budget_prefers_cheap_coverage_when_it_wins() -> None:
    graph = _graph(17, TWO_STARS)
    costs = np.ones(17)
    costs[0] = 10.0  # the big star's centre costs the whole budget
    result = imm(graph, 17, 0.1, constraints=SeedConstraints(costs=costs, budget=10.0))
    # Per-cost greedy: small centre (6 per unit) and nine big-star nodes -> 15 > 11.
    assert result.greedy_rule == "coverage per cost"
    assert 11 in result.seeds
    assert 0 not in result.seeds
    assert result.total_cost <= 10.0
    # True spread 15; greedy on the samples picks the luckiest leaves, so allow its upward bias.
    assert result.estimated_spread == pytest.approx(15.0, rel=0.03)


def test_budget_keeps_plain_coverage_when_per_cost_is_a_trap() -> None:
    edges = [*_star(0, range(1, 11), 1.0), (11, 12, 1.0)]
    costs = np.full(13, 100.0)
    costs[0], costs[11] = 10.0, 1.0
    result = imm(_graph(13, edges), 5, 0.1, constraints=SeedConstraints(costs=costs, budget=10.0))
    assert result.seeds == [0]
    assert result.greedy_rule.startswith("coverage (")
    assert result.total_cost == 10.0


def test_seeds_are_reproducible_from_the_seed(make_folder: FolderMaker) -> None:
    rng = np.random.default_rng(1)
    edges = [(int(u), int(v), 0.3) for u, v in rng.integers(0, 60, size=(200, 2)) if u != v]
    graph = load_graph_folder(make_folder(60, edges), "IC")
    first = imm(graph, 5, 0.2, seed=9)
    again = imm(graph, 5, 0.2, seed=9)
    assert (first.seeds, first.rr_sets) == (again.seeds, again.rr_sets)


@pytest.mark.parametrize(
    ("k", "epsilon", "constraints", "code"),
    [
        (0, 0.1, SeedConstraints(), "bad_k"),
        (18, 0.1, SeedConstraints(), "bad_k"),
        (2, 0.0, SeedConstraints(), "bad_epsilon"),
        (2, 1.0, SeedConstraints(), "bad_epsilon"),
        (2, 0.1, SeedConstraints(exclude=(3,), force=(3,)), "conflicting_constraints"),
        (1, 0.1, SeedConstraints(force=(1, 2)), "too_many_forced"),
        (2, 0.1, SeedConstraints(exclude=(17,)), "node_out_of_range"),
        (2, 0.1, SeedConstraints(costs=np.ones(17)), "missing_field"),
        (2, 0.1, SeedConstraints(budget=0.0), "bad_budget"),
        (2, 0.1, SeedConstraints(costs=np.zeros(17), budget=1.0), "bad_cost"),
        (2, 0.1, SeedConstraints(costs=np.ones(3), budget=1.0), "bad_cost"),
        (2, 0.1, SeedConstraints(force=(1, 2), budget=1.0), "over_budget"),
    ],
)
def test_bad_requests_are_rejected(
    k: int, epsilon: float, constraints: SeedConstraints, code: str
) -> None:
    with pytest.raises(Rejected) as caught:
        imm(_graph(17, TWO_STARS), k, epsilon, constraints=constraints)
    assert caught.value.code == code
