"""Weighted, personalised PageRank by power iteration, compiled with numba.

igraph's PRPACK solver needs an igraph graph, and building one from ten million edges in Python
costs more than the ranking itself; this works straight on the edge arrays the ranking holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

DAMPING = 0.85
TOLERANCE = 1e-10
"""L1 change between iterations at which the iteration stops."""


def _jit(fn: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


@_jit
def _step(
    src: Ints,
    dst: Ints,
    share: Floats,
    rank: Floats,
    dangling: npt.NDArray[np.bool_],
    teleport: Floats,
    damping: float,
    out: Floats,
) -> float:
    """One iteration into ``out``; returns the L1 change."""
    leak = 0.0
    for i in range(rank.shape[0]):
        if dangling[i]:
            leak += rank[i]
    jump = 1.0 - damping + damping * leak
    for i in range(out.shape[0]):
        out[i] = jump * teleport[i]
    for e in range(src.shape[0]):
        out[dst[e]] += damping * share[e] * rank[src[e]]
    change = 0.0
    for i in range(out.shape[0]):
        change += abs(out[i] - rank[i])
    return change


def pagerank(
    n: int,
    src: Ints,
    dst: Ints,
    weight: Floats | None = None,
    reset: Floats | None = None,
    *,
    damping: float = DAMPING,
    tolerance: float = TOLERANCE,
    max_iterations: int = 1_000,
) -> Floats:
    """PageRank of the ``n`` nodes of the weighted edges ``src → dst``.

    Same definition as igraph's ``personalized_pagerank``: the walker follows an out-edge with
    probability ``damping`` (in proportion to its weight) or jumps by the reset distribution
    (uniform when none is given); from a node without out-edges it always jumps."""
    if n == 0:
        return np.zeros(0)
    src = np.ascontiguousarray(src, dtype=np.int64)
    dst = np.ascontiguousarray(dst, dtype=np.int64)
    w = np.ones(len(src)) if weight is None else np.ascontiguousarray(weight, dtype=np.float64)
    out = np.bincount(src, weights=w, minlength=n)
    share = w / out[src] if len(src) else w
    if reset is None or not np.any(np.asarray(reset) > 0):
        teleport = np.full(n, 1.0 / n)
    else:
        teleport = np.asarray(reset, dtype=np.float64) / float(np.sum(reset))
    dangling = out == 0
    rank = teleport.copy()
    nxt = np.empty(n)
    for _ in range(max_iterations):
        change = _step(src, dst, share, rank, dangling, teleport, damping, nxt)
        rank, nxt = nxt, rank
        if change < tolerance:
            break
    return np.asarray(rank / rank.sum(), dtype=np.float64)
