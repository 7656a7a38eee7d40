"""The seeding benchmark: IMM against the authors' C++ figures and against naive seed lists."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from hubbub.graph.seeding.baselines import top_k_by_out_degree, top_k_by_pagerank
from hubbub.graph.seeding.imm import IMMResult, imm
from hubbub.graph.seeding.reader import Graph, Model, load_graph_folder
from hubbub.graph.seeding.spread import monte_carlo_spread

# IMM authors' C++ on NetHEPT (k=50, epsilon=0.1, one core), as quoted in issue 5.
REFERENCE = {
    Model.IC: {"spread": 966.0, "seconds": 0.71},
    Model.LT: {"spread": 1316.0, "seconds": 0.47},
}
NETHEPT_SHAPE = (15229, 62752)
SPREAD_TARGET = 0.99
TIME_TARGET = 2.0


def _rss_kib(field: str) -> int | None:
    """VmHWM / VmRSS from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark so the next peak is IMM's own (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _is_nethept(folder: Path, graph: Graph, k: int, epsilon: float) -> bool:
    """The reference figures only apply to NetHEPT with k=50 and epsilon=0.1."""
    return (
        folder.name == "nethept"
        and (graph.n, graph.m) == NETHEPT_SHAPE
        and k == 50
        and abs(epsilon - 0.1) < 1e-12
    )


def _imm_figures(result: IMMResult) -> dict[str, Any]:
    """The part of an IMM result worth printing."""
    return {
        "seeds": result.seeds,
        "estimated_spread": round(result.estimated_spread, 3),
        "rr_sets": result.rr_sets,
        "rr_entries": result.rr_entries,
        "phase1_sets": result.phase1_sets,
        "theta": result.theta,
        "lower_bound": round(result.lower_bound, 3),
    }


def run_seeding_bench(
    folder: str | Path,
    model: Model | str,
    k: int = 50,
    epsilon: float = 0.1,
    *,
    seed: int = 0,
    mc_runs: int = 10_000,
    warm_repeats: int = 3,
) -> dict[str, Any]:
    """Time IMM cold then warm, check all seed lists by Monte Carlo, and judge the targets."""
    root = Path(folder)
    started = time.perf_counter()
    graph = load_graph_folder(root, model)
    read_seconds = time.perf_counter() - started
    rss_before = _rss_kib("VmRSS")

    cold = imm(graph, k, epsilon, seed=seed)
    warm_times: list[float] = []
    warm_cpu: list[float] = []
    peak_reset = _reset_peak_rss()
    for _ in range(max(warm_repeats, 1)):
        again = imm(graph, k, epsilon, seed=seed)
        warm_times.append(again.seconds)
        warm_cpu.append(again.cpu_seconds)
    imm_peak = _rss_kib("VmHWM") if peak_reset else None
    warm = statistics.median(warm_times)

    started = time.perf_counter()
    ours = monte_carlo_spread(graph, cold.seeds, mc_runs, seed=seed)
    mc_seconds = time.perf_counter() - started
    by_degree = top_k_by_out_degree(graph, k)
    by_pagerank = top_k_by_pagerank(graph, k)
    degree_spread = monte_carlo_spread(graph, by_degree, mc_runs, seed=seed)
    pagerank_spread = monte_carlo_spread(graph, by_pagerank, mc_runs, seed=seed)

    reference: dict[str, Any] | None = None
    if _is_nethept(root, graph, k, epsilon):
        ref = REFERENCE[graph.model]
        reference = {
            "source": "IMM authors' C++ code (Tang, Shi, Xiao 2015), figures quoted in issue 5",
            "spread": ref["spread"],
            "seconds": ref["seconds"],
            "spread_ratio": round(ours.mean / ref["spread"], 4),
            "spread_pass": ours.mean >= SPREAD_TARGET * ref["spread"],
            "time_ratio_warm": round(warm / ref["seconds"], 3),
            "time_pass_warm": warm <= TIME_TARGET * ref["seconds"],
            "time_ratio_cold": round(cold.seconds / ref["seconds"], 3),
            "time_pass_cold": cold.seconds <= TIME_TARGET * ref["seconds"],
            "targets": f"spread >= {SPREAD_TARGET:.0%} of reference, time <= {TIME_TARGET:g}x",
        }
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "benchmark": "seeding",
        "graph": str(root),
        "model": graph.model.value,
        "n": graph.n,
        "m": graph.m,
        "k": k,
        "epsilon": epsilon,
        "seed": seed,
        "read_seconds": round(read_seconds, 4),
        "imm": {
            **_imm_figures(cold),
            "cold_seconds": round(cold.seconds, 4),
            "warm_seconds": round(warm, 4),
            "warm_runs_seconds": [round(t, 4) for t in warm_times],
            "cold_cpu_seconds": round(cold.cpu_seconds, 4),
            "warm_cpu_seconds": round(statistics.median(warm_cpu), 4),
        },
        "memory": {
            "rr_store_mb": round(cold.rr_bytes / 2**20, 2),
            "imm_peak_rss_mb": round(imm_peak / 1024, 1) if imm_peak is not None else None,
            "rss_before_imm_mb": round(rss_before / 1024, 1) if rss_before is not None else None,
            "process_peak_rss_mb": round(peak_kib / 1024, 1),
        },
        "monte_carlo": {
            "runs": mc_runs,
            "seconds_per_seed_set": round(mc_seconds, 3),
            "imm": {"spread": round(ours.mean, 2), "stderr": round(ours.stderr, 2)},
            "top_k_out_degree": {
                "spread": round(degree_spread.mean, 2),
                "stderr": round(degree_spread.stderr, 2),
                "seeds": by_degree,
            },
            "top_k_pagerank": {
                "spread": round(pagerank_spread.mean, 2),
                "stderr": round(pagerank_spread.stderr, 2),
                "seeds": by_pagerank,
            },
        },
        "reference": reference,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "note": (
                "one thread; times exclude reading the files (read_seconds); cold = first call "
                "in this process (loads numba's on-disk cache, or compiles when it is empty); "
                "cpu = process CPU time, steadier than wall time on a shared machine"
            ),
        },
    }
