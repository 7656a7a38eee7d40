"""What other features may import from seeding: reader, IMM, Monte Carlo spread, baselines."""

from hubbub.graph.seeding.baselines import top_k_by_out_degree, top_k_by_pagerank
from hubbub.graph.seeding.imm import IMMResult, SeedConstraints, imm, rr_spread_estimate
from hubbub.graph.seeding.reader import Graph, Model, load_graph_folder, read_costs
from hubbub.graph.seeding.spread import SpreadEstimate, monte_carlo_spread

__all__ = [
    "Graph",
    "IMMResult",
    "Model",
    "SeedConstraints",
    "SpreadEstimate",
    "imm",
    "load_graph_folder",
    "monte_carlo_spread",
    "read_costs",
    "rr_spread_estimate",
    "top_k_by_out_degree",
    "top_k_by_pagerank",
]
