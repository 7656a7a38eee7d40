"""Baseline seed lists the IMM choice is compared with: most out-edges and highest PageRank."""

from __future__ import annotations

from collections.abc import Iterable

import igraph
import numpy as np
import numpy.typing as npt

from hubbub.graph.seeding.reader import Graph


def _top(scores: npt.NDArray[np.float64], k: int, exclude: Iterable[int]) -> list[int]:
    """The k best nodes by score, ties to the lower id, skipping excluded ones."""
    ranked = np.lexsort((np.arange(scores.size), -scores))
    banned = set(exclude)
    return [int(v) for v in ranked if int(v) not in banned][:k]


def top_k_by_out_degree(graph: Graph, k: int, exclude: Iterable[int] = ()) -> list[int]:
    """The k nodes with most out-edges: the "most followers" list marketers start from."""
    return _top(graph.out_degree.astype(np.float64), k, exclude)


def pagerank_scores(graph: Graph, damping: float = 0.85) -> npt.NDArray[np.float64]:
    """PageRank on the reversed graph weighted by edge probability.

    Influence flows along u -> v, so a node ranks high when it can activate nodes that can
    themselves activate many: the reverse of the link-endorsement reading of PageRank.
    """
    edges = np.column_stack((graph.dst, graph.src)).tolist()
    g = igraph.Graph(n=graph.n, edges=edges, directed=True)
    weights = graph.prob.tolist() if graph.m else None
    return np.asarray(g.pagerank(weights=weights, damping=damping), dtype=np.float64)


def top_k_by_pagerank(graph: Graph, k: int, exclude: Iterable[int] = ()) -> list[int]:
    """The k nodes with the highest influence-direction PageRank."""
    return _top(pagerank_scores(graph), k, exclude)
