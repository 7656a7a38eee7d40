"""``hubbub bench graph``: build, PageRank, Leiden and the influencer ranking on a generated
power-law interaction graph, with igraph's PageRank beside ours on the same graph.

The graph is Chung-Lu-like: both ends of each interaction are drawn independently from
power-law weights (out-degree exponent 2.2, in-degree 2.1, in-weights shuffled against
out-weights), each interaction gets a kind and an age, and the build step sums them per ordered
pair into decayed weights and per-kind counts, as the persisted graph does. The ranking runs
`influencers.rank_arrays`, the code `rank_influencers` runs after reading the database, on
per-author figures drawn at random (followers, posts, cascades, activity, account age).
"""

from __future__ import annotations

import os
import platform
import random
import resource
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from hubbub.graph.influencers import RankingArrays, candidates, rank_arrays
from hubbub.graph.interactions import DEFAULT_HALF_LIFE, DEFAULT_WEIGHTS, KINDS
from hubbub.graph.pagerank import DAMPING, pagerank

T = TypeVar("T")
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

OUT_EXPONENT = 2.2
IN_EXPONENT = 2.1
KIND_SHARES = (0.35, 0.30, 0.25, 0.10)
"""reply, mention, reshare, quote (order of KINDS)."""
OVERSAMPLE = 1.3
"""Interactions drawn per wanted edge: repeats of a pair merge into one edge."""
MEAN_AGE_DAYS = 20.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(figures: dict[str, Any], name: str, fn: Callable[[], T]) -> T:
    started = time.perf_counter()
    cpu = time.process_time()
    value = fn()
    figures[name] = {
        "seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    return value


def _power_law(rng: np.random.Generator, n: int, size: int, exponent: float) -> Ints:
    """Node ranks 0..n-1 drawn with P(i) ∝ (i + 1)^(−1/(exponent − 1)) (inverse CDF of the
    continuous law, so degrees follow a power law with that exponent)."""
    alpha = 1.0 / (exponent - 1.0)
    top = (n + 1.0) ** (1.0 - alpha) - 1.0
    x = (1.0 + rng.random(size) * top) ** (1.0 / (1.0 - alpha))
    return np.asarray(np.minimum(x.astype(np.int64) - 1, n - 1), dtype=np.int64)


def generate_interactions(nodes: int, edges: int, seed: int) -> tuple[Ints, Ints, Ints, Floats]:
    """Raw interactions: source, target, kind (index in KINDS) and age in days."""
    rng = np.random.default_rng(seed)
    draw = int(edges * OVERSAMPLE) + 16
    src = _power_law(rng, nodes, draw, OUT_EXPONENT)
    dst = rng.permutation(nodes)[_power_law(rng, nodes, draw, IN_EXPONENT)]
    kind = rng.choice(len(KINDS), size=draw, p=KIND_SHARES).astype(np.int64)
    age = rng.exponential(MEAN_AGE_DAYS, size=draw)
    return src, dst, kind, age


def build_edges(
    nodes: int, edges: int, src: Ints, dst: Ints, kind: Ints, age: Floats, seed: int
) -> tuple[Ints, Ints, Floats, Ints]:
    """Sum interactions per ordered pair (self-interactions dropped): decayed, kind-weighted
    weight and counts per kind; a random ``edges`` of the pairs are kept when there are more."""
    keep = src != dst
    key = src[keep] * nodes + dst[keep]
    pairs, inverse = np.unique(key, return_inverse=True)
    kind, age = kind[keep], age[keep]
    if len(pairs) > edges:
        chosen = np.zeros(len(pairs), dtype=np.bool_)
        chosen[np.random.default_rng(seed + 1).choice(len(pairs), edges, replace=False)] = True
        renumber = np.cumsum(chosen) - 1
        alive = chosen[inverse]
        pairs, inverse = pairs[chosen], renumber[inverse[alive]]
        kind, age = kind[alive], age[alive]
    kind_weight = np.array([DEFAULT_WEIGHTS[k] for k in KINDS])
    gain = kind_weight[kind] * np.exp2(-age / DEFAULT_HALF_LIFE.days)
    weight = np.bincount(inverse, weights=gain, minlength=len(pairs))
    counts = np.bincount(inverse * len(KINDS) + kind, minlength=len(pairs) * len(KINDS))
    return (
        np.asarray(pairs // nodes, dtype=np.int64),
        np.asarray(pairs % nodes, dtype=np.int64),
        np.asarray(weight, dtype=np.float64),
        np.asarray(counts.reshape(len(pairs), len(KINDS)), dtype=np.int64),
    )


def ranking_arrays(
    nodes: int, src: Ints, dst: Ints, weight: Floats, counts: Ints, seed: int
) -> RankingArrays:
    """The whole-workspace ranking input with per-author figures drawn at random."""
    rng = np.random.default_rng(seed + 2)
    out_degree = np.bincount(src, minlength=nodes)
    in_degree = np.bincount(dst, minlength=nodes)
    posts = rng.poisson(1.0 + out_degree / 2.0).astype(np.int64)
    followers = np.floor(rng.lognormal(4.0, 2.0, nodes) * (1 + in_degree))
    followers[rng.random(nodes) < 0.2] = np.nan  # networks that do not say
    age = rng.uniform(0, 3_000, nodes)
    age[rng.random(nodes) < 0.1] = np.nan
    return RankingArrays(
        n=nodes,
        src=src,
        dst=dst,
        weight=weight,
        set_src=src,
        set_dst=dst,
        set_counts=counts,
        known=rng.random(nodes) >= 0.02,  # accounts only ever mentioned
        followers=followers,
        posts_in_set=posts,
        cascade=rng.poisson(in_degree.astype(np.float64)).astype(np.int64),
        whole=True,
        excluded=rng.random(nodes) < 0.001,
        account_age_days=age,
        posts_total=posts,
        reshares=rng.binomial(posts, 0.3).astype(np.int64),
        active_days=rng.uniform(0, 60, nodes),
        fingerprinted=posts,
        distinct_fingerprints=rng.binomial(posts, 0.8).astype(np.int64),
    )


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_graph_bench(
    nodes: int,
    edges: int,
    *,
    seed: int = 0,
    leiden_iterations: int = 2,
    top: int = 100,
) -> dict[str, Any]:
    """Every figure of ``hubbub bench graph`` as one dict (seconds are wall time)."""
    import igraph

    figures: dict[str, Any] = {
        "nodes": nodes,
        "edges_requested": edges,
        "seed": seed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "igraph": igraph.__version__,
            "numpy": np.__version__,
            "load_before": _load(),
        },
    }
    steps: dict[str, Any] = {}
    raw = _timed(steps, "generate", lambda: generate_interactions(nodes, edges, seed))
    src, dst, weight, counts = _timed(
        steps, "build", partial(build_edges, nodes, edges, *raw, seed=seed)
    )
    del raw  # the raw interactions are not needed any more
    figures["edges"] = len(src)
    figures["interactions"] = int(counts.sum())
    arrays = ranking_arrays(nodes, src, dst, weight, counts, seed)
    reset = np.where(arrays.known, arrays.posts_in_set, 0).astype(np.float64)

    # Ours: the numba power iteration; compiled (or loaded from numba's cache) on a tiny graph
    # first so the timing is the iteration alone.
    _timed(steps, "pagerank_jit_warmup", lambda: pagerank(2, np.array([0]), np.array([1])))
    ours = _timed(steps, "pagerank_ours", lambda: pagerank(nodes, src, dst, weight, reset))

    # igraph: PRPACK on an igraph graph built from the same arrays.
    def to_igraph() -> igraph.Graph:
        graph = igraph.Graph(n=nodes, directed=True)
        graph.add_edges(np.column_stack((src, dst)))
        graph.es["weight"] = weight
        return graph

    graph = _timed(steps, "igraph_build", to_igraph)
    theirs = np.array(
        _timed(
            steps,
            "pagerank_igraph",
            partial(graph.personalized_pagerank, weights="weight", damping=DAMPING, reset=reset),
        )
    )
    top_ours = np.argsort(-ours, kind="stable")[:top]
    top_theirs = np.argsort(-theirs, kind="stable")[:top]
    figures["pagerank"] = {
        "sum": float(ours.sum()),
        "max_abs_diff_vs_igraph": float(np.abs(ours - theirs).max()),
        "l1_diff_vs_igraph": float(np.abs(ours - theirs).sum()),
        f"top{top}_overlap_with_igraph": len(set(top_ours.tolist()) & set(top_theirs.tolist())),
        "ours_vs_igraph_speedup": round(
            steps["pagerank_igraph"]["seconds"] / max(steps["pagerank_ours"]["seconds"], 1e-9), 2
        ),
    }

    def leiden(graph: igraph.Graph) -> Any:
        undirected = graph.as_undirected(mode="collapse", combine_edges={"weight": "sum"})
        igraph.set_random_number_generator(random.Random(seed))
        try:
            return undirected.community_leiden(
                objective_function="modularity",
                weights="weight",
                resolution=1.0,
                n_iterations=leiden_iterations,
            )
        finally:
            igraph.set_random_number_generator(random)

    clusters = _timed(steps, "leiden", partial(leiden, graph))
    sizes = sorted((len(c) for c in clusters), reverse=True)
    figures["leiden"] = {
        "iterations": leiden_iterations,
        "communities": len(sizes),
        "largest": sizes[:5],
        "modularity": round(float(clusters.modularity), 4),
    }
    del graph, clusters

    tracemalloc.start()
    ranked = _timed(steps, "ranking_refresh", lambda: rank_arrays(arrays, limit=top))
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    steps["ranking_refresh"]["tracemalloc_peak_mb"] = round(traced_peak / 2**20, 1)
    figures["ranking"] = {
        "candidates": int(candidates(arrays).sum()),
        "top": [
            {"node": int(i), "score": round(float(ranked.score[i]), 4)} for i in ranked.order[:5]
        ],
        "pagerank_same_as_above": bool(np.allclose(ranked.pagerank, ours, rtol=0, atol=1e-12)),
    }
    figures["steps"] = steps
    full = steps["build"]["seconds"] + steps["ranking_refresh"]["seconds"]
    figures["full_refresh_seconds"] = round(full, 3)
    figures["full_refresh_with_leiden_seconds"] = round(full + steps["leiden"]["seconds"], 3)
    figures["full_refresh_cpu_seconds"] = round(
        steps["build"]["cpu_seconds"] + steps["ranking_refresh"]["cpu_seconds"], 3
    )
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    figures["machine"]["load_after"] = _load()
    return figures
