"""The interaction graph of a workspace: who replies to, mentions, reshares and quotes whom.

An edge A → B means A paid attention to B (A replied to, mentioned, reshared or quoted B), so
authority flows along edges. Each interaction weighs by its kind and decays with age: a
reshare a half-life old counts half. A reply or reshare whose target post is not stored has
no known author and adds no edge; a mention of an account never seen adds a node without
an author row. Self-interactions (threads, self-reshares) are left out.

The graph is read from the persisted edges (``interaction_edges``, kept up to date by the
``graph`` pipeline job, see ``actions.update_interaction_edges``) when they cover every stored
post; otherwise, and for arbitrary post sets, it is built from the posts.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.graph import queries
from hubbub.graph.queries import AuthorRow, PostRow

if TYPE_CHECKING:
    import igraph

KINDS = ("reply", "mention", "reshare", "quote")
DEFAULT_WEIGHTS: Mapping[str, float] = {"reply": 1.0, "mention": 0.5, "reshare": 1.0, "quote": 1.5}
"""A quote is a reshare with the quoter's own words added; a mention may be incidental."""
DEFAULT_HALF_LIFE = timedelta(days=14)
DECAY_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
"""Reference time of the persisted weights: an interaction at t is stored as
w × 2^((t − epoch) / half-life), exact to read at any time (float64 holds ±39 years of 14-day
half-lives around it)."""

NodeKey = tuple[str, str]
"""(network, native author id)."""


@dataclass
class Node:
    key: NodeKey
    author_id: int | None = None
    handle: str | None = None
    display_name: str | None = None
    followers: int | None = None

    @property
    def label(self) -> str:
        return self.handle or self.key[1]


@dataclass
class Edge:
    """All interactions of one author with another, summed."""

    weight: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, kind: str, weight: float, when: datetime) -> None:
        self.weight += weight
        self.counts[kind] += 1
        self.first_at = when if self.first_at is None else min(self.first_at, when)
        self.last_at = when if self.last_at is None else max(self.last_at, when)


@dataclass
class InteractionGraph:
    nodes: list[Node]
    index: dict[NodeKey, int]
    edges: dict[tuple[int, int], Edge]
    as_of: datetime
    half_life: timedelta

    def to_igraph(self) -> igraph.Graph:
        """A directed igraph with `name`, `label`, `author_id` and edge `weight` attributes."""
        import igraph

        pairs = sorted(self.edges)
        graph = igraph.Graph(n=len(self.nodes), edges=pairs, directed=True)
        graph.vs["name"] = [f"{n.key[0]}:{n.key[1]}" for n in self.nodes]
        graph.vs["label"] = [n.label for n in self.nodes]
        graph.vs["author_id"] = [n.author_id if n.author_id is not None else -1 for n in self.nodes]
        graph.vs["followers"] = [n.followers if n.followers is not None else -1 for n in self.nodes]
        graph.es["weight"] = [self.edges[p].weight for p in pairs]
        for kind in KINDS:
            graph.es[kind] = [self.edges[p].counts[kind] for p in pairs]
        return graph

    def write_graphml(self, path: Path) -> None:
        self.to_igraph().write_graphml(str(path))

    def write_csv(self, path: Path) -> None:
        """One row per edge: both ends (network, native id, handle), weight and counts."""
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["source", "source_handle", "target", "target_handle", "network", "weight",
                 *KINDS, "first_at", "last_at"]
            )  # fmt: skip
            for (u, v), edge in sorted(self.edges.items()):
                a, b = self.nodes[u], self.nodes[v]
                writer.writerow(
                    [a.key[1], a.handle or "", b.key[1], b.handle or "", a.key[0],
                     f"{edge.weight:.6g}", *(edge.counts[k] for k in KINDS),
                     _iso(edge.first_at), _iso(edge.last_at)]
                )  # fmt: skip


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when else ""


def decay(age: timedelta, half_life: timedelta) -> float:
    """Share of its weight an interaction `age` old keeps (1 for future-dated ones)."""
    seconds = max(age.total_seconds(), 0.0)
    return math.pow(0.5, seconds / half_life.total_seconds())


@dataclass
class GraphInput:
    """Posts and the authors they reach, as read once for graph, ranking and communities."""

    posts: list[PostRow]
    targets: dict[int, list[tuple[str, int]]]
    """post id → [(kind, target author id)] for replies, reshares, quotes, known mentions."""
    unknown_mentions: dict[int, list[NodeKey]]
    authors: dict[int, AuthorRow]


def load_input(
    session: Session, workspace_id: int, post_ids: Iterable[int] | None = None
) -> GraphInput:
    """Read the posts (all, or the given ids) and resolve who each one interacts with."""
    posts = queries.workspace_posts(session, workspace_id, post_ids)
    post_refs = {
        (p.network, ref)
        for p in posts
        for ref in (p.reply_to, p.reshare_of, p.quote_of)
        if ref is not None
    }
    post_author = queries.post_authors(session, workspace_id, post_refs)
    mention_refs = {(p.network, m) for p in posts for m in p.mentions}
    mention_author = queries.authors_by_native_id(session, workspace_id, mention_refs)
    targets: dict[int, list[tuple[str, int]]] = {}
    unknown: dict[int, list[NodeKey]] = {}
    for p in posts:
        found: list[tuple[str, int]] = []
        for kind, ref in (("reply", p.reply_to), ("reshare", p.reshare_of), ("quote", p.quote_of)):
            if ref is not None and (p.network, ref) in post_author:
                found.append((kind, post_author[(p.network, ref)]))
        for mention in dict.fromkeys(p.mentions):
            author_id = mention_author.get((p.network, mention))
            if author_id is not None:
                found.append(("mention", author_id))
            else:
                unknown.setdefault(p.id, []).append((p.network, mention))
        if found:
            targets[p.id] = found
    ids = {p.author_id for p in posts} | {a for f in targets.values() for _, a in f}
    return GraphInput(posts, targets, unknown, queries.authors(session, ids))


