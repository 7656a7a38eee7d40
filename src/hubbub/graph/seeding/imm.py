"""IMM influence maximisation (Tang, Shi and Xiao, SIGMOD 2015) with seeding constraints.

IMM samples reverse-reachable (RR) sets until a martingale bound says the greedy cover of them is
a (1 - 1/e - epsilon)-approximation with probability 1 - 1/n^ell. Phase one doubles a guess x
of OPT downwards until the greedy cover certifies a lower bound LB; phase two samples
theta = lambda* / LB sets and runs the greedy once more (Algorithms 1-3 of the paper).

Constraints: excluded nodes are never picked (they still relay influence); forced nodes are
taken first and count toward k; with per-node costs and a budget the greedy is run twice —
by coverage and by coverage per unit cost, both within the budget — and the better cover wins
(the cost-effective lazy-forward rule of Leskovec et al., KDD 2007, which keeps a
(1 - 1/e)/2 guarantee where the ratio rule alone has none).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hubbub.core.errors import Rejected
from hubbub.graph.seeding import kernels
from hubbub.graph.seeding.reader import Graph, Model


@dataclass(frozen=True, slots=True)
class SeedConstraints:
    """Who may, who must, and what seeding costs; ids are the node ids of the files."""

    exclude: tuple[int, ...] = ()
    force: tuple[int, ...] = ()
    costs: npt.NDArray[np.float64] | None = None
    budget: float | None = None


@dataclass(frozen=True, slots=True)
class IMMResult:
    """Chosen seeds with IMM's own coverage estimate and the sampling figures behind it."""

    seeds: list[int]
    estimated_spread: float
    rr_sets: int
    rr_entries: int
    rr_bytes: int
    lower_bound: float
    theta: int
    phase1_sets: int
    seconds: float
    cpu_seconds: float
    total_cost: float
    greedy_rule: str
    params: dict[str, float] = field(default_factory=dict)


