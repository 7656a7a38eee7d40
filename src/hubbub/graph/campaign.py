"""Seeding a campaign on a workspace: IMM on the diffusion graph read off the interactions.

Influence runs against attention: when A reshares, quotes or replies to B, B's message
reached A, so the diffusion edge is B → A. Edge probabilities are either the *weighted
cascade* default, p(B → A) = 1 / (number of accounts A pays attention to), or *learned* from
the observed reshares (Goyal, Bonchi and Lakshmanan, WSDM 2010, Bernoulli estimate): the share
of B's posts in the set that A reshared, quoted or replied to. Under LT the weights into A are
A's attention shares (decayed interaction weights, normalised to sum to one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.graph import queries
from hubbub.graph.influencers import flagged_authors
from hubbub.graph.interactions import (
    DEFAULT_HALF_LIFE,
    InteractionGraph,
    build_graph,
    load_input,
    stored_graph,
)
from hubbub.graph.seeding.api import (
    Graph,
    Model,
    SeedConstraints,
    imm,
    monte_carlo_spread,
    top_k_by_pagerank,
)
from hubbub.graph.seeding.reader import build_graph as index_graph
from hubbub.workspaces.queries import own_accounts

EXCLUDED_MARKS = ("blocked", "competitor")
ADOPTION_KINDS = ("reshare", "quote", "reply")
LISTED_FLAGGED = 100  # excluded flagged authors named in a plan (all are counted)


class Probabilities(StrEnum):
    weighted_cascade = "wc"
    learned = "learned"


def diffusion_graph(
    interactions: InteractionGraph,
    posts_per_author: dict[int, int],
    model: Model,
    probabilities: Probabilities,
) -> Graph:
    """Reverse the attention edges and give each one its probability (IC) or weight (LT)."""
    n = len(interactions.nodes)
    attention_out = np.zeros(n)
    attention_weight = np.zeros(n)
    for (u, _), edge in interactions.edges.items():
        attention_out[u] += 1
        attention_weight[u] += edge.weight
    src: list[int] = []
    dst: list[int] = []
    prob: list[float] = []
    for (u, v), edge in sorted(interactions.edges.items()):
        if model is Model.LT:
            p = edge.weight / attention_weight[u] if attention_weight[u] > 0 else 0.0
        elif probabilities is Probabilities.weighted_cascade:
            p = 1.0 / attention_out[u]
        else:
            author = interactions.nodes[v].author_id
            posts = posts_per_author.get(author, 0) if author is not None else 0
            adopted = sum(edge.counts[k] for k in ADOPTION_KINDS)
            p = min(1.0, adopted / posts) if posts else 0.0
        if p > 0:
            src.append(v)
            dst.append(u)
            prob.append(min(p, 1.0))
    return index_graph(max(n, 1), src, dst, prob, model, origin="workspace interaction graph")


def plan_campaign(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int] | None = None,
    *,
    topic_id: int | None = None,
    k: int = 20,
    model: Model = Model.IC,
    epsilon: float = 0.1,
    probabilities: Probabilities = Probabilities.weighted_cascade,
    force: Sequence[int] = (),
    exclude: Sequence[int] = (),
    costs: Mapping[int, float] | None = None,
    budget: float | None = None,
    mc_runs: int = 10_000,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    seed: int = 0,
    include_flagged: bool = False,
) -> dict[str, Any]:
    """Seed authors chosen by IMM, their Monte Carlo reach, and the follower and PageRank
    lists' reach for comparison. Authors marked blocked or competitor are never seeded; nor
    are the workspace's own accounts (they stay in the graph and relay), nor accounts only
    ever mentioned (no stored author to contact). Nor, unless
    ``include_flagged`` or forced, are authors with an authenticity flag (the influencer
    ranking's: a bot's posting rate, mostly duplicate text, only reshares, a new account): a
    campaign asks its seeds to speak for the brand. With a ``budget``, the
    seeds' total cost stays within it (``costs`` per author id; an author not listed costs 1)
    and so do the comparison lists, taken in their order while they fit.

    The whole workspace and a topic (``topic_id``, which replaces ``post_ids``) use the
    persisted edges and a grouped count of posts when the graph is up to date; any other set
    of posts, or a lagging graph, is read from the posts."""
    interactions = (
        stored_graph(session, workspace_id, topic_id or 0, half_life=half_life)
        if post_ids is None or topic_id is not None
        else None
    )
    if interactions is not None:
        posts_per_author = queries.posts_per_author(session, workspace_id, topic_id or 0)
    else:
        if topic_id is not None:
            post_ids = queries.topic_post_ids(session, workspace_id, topic_id)
        data = load_input(session, workspace_id, post_ids)
        interactions = build_graph(data, half_life=half_life)
        posts_per_author = dict(Counter(p.author_id for p in data.posts))
    if not interactions.edges:
        raise Rejected("empty_graph", "no interactions between authors in these posts")
    graph = diffusion_graph(interactions, posts_per_author, model, probabilities)
    node_of = {n.author_id: i for i, n in enumerate(interactions.nodes) if n.author_id is not None}
    marks = queries.author_marks(session, workspace_id)
    own = own_accounts(session, workspace_id)
    ours = {i for i, n in enumerate(interactions.nodes) if own.owns(n.key[0], n.key[1], n.handle)}
    excluded_ids = set(exclude)
    banned = ours | {
        i
        for i, n in enumerate(interactions.nodes)
        if n.author_id is None
        or n.author_id in excluded_ids
        or any(m in EXCLUDED_MARKS for m in marks.get(n.author_id, []))
    }
    forced = []
    for author_id in force:
        if author_id not in node_of:
            raise Rejected("unknown_author", f"author {author_id} is not in the graph")
        if node_of[author_id] in ours:
            label = interactions.nodes[node_of[author_id]].label
            raise Rejected(
                "own_account",
                f"{label} is one of this workspace's own accounts: it cannot seed its campaign",
            )
        forced.append(node_of[author_id])
    flagged: dict[int, list[str]] = {}
    if not include_flagged:
        open_ids = [n.author_id for i, n in enumerate(interactions.nodes) if i not in banned]
        flagged = flagged_authors(
            session, workspace_id, (a for a in open_ids if a is not None and a not in force)
        )
        banned.update(node_of[a] for a in flagged)
    eligible = graph.n - len(banned)
    k = min(k, eligible)
    if k < 1:
        raise Rejected("bad_k", "no author may be seeded")
    if costs is not None and budget is None:
        raise Rejected("missing_field", "costs were given without a budget")
    cost = np.ones(graph.n, dtype=np.float64)
    for author_id, value in (costs or {}).items():
        if author_id not in node_of:
            raise Rejected("unknown_author", f"author {author_id} is not in the graph")
        cost[node_of[author_id]] = value
    result = imm(
        graph,
        k,
        epsilon,
        seed=seed,
        constraints=SeedConstraints(
            exclude=tuple(sorted(banned)),
            force=tuple(forced),
            costs=cost if budget is not None else None,
            budget=budget,
        ),
    )

    def affordable(order: Iterable[int]) -> list[int]:
        """The first k of ``order`` that are not banned and, in turn, fit the budget."""
        chosen: list[int] = []
        spent = 0.0
        for node in order:
            if len(chosen) == k:
                break
            if node in banned or (budget is not None and spent + cost[node] > budget):
                continue
            chosen.append(node)
            spent += float(cost[node])
        return chosen

    followers = np.array(
        [n.followers if n.followers is not None else -1 for n in interactions.nodes],
        dtype=np.float64,
    )
    order = np.lexsort((np.arange(len(followers)), -followers))
    by_followers = affordable(int(i) for i in order)
    by_pagerank = (
        top_k_by_pagerank(graph, k, exclude=banned)
        if budget is None
        else affordable(top_k_by_pagerank(graph, graph.n, exclude=banned))
    )

    def described(seeds: list[int]) -> dict[str, Any]:
        spread = monte_carlo_spread(graph, seeds, mc_runs, seed=seed) if mc_runs else None
        return {
            "seeds": [
                {
                    "author_id": interactions.nodes[i].author_id,
                    "handle": interactions.nodes[i].handle,
                    "native_id": interactions.nodes[i].key[1],
                    "followers": interactions.nodes[i].followers,
                    "cost": float(cost[i]),
                }
                for i in seeds
            ],
            "total_cost": round(float(cost[seeds].sum()), 6) if seeds else 0.0,
            "expected_reach": round(spread.mean, 3) if spread else None,
            "stderr": round(spread.stderr, 3) if spread else None,
        }

    return {
        "model": model.value,
        "probabilities": "lt_attention_share" if model is Model.LT else probabilities.value,
        "k": k,
        "epsilon": epsilon,
        "nodes": graph.n,
        "edges": graph.m,
        "monte_carlo_runs": mc_runs,
        "imm": {**described(result.seeds), "estimated_spread": round(result.estimated_spread, 3)},
        "top_by_followers": described(by_followers),
        "top_by_pagerank": described(by_pagerank),
        "excluded": len(banned),
        "excluded_flagged_count": len(flagged),
        "excluded_flagged": [
            {
                "author_id": author_id,
                "handle": interactions.nodes[node_of[author_id]].handle,
                "flags": flags,
            }
            for author_id, flags in sorted(flagged.items())[:LISTED_FLAGGED]
        ],
        "budget": budget,
    }