def build_graph(
    data: GraphInput,
    *,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    as_of: datetime | None = None,
) -> InteractionGraph:
    """Sum decayed, kind-weighted interactions per ordered pair of authors."""
    now = as_of or utcnow()
    graph = InteractionGraph([], {}, {}, now, half_life)

    def node(key: NodeKey, author: AuthorRow | None) -> int:
        i = graph.index.get(key)
        if i is None:
            i = graph.index[key] = len(graph.nodes)
            graph.nodes.append(
                Node(key)
                if author is None
                else Node(key, author.id, author.handle, author.display_name, author.followers)
            )
        return i

    for p in data.posts:
        author = data.authors[p.author_id]
        source = node((author.network, author.native_id), author)
        hits: list[tuple[str, int]] = []
        for kind, target_id in data.targets.get(p.id, []):
            target = data.authors[target_id]
            hits.append((kind, node((target.network, target.native_id), target)))
        for key in data.unknown_mentions.get(p.id, []):
            hits.append(("mention", node(key, None)))
        factor = decay(now - p.created_at, half_life)
        for kind, target_index in hits:
            if target_index != source:
                edge = graph.edges.setdefault((source, target_index), Edge())
                edge.add(kind, weights[kind] * factor, p.created_at)
    return graph


def stored_graph(
    session: Session,
    workspace_id: int,
    topic_id: int = 0,
    *,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    as_of: datetime | None = None,
) -> InteractionGraph | None:
    """The graph from the persisted edges of the workspace (topic 0) or a topic; None when they
    are not up to date or were built for another half-life or other kind weights."""
    if dict(weights) != dict(DEFAULT_WEIGHTS):
        return None
    state = queries.graph_freshness(session, workspace_id, topic_id)
    if state is None or state.half_life_seconds != half_life.total_seconds():
        return None
    now = as_of or utcnow()
    factor = math.pow(2.0, (DECAY_EPOCH - now).total_seconds() / half_life.total_seconds())
    rows = queries.stored_edges(session, workspace_id, topic_id)
    posting = queries.posting_authors(session, workspace_id, state.last_post_id, topic_id)
    known = queries.authors_by_native_id(
        session, workspace_id, {(r.target_network, r.target_native_id) for r in rows}
    )
    authors = queries.authors(
        session, posting | {r.source_author_id for r in rows} | set(known.values())
    )
    keyed: dict[NodeKey, AuthorRow | None] = {(a.network, a.native_id): a for a in authors.values()}
    for r in rows:
        keyed.setdefault((r.target_network, r.target_native_id), None)
    graph = InteractionGraph([], {}, {}, now, half_life)
    for key in sorted(keyed):
        author = keyed[key]
        graph.index[key] = len(graph.nodes)
        graph.nodes.append(
            Node(key)
            if author is None
            else Node(key, author.id, author.handle, author.display_name, author.followers)
        )
    for r in rows:
        source = authors[r.source_author_id]
        pair = (graph.index[(source.network, source.native_id)],
                graph.index[(r.target_network, r.target_native_id)])  # fmt: skip
        edge = graph.edges.setdefault(pair, Edge())
        edge.weight += r.weight_ref * factor
        edge.counts[r.kind] += r.count
        edge.first_at = r.first_at if edge.first_at is None else min(edge.first_at, r.first_at)
        edge.last_at = r.last_at if edge.last_at is None else max(edge.last_at, r.last_at)
    return graph


def interaction_graph(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int] | None = None,
    *,
    topic_id: int | None = None,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    as_of: datetime | None = None,
) -> InteractionGraph:
    """The workspace's interaction graph, a topic's, or the one of the given posts.

    The whole workspace and a topic come from the persisted edges when those are up to date
    (`stored_graph`); otherwise, and for any other set of posts, the graph is built from the
    posts. ``post_ids`` is ignored when ``topic_id`` is given."""
    if post_ids is None or topic_id is not None:
        found = stored_graph(
            session, workspace_id, topic_id or 0, half_life=half_life, weights=weights, as_of=as_of
        )
        if found is not None:
            return found
    if topic_id is not None:
        post_ids = queries.topic_post_ids(session, workspace_id, topic_id)
    data = load_input(session, workspace_id, post_ids)
    return build_graph(data, half_life=half_life, weights=weights, as_of=as_of)


def summary(graph: InteractionGraph) -> dict[str, Any]:
    return {
        "nodes": len(graph.nodes),
        "edges": len(graph.edges),
        "interactions": {k: sum(e.counts[k] for e in graph.edges.values()) for k in KINDS},
        "as_of": graph.as_of.isoformat(),
        "half_life_days": graph.half_life.total_seconds() / 86400,
    }
