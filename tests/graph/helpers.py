"""Edge types and exact spreads by enumerating live-edge worlds, for checking the estimators."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

Edge = tuple[int, int, float]
FolderMaker = Callable[..., Path]


def _reach(n: int, live: Sequence[tuple[int, int]], seeds: Sequence[int]) -> int:
    """Nodes reachable from the seeds over the live edges."""
    out: dict[int, list[int]] = {}
    for u, v in live:
        out.setdefault(u, []).append(v)
    seen = set(seeds)
    stack = list(seen)
    while stack:
        for v in out.get(stack.pop(), []):
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return len(seen)


def exact_ic_spread(n: int, edges: Sequence[Edge], seeds: Sequence[int]) -> float:
    """Expected IC spread by summing over all 2^m live-edge worlds."""
    total = 0.0
    for mask in range(1 << len(edges)):
        weight = 1.0
        live = []
        for i, (u, v, p) in enumerate(edges):
            if mask >> i & 1:
                weight *= p
                live.append((u, v))
            else:
                weight *= 1 - p
        if weight:
            total += weight * _reach(n, live, seeds)
    return total


def exact_lt_spread(n: int, edges: Sequence[Edge], seeds: Sequence[int]) -> float:
    """Expected LT spread over live-edge worlds: each node keeps one in-edge (or none)."""
    choices: list[list[tuple[tuple[int, int] | None, float]]] = []
    for v in range(n):
        incoming = [((u, w), p) for u, w, p in edges if w == v]
        rest = 1.0 - sum(p for _, p in incoming)
        choices.append([*incoming, (None, rest)])
    total = 0.0
    for world in itertools.product(*choices):
        weight = 1.0
        for _, p in world:
            weight *= p
        if weight > 0:
            total += weight * _reach(n, [e for e, _ in world if e is not None], seeds)
    return total