class _RRCollection:
    """A growing flat store of RR sets (CSR: members, offsets) with its own random stream."""

    def __init__(self, graph: Graph, state: kernels.State) -> None:
        self.graph = graph
        self.state = state
        self.nodes = np.empty(max(1024, 8 * graph.n), dtype=np.int32)
        self.ptr = np.zeros(1024, dtype=np.int64)
        self.count = 0
        self.stamp = np.full(graph.n, -1, dtype=np.int64)

    def extend_to(self, target: int) -> None:
        """Sample until at least `target` sets are held."""
        need = target - self.count
        if need <= 0:
            return
        g = self.graph
        if g.model is Model.IC:
            self.nodes, self.ptr, self.count = kernels.sample_rr_ic(
                g.in_ptr, g.in_src, g.in_prob, g.in_uniform, g.in_log_q, g.n, need, self.state,
                self.nodes, self.ptr, self.count, self.stamp,
            )  # fmt: skip
        else:
            self.nodes, self.ptr, self.count = kernels.sample_rr_lt(
                g.in_ptr, g.in_src, g.in_cum, g.n, need, self.state,
                self.nodes, self.ptr, self.count, self.stamp,
            )  # fmt: skip

    @property
    def entries(self) -> int:
        """Total members over all sets."""
        return int(self.ptr[self.count])

    @property
    def nbytes(self) -> int:
        """Bytes the store holds now, plus the greedy's inverted index (same size as members)."""
        return int(self.nodes.nbytes + self.ptr.nbytes + self.stamp.nbytes + 4 * self.entries)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Constraints turned into the arrays the greedy kernel reads."""

    k: int
    forced: npt.NDArray[np.int32]
    allowed: npt.NDArray[np.bool_]
    costs: npt.NDArray[np.float64]
    budget: float
    cost_aware: bool


def _plan(graph: Graph, k: int, constraints: SeedConstraints) -> _Plan:
    """Check constraints against the graph and each other; Rejected names the conflict."""
    n = graph.n
    for what, ids in (("exclude", constraints.exclude), ("force", constraints.force)):
        for node in ids:
            if not 0 <= node < n:
                raise Rejected("node_out_of_range", f"{what}: node {node} not in 0..{n - 1}")
    both = sorted(set(constraints.exclude) & set(constraints.force))
    if both:
        raise Rejected("conflicting_constraints", f"nodes both forced and excluded: {both[:10]}")
    forced = np.array(list(dict.fromkeys(constraints.force)), dtype=np.int32)
    if forced.size > k:
        raise Rejected("too_many_forced", f"{forced.size} forced nodes exceed k={k}")
    allowed = np.ones(n, dtype=np.bool_)
    allowed[np.array(constraints.exclude, dtype=np.int64)] = False
    costs = np.ones(n, dtype=np.float64)
    budget = math.inf
    cost_aware = False
    if constraints.costs is not None or constraints.budget is not None:
        if constraints.budget is None:
            raise Rejected("missing_field", "costs were given without a budget")
        budget = float(constraints.budget)
        if not (math.isfinite(budget) and budget > 0):
            raise Rejected("bad_budget", f"budget must be finite and > 0, got {budget}")
        if constraints.costs is not None:
            costs = np.ascontiguousarray(constraints.costs, dtype=np.float64)
            if costs.shape != (n,):
                raise Rejected("bad_cost", f"costs must hold one value per node ({n})")
            if not bool(np.all(np.isfinite(costs) & (costs > 0))):
                raise Rejected("bad_cost", "costs must be finite and > 0")
        forced_cost = float(costs[forced].sum())
        if forced_cost > budget:
            raise Rejected(
                "over_budget", f"forced nodes cost {forced_cost:g}, over the budget {budget:g}"
            )
        cost_aware = True
    return _Plan(k, forced, allowed, costs, budget, cost_aware)


def _select(rr: _RRCollection, plan: _Plan) -> tuple[npt.NDArray[np.int32], int, str]:
    """Greedy cover under the plan: plain, or the better of plain and per-cost when costed."""
    n = rr.graph.n
    seeds, covered = kernels.greedy_cover(
        rr.nodes, rr.ptr, rr.count, n, plan.k, plan.forced, plan.allowed,
        plan.costs, plan.budget, False,
    )  # fmt: skip
    rule = "coverage"
    if plan.cost_aware:
        by_cost, by_cost_covered = kernels.greedy_cover(
            rr.nodes, rr.ptr, rr.count, n, plan.k, plan.forced, plan.allowed,
            plan.costs, plan.budget, True,
        )  # fmt: skip
        rule = "coverage (per-cost cover was smaller)"
        if by_cost_covered > covered:
            seeds, covered, rule = by_cost, by_cost_covered, "coverage per cost"
    return seeds, int(covered), rule


def _log_binom(n: int, k: int) -> float:
    """log C(n, k) without overflow."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def imm(
    graph: Graph,
    k: int,
    epsilon: float = 0.1,
    *,
    ell: float = 1.0,
    seed: int = 0,
    constraints: SeedConstraints | None = None,
    fresh_final: bool = False,
) -> IMMResult:
    """Choose up to k seeds maximising expected spread under the graph's model.

    `fresh_final` samples phase two's sets anew instead of extending phase one's: Chen (2018,
    arXiv:1808.09363) showed reuse breaks the independence the martingale proof assumes; the
    authors' code and paper reuse them, which is the default here for comparable timings.
    """
    n = graph.n
    if not 1 <= k <= n:
        raise Rejected("bad_k", f"k must be in 1..{n}, got {k}")
    if not 0 < epsilon < 1:
        raise Rejected("bad_epsilon", f"epsilon must be in (0, 1), got {epsilon}")
    if ell <= 0:
        raise Rejected("bad_ell", f"ell must be > 0, got {ell}")
    plan = _plan(graph, k, constraints or SeedConstraints())
    started = time.perf_counter()
    started_cpu = time.process_time()

    log_n = math.log(max(n, 2))
    # The paper's adjustment: union of the two phases' failure events still gives 1 - 1/n^ell.
    ell_adj = ell * (1.0 + math.log(2) / log_n)
    log_cnk = _log_binom(n, k)
    eps_prime = math.sqrt(2) * epsilon
    lambda_prime = (
        (2 + 2 / 3 * eps_prime)
        * (log_cnk + ell_adj * log_n + math.log(max(math.log2(max(n, 2)), 1.0)))
        * n
        / eps_prime**2
    )
    rr = _RRCollection(graph, kernels.new_state(seed, stream=1))
    lower_bound = 1.0
    last: tuple[int, tuple[npt.NDArray[np.int32], int, str]] | None = None
    for i in range(1, max(int(math.log2(max(n, 2))), 1)):
        x = n / 2.0**i
        theta_i = math.ceil(lambda_prime / x)
        rr.extend_to(theta_i)
        last = (rr.count, _select(rr, plan))
        estimate = n * last[1][1] / rr.count
        if estimate >= (1 + eps_prime) * x:
            lower_bound = estimate / (1 + eps_prime)
            break
    phase1_sets = rr.count
    alpha = math.sqrt(ell_adj * log_n + math.log(2))
    beta = math.sqrt((1 - 1 / math.e) * (log_cnk + ell_adj * log_n + math.log(2)))
    lambda_star = 2 * n * ((1 - 1 / math.e) * alpha + beta) ** 2 / epsilon**2
    theta = math.ceil(lambda_star / lower_bound)
    if fresh_final:
        rr = _RRCollection(graph, kernels.new_state(seed, stream=2))
    rr.extend_to(theta)
    # Phase one often ends with more sets than theta; its last cover is then the answer.
    if last is not None and last[0] == rr.count and not fresh_final:
        seeds, covered, rule = last[1]
    else:
        seeds, covered, rule = _select(rr, plan)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu
    return IMMResult(
        seeds=[int(s) for s in seeds],
        estimated_spread=n * covered / rr.count,
        rr_sets=rr.count,
        rr_entries=rr.entries,
        rr_bytes=rr.nbytes,
        lower_bound=lower_bound,
        theta=theta,
        phase1_sets=phase1_sets,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        total_cost=float(plan.costs[seeds].sum()),
        greedy_rule=rule,
        params={
            "epsilon": epsilon,
            "ell": ell,
            "ell_adjusted": ell_adj,
            "lambda_prime": lambda_prime,
            "lambda_star": lambda_star,
        },
    )


def rr_spread_estimate(graph: Graph, seeds: list[int], sets: int, seed: int = 0) -> float:
    """Spread of a fixed seed list as n times the share of fresh RR sets it touches.

    Unbiased for any fixed set (the identity IMM rests on), so it checks the samplers against
    exact or simulated spreads.
    """
    if sets < 1:
        raise Rejected("bad_runs", f"sets must be >= 1, got {sets}")
    rr = _RRCollection(graph, kernels.new_state(seed, stream=3))
    rr.extend_to(sets)
    member = np.zeros(graph.n, dtype=np.bool_)
    member[np.asarray(seeds, dtype=np.int64)] = True
    set_of_entry = np.repeat(np.arange(rr.count), np.diff(rr.ptr[: rr.count + 1]))
    touched = np.unique(set_of_entry[member[rr.nodes[: rr.entries]]])
    return graph.n * touched.size / rr.count
