"""Compiled inner loops (numba, cached on disk): RR-set sampling, greedy coverage, simulation.

Python cannot flip the ~10 million coins IMM needs on NetHEPT within the C++ reference's time,
so these loops are compiled with ``numba.njit(cache=True)``: the first call in a fresh checkout
compiles (seconds), later processes load the machine code from ``__pycache__``.

Random numbers come from splitmix64 on a one-element uint64 state array that the caller owns,
so a run is reproducible from its seed and independent streams never share state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
State = npt.NDArray[np.uint64]


def _jit(fn: F) -> F:
    """Compile in nopython mode and cache the machine code beside the module."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


MASK64 = 0xFFFFFFFFFFFFFFFF


def new_state(seed: int, stream: int = 0) -> State:
    """A fresh random stream; seed and stream tag are hashed so nearby seeds start far apart."""
    z = (seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return np.array([z ^ (z >> 31)], dtype=np.uint64)


@_jit
def _rand(state: State) -> float:
    """Uniform float in [0, 1) from splitmix64."""
    s = state[0] + np.uint64(0x9E3779B97F4A7C15)
    state[0] = s
    z = (s ^ (s >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@_jit
def _grow_int32(buf: Int32s, used: int, need: int) -> Int32s:
    """Return `buf` or a copy at least `need` long (doubling), keeping the first `used` items."""
    if need <= buf.shape[0]:
        return buf
    size = max(need, 2 * buf.shape[0])
    out = np.empty(size, dtype=np.int32)
    out[:used] = buf[:used]
    return out


@_jit
def _grow_int64(buf: Int64s, used: int, need: int) -> Int64s:
    """Like _grow_int32 for the offsets array."""
    if need <= buf.shape[0]:
        return buf
    size = max(need, 2 * buf.shape[0])
    out = np.empty(size, dtype=np.int64)
    out[:used] = buf[:used]
    return out


@_jit
def sample_rr_ic(
    in_ptr: Int64s,
    in_src: Int32s,
    in_prob: Floats,
    in_uniform: Floats,
    in_log_q: Floats,
    n: int,
    count: int,
    state: State,
    nodes: Int32s,
    ptr: Int64s,
    num_sets: int,
    stamp: Int64s,
) -> tuple[Int32s, Int64s, int]:
    """Append `count` reverse-reachable sets under independent cascade.

    A set is the nodes that reach a uniform random root over edges kept with their probability.
    The set's own slice of `nodes` doubles as the BFS queue. When all in-edges of a node share
    one probability p (weighted cascade), live edges are found by geometric jumps: one random
    number per live edge rather than one per edge (`in_log_q` holds log(1 - p)).
    """
    total = ptr[num_sets]
    ptr = _grow_int64(ptr, num_sets + 1, num_sets + count + 1)
    for _ in range(count):
        nodes = _grow_int32(nodes, total, total + n)
        set_id = num_sets
        root = int(_rand(state) * n)
        if root >= n:
            root = n - 1
        start = total
        nodes[total] = root
        total += 1
        stamp[root] = set_id
        head = start
        while head < total:
            v = nodes[head]
            head += 1
            lo = in_ptr[v]
            hi = in_ptr[v + 1]
            p = in_uniform[v]
            if p >= 1.0:
                for j in range(lo, hi):
                    u = in_src[j]
                    if stamp[u] != set_id:
                        stamp[u] = set_id
                        nodes[total] = u
                        total += 1
            elif p > 0.0:
                log_q = in_log_q[v]
                j = lo - 1
                while True:
                    j += 1 + int(np.log(1.0 - _rand(state)) / log_q)
                    if j >= hi:
                        break
                    u = in_src[j]
                    if stamp[u] != set_id:
                        stamp[u] = set_id
                        nodes[total] = u
                        total += 1
            elif p < 0.0:
                for j in range(lo, hi):
                    u = in_src[j]
                    if stamp[u] != set_id and _rand(state) < in_prob[j]:
                        stamp[u] = set_id
                        nodes[total] = u
                        total += 1
        num_sets += 1
        ptr[num_sets] = total
    return nodes, ptr, num_sets


@_jit
def sample_rr_lt(
    in_ptr: Int64s,
    in_src: Int32s,
    in_cum: Floats,
    n: int,
    count: int,
    state: State,
    nodes: Int32s,
    ptr: Int64s,
    num_sets: int,
    stamp: Int64s,
) -> tuple[Int32s, Int64s, int]:
    """Append `count` reverse-reachable sets under linear threshold.

    In LT's live-edge form each node keeps at most one in-edge, chosen with its weight, so a
    set is a reverse random walk from the root that stops on no edge or on a revisited node.
    """
    total = ptr[num_sets]
    ptr = _grow_int64(ptr, num_sets + 1, num_sets + count + 1)
    for _ in range(count):
        nodes = _grow_int32(nodes, total, total + n)
        set_id = num_sets
        v = int(_rand(state) * n)
        if v >= n:
            v = n - 1
        nodes[total] = v
        total += 1
        stamp[v] = set_id
        while True:
            lo = in_ptr[v]
            hi = in_ptr[v + 1]
            if lo == hi:
                break
            r = _rand(state)
            if r >= in_cum[hi - 1]:
                break
            # First in-edge whose cumulative weight exceeds r (binary search).
            a = lo
            b = hi - 1
            while a < b:
                mid = (a + b) >> 1
                if in_cum[mid] > r:
                    b = mid
                else:
                    a = mid + 1
            u = in_src[a]
            if stamp[u] == set_id:
                break
            stamp[u] = set_id
            nodes[total] = u
            total += 1
            v = u
        num_sets += 1
        ptr[num_sets] = total
    return nodes, ptr, num_sets


@_jit
def greedy_cover(
    nodes: Int32s,
    ptr: Int64s,
    num_sets: int,
    n: int,
    k: int,
    forced: Int32s,
    allowed: Bools,
    costs: Floats,
    budget: float,
    by_ratio: bool,
) -> tuple[Int32s, int]:
    """Greedy maximum coverage of the first `num_sets` RR sets.

    Forced nodes are taken first; then, while fewer than k seeds are chosen, the allowed node
    with the largest number of still-uncovered sets (or, with `by_ratio`, the largest number per
    unit cost) whose cost fits the remaining budget. Counts are kept exact by decrementing
    every member of a set when it becomes covered, so the whole run is linear in the sets' size.
    Returns the seeds in pick order and how many sets they cover.
    """
    total = ptr[num_sets]
    degree = np.zeros(n, dtype=np.int64)
    for i in range(total):
        degree[nodes[i]] += 1
    inv_ptr = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        inv_ptr[v + 1] = inv_ptr[v] + degree[v]
    fill = inv_ptr[:-1].copy()
    inv = np.empty(total, dtype=np.int32)
    for s in range(num_sets):
        for i in range(ptr[s], ptr[s + 1]):
            v = nodes[i]
            inv[fill[v]] = s
            fill[v] += 1
    covered = np.zeros(num_sets, dtype=np.bool_)
    chosen = np.zeros(n, dtype=np.bool_)
    seeds = np.empty(k, dtype=np.int32)
    picked = 0
    covered_count = 0
    spent = 0.0
    while picked < k:
        best = -1
        if picked < forced.shape[0]:
            best = forced[picked]
        else:
            best_score = -1.0
            remaining = budget - spent
            for v in range(n):
                if chosen[v] or not allowed[v] or costs[v] > remaining:
                    continue
                score = float(degree[v])
                if by_ratio:
                    score = score / costs[v]
                if score > best_score:
                    best_score = score
                    best = v
            if best < 0:
                break
        chosen[best] = True
        spent += costs[best]
        seeds[picked] = best
        picked += 1
        for t in range(inv_ptr[best], inv_ptr[best + 1]):
            s = inv[t]
            if covered[s]:
                continue
            covered[s] = True
            covered_count += 1
            for i in range(ptr[s], ptr[s + 1]):
                degree[nodes[i]] -= 1
    return seeds[:picked], covered_count


@_jit
def simulate_ic(
    out_ptr: Int64s,
    out_dst: Int32s,
    out_prob: Floats,
    n: int,
    seeds: Int32s,
    runs: int,
    state: State,
) -> tuple[float, float]:
    """Forward independent-cascade simulations; returns the sum and sum of squares of sizes."""
    stamp = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int32)
    total = 0.0
    total_sq = 0.0
    for run in range(runs):
        tail = 0
        for s in seeds:
            if stamp[s] != run:
                stamp[s] = run
                queue[tail] = s
                tail += 1
        head = 0
        while head < tail:
            u = queue[head]
            head += 1
            for j in range(out_ptr[u], out_ptr[u + 1]):
                v = out_dst[j]
                if stamp[v] != run and _rand(state) < out_prob[j]:
                    stamp[v] = run
                    queue[tail] = v
                    tail += 1
        total += tail
        total_sq += float(tail) * float(tail)
    return total, total_sq


@_jit
def simulate_lt(
    out_ptr: Int64s,
    out_dst: Int32s,
    out_prob: Floats,
    n: int,
    seeds: Int32s,
    runs: int,
    state: State,
) -> tuple[float, float]:
    """Forward linear-threshold simulations with thresholds drawn lazily per run."""
    active = np.full(n, -1, dtype=np.int64)
    touched = np.full(n, -1, dtype=np.int64)
    threshold = np.zeros(n, dtype=np.float64)
    weight = np.zeros(n, dtype=np.float64)
    queue = np.empty(n, dtype=np.int32)
    total = 0.0
    total_sq = 0.0
    for run in range(runs):
        tail = 0
        for s in seeds:
            if active[s] != run:
                active[s] = run
                queue[tail] = s
                tail += 1
        head = 0
        while head < tail:
            u = queue[head]
            head += 1
            for j in range(out_ptr[u], out_ptr[u + 1]):
                v = out_dst[j]
                if active[v] == run:
                    continue
                if touched[v] != run:
                    touched[v] = run
                    weight[v] = 0.0
                    # 1 - U lies in (0, 1], so a node with no incoming weight never fires.
                    threshold[v] = 1.0 - _rand(state)
                weight[v] += out_prob[j]
                if weight[v] >= threshold[v]:
                    active[v] = run
                    queue[tail] = v
                    tail += 1
        total += tail
        total_sq += float(tail) * float(tail)
    return total, total_sq
