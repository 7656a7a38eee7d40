"""Monte Carlo spread: forward simulation, independent of the RR sets IMM chose seeds from."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hubbub.core.errors import Rejected
from hubbub.graph.seeding import kernels
from hubbub.graph.seeding.reader import Graph, Model

MC_STREAM = 7


@dataclass(frozen=True, slots=True)
class SpreadEstimate:
    """Mean active nodes (seeds included) over `runs` cascades, with its standard error."""

    mean: float
    stderr: float
    runs: int


def monte_carlo_spread(
    graph: Graph, seeds: Sequence[int], runs: int = 10_000, seed: int = 0
) -> SpreadEstimate:
    """Expected spread of `seeds` by simulating the cascade `runs` times under the graph's model."""
    if runs < 1:
        raise Rejected("bad_runs", f"runs must be >= 1, got {runs}")
    ids = np.array(list(dict.fromkeys(int(s) for s in seeds)), dtype=np.int32)
    if ids.size and (ids.min() < 0 or ids.max() >= graph.n):
        raise Rejected("node_out_of_range", f"seeds must be in 0..{graph.n - 1}")
    if not ids.size:
        return SpreadEstimate(0.0, 0.0, runs)
    simulate = kernels.simulate_ic if graph.model is Model.IC else kernels.simulate_lt
    total, total_sq = simulate(
        graph.out_ptr, graph.out_dst, graph.out_prob, graph.n, ids, runs,
        kernels.new_state(seed, stream=MC_STREAM),
    )  # fmt: skip
    mean = total / runs
    variance = max(total_sq / runs - mean * mean, 0.0)
    stderr = math.sqrt(variance / (runs - 1)) if runs > 1 else 0.0
    return SpreadEstimate(mean, stderr, runs)
