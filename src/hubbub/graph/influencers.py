"""Who matters, and why: an influencer ranking whose score shows each of its parts.

Measured on the interactions Hubbub observed, not on follower counts alone:

* **reach** — followers when the network reports them, and how many distinct authors engaged
  with the author (replied to, mentioned, reshared or quoted them);
* **resonance** — reshares, quotes and replies received per post, and the size of the
  cascades their posts caused (every stored post descending from theirs);
* **relevance** — the share of the author's posts that are in the set (a topic's posts);
  1 when ranking the whole workspace;
* **authority** — topic-sensitive PageRank (Haveliwala 2002) on the workspace's interaction
  graph, teleporting to authors in proportion to their posts in the set;
* **authenticity** — flags that scale the score down: a posting rate above what a person
  types, mostly duplicate text (same ``Post.fingerprint``), only reshares, a new account.

Each part is normalised to 0..1 against the best candidate, the parts are weighted and summed,
and the sum is multiplied by the authenticity factor. Blocked authors and the workspace's own
accounts (`hubbub.workspaces.queries.own_accounts`) are never listed.

The scoring works on arrays, one entry per node of the workspace graph (`RankingArrays`,
`rank_arrays`), so the same code ranks a small workspace and a million-author graph
(`hubbub bench graph`); `rank_influencers` only gathers those arrays from the database.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.graph import queries
from hubbub.graph.cascades import post_descendants, reference_forest
from hubbub.graph.interactions import (
    DECAY_EPOCH,
    DEFAULT_HALF_LIFE,
    KINDS,
    GraphInput,
    InteractionGraph,
    build_graph,
    load_input,
    stored_graph,
)
from hubbub.graph.pagerank import pagerank
from hubbub.graph.queries import AuthorRow
from hubbub.workspaces.queries import OwnAccounts, own_accounts

WEIGHTS: Mapping[str, float] = {
    "authority": 0.35,
    "resonance": 0.25,
    "reach": 0.20,
    "relevance": 0.20,
}
MAX_POSTS_PER_DAY = 72.0
"""Three an hour around the clock: above it, an account is probably automated."""
DUPLICATE_SHARE = 0.5
RESHARE_ONLY_MIN_POSTS = 3
NEW_ACCOUNT = timedelta(days=30)
FLAG_PENALTY = 0.2
MIN_AUTHENTICITY = 0.4
FLAGS = ("high_posting_rate", "duplicate_text", "reshare_only", "new_account")
RECEIVED = ("reshare", "quote", "reply", "mention")

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass
class Influencer:
    author_id: int
    network: str
    native_id: str
    handle: str | None
    display_name: str | None
    score: float = 0.0
    followers: int | None = None
    engaged_authors: int = 0
    posts_in_set: int = 0
    posts_total: int = 0
    received: dict[str, int] = field(default_factory=dict)
    resonance_per_post: float = 0.0
    cascade_size: int = 0
    relevance: float = 0.0
    pagerank: float = 0.0
    flags: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)
    """Each component's normalised value (0..1) and its weighted contribution."""
    authenticity: float = 1.0
    evidence: dict[str, float | None] = field(default_factory=dict)
    """What the authenticity flags are read from: posts per active day, duplicate-text and
    reshare shares of the author's posts, account age in days (None when unknown)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "author_id": self.author_id,
            "network": self.network,
            "native_id": self.native_id,
            "handle": self.handle,
            "display_name": self.display_name,
            "score": round(self.score, 4),
            "components": {
                "reach": {
                    "followers": self.followers,
                    "engaged_authors": self.engaged_authors,
                    "value": round(self.parts.get("reach", 0.0), 4),
                    "contribution": round(self.parts.get("reach_contribution", 0.0), 4),
                },
                "resonance": {
                    "received": self.received,
                    "per_post": round(self.resonance_per_post, 3),
                    "cascade_size": self.cascade_size,
                    "value": round(self.parts.get("resonance", 0.0), 4),
                    "contribution": round(self.parts.get("resonance_contribution", 0.0), 4),
                },
                "relevance": {
                    "posts_in_set": self.posts_in_set,
                    "posts_total": self.posts_total,
                    "value": round(self.parts.get("relevance", 0.0), 4),
                    "contribution": round(self.parts.get("relevance_contribution", 0.0), 4),
                },
                "authority": {
                    "pagerank": round(self.pagerank, 6),
                    "value": round(self.parts.get("authority", 0.0), 4),
                    "contribution": round(self.parts.get("authority_contribution", 0.0), 4),
                },
                "authenticity": {
                    "factor": round(self.authenticity, 2),
                    "flags": self.flags,
                    **{k: None if v is None else round(v, 3) for k, v in self.evidence.items()},
                },
            },
            "marks": self.marks,
        }


def topic_pagerank(graph: InteractionGraph, teleport: Mapping[int, float]) -> list[float]:
    """PageRank on the weighted interaction graph, teleporting to the given author ids in
    proportion to their weight (uniformly when none of them is in the graph)."""
    if not graph.nodes:
        return []
    arrays = graph_arrays(graph)
    reset = np.array([teleport.get(n.author_id, 0.0) if n.author_id is not None else 0.0
                      for n in graph.nodes])  # fmt: skip
    return [float(x) for x in pagerank(len(graph.nodes), arrays[0], arrays[1], arrays[2], reset)]


def graph_arrays(graph: InteractionGraph) -> tuple[Ints, Ints, Floats, Ints]:
    """Edge arrays of a graph: source, target, weight and counts per kind (columns as KINDS)."""
    pairs = sorted(graph.edges)
    src = np.array([u for u, _ in pairs], dtype=np.int64)
    dst = np.array([v for _, v in pairs], dtype=np.int64)
    weight = np.array([graph.edges[p].weight for p in pairs], dtype=np.float64)
    counts = np.array(
        [[graph.edges[p].counts[k] for k in KINDS] for p in pairs], dtype=np.int64
    ).reshape(len(pairs), len(KINDS))
    return src, dst, weight, counts


@dataclass
class RankingArrays:
    """What the ranking needs, one entry per node of the workspace graph (or per edge)."""

    n: int
    src: Ints
    dst: Ints
    weight: Floats
    """The whole workspace's decayed, weighted edges (authority)."""
    set_src: Ints
    set_dst: Ints
    set_counts: Ints
    """Edges among the set's posts, node indices as above, counts per kind (columns as KINDS)."""
    known: Bools
    """Node is a stored author of the workspace."""
    followers: Floats
    """NaN when the network does not say."""
    posts_in_set: Ints
    cascade: Ints
    whole: bool
    """The set is the whole workspace (relevance 1)."""
    excluded: Bools
    """Blocked or the workspace's own account: never listed."""
    account_age_days: Floats
    """NaN when unknown."""
    posts_total: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reshares: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    active_days: Floats = field(default_factory=lambda: np.zeros(0))
    fingerprinted: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    distinct_fingerprints: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Activity over the whole workspace; filled for candidates (`candidates`) only."""


def received_counts(a: RankingArrays) -> Ints:
    """Interactions each node received from the set, per kind (columns as KINDS)."""
    got = np.zeros((a.n, len(KINDS)), dtype=np.int64)
    for column in range(len(KINDS)):
        got[:, column] = np.bincount(a.set_dst, weights=a.set_counts[:, column], minlength=a.n)
    return got


def candidates(a: RankingArrays) -> Bools:
    """Stored, not blocked authors who posted in the set or received an interaction from it."""
    engaged = np.bincount(a.set_dst, minlength=a.n) > 0
    return np.asarray(((a.posts_in_set > 0) | engaged) & a.known & ~a.excluded)


@dataclass
class Ranked:
    """The ranking's arrays (one entry per node) and the order of the listed nodes."""

    order: Ints
    score: Floats
    pagerank: Floats
    engaged: Ints
    received: Ints
    resonance_per_post: Floats
    relevance: Floats
    authenticity: Floats
    flags: Bools
    parts: dict[str, Floats]
    evidence: dict[str, Floats] = field(default_factory=dict)
    """Per node, the figures the flags compare with their thresholds (see `Influencer`)."""


def flag_matrix(
    posts: Ints,
    reshares: Ints,
    active_days: Floats,
    fingerprinted: Ints,
    distinct_fingerprints: Ints,
    account_age_days: Floats,
) -> tuple[Bools, Floats]:
    """The authenticity flags of authors given as arrays (one row each, columns as `FLAGS`),
    and each one's share of duplicate text (0 where nothing of theirs has a fingerprint)."""
    flags = np.zeros((len(posts), len(FLAGS)), dtype=np.bool_)
    active = posts > 0
    flags[:, 0] = active & (posts / np.maximum(active_days, 1.0) > MAX_POSTS_PER_DAY)
    duplicates = 1.0 - np.divide(
        distinct_fingerprints,
        fingerprinted,
        out=np.ones(len(posts)),
        where=fingerprinted > 0,
    )
    flags[:, 1] = active & (fingerprinted >= 3) & (duplicates >= DUPLICATE_SHARE)
    flags[:, 2] = active & (posts >= RESHARE_ONLY_MIN_POSTS) & (reshares == posts)
    flags[:, 3] = account_age_days < NEW_ACCOUNT.total_seconds() / 86400
    return flags, duplicates


def flagged_authors(
    session: Session, workspace_id: int, author_ids: Iterable[int], as_of: datetime | None = None
) -> dict[int, list[str]]:
    """Those of ``author_ids`` that an authenticity flag marks, with their flags: the same
    rules as the ranking's, on each author's whole output in the workspace."""
    ids = sorted(set(author_ids))
    if not ids:
        return {}
    now = as_of or utcnow()
    activity = queries.author_activity(session, workspace_id, ids)
    rows = queries.authors(session, ids)
    none = queries.AuthorActivity(0, 0, now, now, 0, 0)
    acts = [activity.get(a, none) for a in ids]
    flags, _ = flag_matrix(
        np.array([act.posts for act in acts], dtype=np.int64),
        np.array([act.reshares for act in acts], dtype=np.int64),
        np.array([(act.last_at - act.first_at).total_seconds() / 86400 for act in acts]),
        np.array([act.fingerprinted for act in acts], dtype=np.int64),
        np.array([act.distinct_fingerprints for act in acts], dtype=np.int64),
        _ages([rows.get(a) for a in ids], now),
    )
    return {
        author_id: [name for name, on in zip(FLAGS, row, strict=True) if on]
        for author_id, row in zip(ids, flags, strict=True)
        if row.any()
    }


def rank_arrays(a: RankingArrays, limit: int | None = None) -> Ranked:
    """Score every candidate and order them (best first, ties by node index)."""
    reset = np.where(a.known, a.posts_in_set, 0).astype(np.float64)
    rank = pagerank(a.n, a.src, a.dst, a.weight, reset)
    engaged = np.bincount(a.set_dst, minlength=a.n).astype(np.int64)
    got = received_counts(a)
    column = {k: i for i, k in enumerate(KINDS)}
    adopted = got[:, column["reshare"]] + got[:, column["quote"]] + got[:, column["reply"]]
    per_post = adopted / np.maximum(a.posts_in_set, 1)
    total = a.posts_total
    if a.whole:
        relevance = np.ones(a.n)
    else:
        relevance = np.divide(a.posts_in_set, total, out=np.zeros(a.n), where=total > 0)
    flags, duplicates = flag_matrix(
        total,
        a.reshares,
        a.active_days,
        a.fingerprinted,
        a.distinct_fingerprints,
        a.account_age_days,
    )
    active = total > 0
    printed = a.fingerprinted
    authenticity = np.maximum(MIN_AUTHENTICITY, 1.0 - FLAG_PENALTY * flags.sum(axis=1))

    chosen = candidates(a)

    def top(values: Floats) -> float:
        best = float(values[chosen].max()) if chosen.any() else 0.0
        return best or 1.0

    known_followers = ~np.isnan(a.followers)
    log_followers = np.log1p(np.where(known_followers, a.followers, 0.0))
    log_engaged = np.log1p(engaged)
    log_resonance = np.log1p(per_post)
    log_cascade = np.log1p(a.cascade)
    engaged_part = log_engaged / top(log_engaged)
    follower_part = log_followers / top(log_followers)
    reach = np.where(known_followers, (engaged_part + follower_part) / 2, engaged_part)
    parts = {
        "reach": reach,
        "resonance": 0.5 * log_resonance / top(log_resonance)
        + 0.5 * log_cascade / top(log_cascade),
        "relevance": relevance,
        "authority": rank / top(rank),
    }
    score = np.zeros(a.n)
    for name in list(parts):
        parts[f"{name}_contribution"] = WEIGHTS[name] * parts[name]
        score += parts[f"{name}_contribution"]
    score *= authenticity
    index = np.flatnonzero(chosen)
    order = index[np.lexsort((index, -score[index]))]
    if limit is not None:
        order = order[:limit]
    evidence = {
        "posts_per_day": total / np.maximum(a.active_days, 1.0),
        "duplicate_share": np.where(printed > 0, duplicates, np.nan),
        "reshare_share": np.divide(a.reshares, total, out=np.full(a.n, np.nan), where=active),
        "account_age_days": a.account_age_days,
    }
    return Ranked(
        order, score, rank, engaged, got, per_post, relevance, authenticity, flags, parts, evidence
    )


def rank_influencers(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int] | None = None,
    *,
    topic_id: int | None = None,
    limit: int = 20,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    as_of: datetime | None = None,
) -> list[Influencer]:
    """The ranked, explained list for a workspace, a set of its posts, or a topic.

    The whole workspace and a topic are ranked from the persisted edges and SQL aggregates when
    those are up to date (`rank_stored`); any other set of posts, or a lagging graph, from the
    posts (`rank_from_posts`). ``post_ids`` is ignored when ``topic_id`` is given."""
    if post_ids is None or topic_id is not None:
        found = rank_stored(
            session, workspace_id, topic_id, limit=limit, half_life=half_life, as_of=as_of
        )
        if found is not None:
            return found
    return rank_from_posts(
        session,
        workspace_id,
        post_ids,
        topic_id=topic_id,
        limit=limit,
        half_life=half_life,
        as_of=as_of,
    )


def rank_stored(
    session: Session,
    workspace_id: int,
    topic_id: int | None = None,
    *,
    limit: int = 20,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    as_of: datetime | None = None,
) -> list[Influencer] | None:
    """`rank_influencers` of the whole workspace or a topic without reading the posts: the
    graphs are the persisted edge rows, the per-author figures are grouped SQL aggregates, and
    cascade sizes come from the resolved references only. None when the persisted graph lags
    (or was built for another half-life)."""
    now = as_of or utcnow()
    topic = topic_id or 0
    seconds = half_life.total_seconds()
    for wanted in {0, topic}:
        state = queries.graph_freshness(session, workspace_id, wanted)
        if state is None or state.half_life_seconds != seconds:
            return None
    authors = queries.workspace_authors(session, workspace_id)
    activity = queries.all_author_activity(session, workspace_id)
    in_set = (
        {a: act.posts for a, act in activity.items()}
        if topic_id is None
        else queries.posts_per_author(session, workspace_id, topic)
    )
    graph = _NodeIndex(activity)
    full = graph.edges(queries.resolved_edges(session, workspace_id, 0, KINDS))
    subset = (
        full
        if topic_id is None
        else graph.edges(queries.resolved_edges(session, workspace_id, topic, KINDS))
    )
    members = (
        None if topic_id is None else set(queries.topic_post_ids(session, workspace_id, topic))
    )
    forest = reference_forest(queries.reference_rows(session, workspace_id), members)
    caused: Counter[int] = Counter()
    for post_id, count in forest.below.items():
        caused[forest.author_of[post_id]] += count
    marks = queries.author_marks(session, workspace_id)
    n = len(graph.keys)
    author_of = graph.authors
    rows = [authors.get(a) if a is not None else None for a in author_of]
    factor = math.pow(2.0, (DECAY_EPOCH - now).total_seconds() / seconds)

    def per_author(values: Mapping[int, float], dtype: Any = np.int64) -> Any:
        return np.array([values.get(a, 0) if a is not None else 0 for a in author_of], dtype=dtype)

    arrays = RankingArrays(
        n=n,
        src=full.src,
        dst=full.dst,
        weight=full.weight * factor,
        set_src=subset.src,
        set_dst=subset.dst,
        set_counts=subset.counts,
        known=np.array([r is not None for r in rows], dtype=np.bool_),
        followers=np.array(
            [np.nan if r is None or r.followers is None else r.followers for r in rows]
        ),
        posts_in_set=per_author(in_set),
        cascade=per_author(caused),
        whole=topic_id is None,
        excluded=_excluded(author_of, rows, marks, own_accounts(session, workspace_id)),
        account_age_days=_ages(rows, now),
    )
    _fill_activity(arrays, activity, {a: i for i, a in enumerate(author_of) if a is not None})
    return _explain(arrays, author_of, rows, marks, limit)


@dataclass
class _Edges:
    src: Ints
    dst: Ints
    weight: Floats
    """Σ weight_ref per pair (multiply by the decay factor of the moment)."""
    counts: Ints


class _NodeIndex:
    """Node numbering shared by the workspace graph and a topic's: every author with a live
    post, then each edge end as it comes (an account never seen is a node without an author)."""

    def __init__(self, posting: Iterable[int]) -> None:
        self.keys: dict[tuple[int, str, str], int] = {}
        self.authors: list[int | None] = []
        for author_id in sorted(posting):
            self._node(author_id, "", "")

    def _node(self, author_id: int | None, network: str, native_id: str) -> int:
        key = (author_id, "", "") if author_id is not None else (-1, network, native_id)
        found = self.keys.get(key)
        if found is None:
            found = self.keys[key] = len(self.authors)
            self.authors.append(author_id)
        return found

    def edges(self, rows: Sequence[queries.EdgeRow]) -> _Edges:
        """Edge arrays of rows summed per ordered pair of authors (`queries.resolved_edges`)."""
        src = np.empty(len(rows), dtype=np.int64)
        dst = np.empty(len(rows), dtype=np.int64)
        for e, (source, target, network, native_id, _, _) in enumerate(rows):
            src[e] = self._node(source, "", "")
            dst[e] = self._node(target, network, native_id)
        return _Edges(
            src,
            dst,
            np.array([r[4] for r in rows], dtype=np.float64),
            np.array([r[5] for r in rows], dtype=np.int64).reshape(len(rows), len(KINDS)),
        )


def _excluded(
    author_of: Sequence[int | None],
    rows: Sequence[AuthorRow | None],
    marks: Mapping[int, list[str]],
    own: OwnAccounts,
) -> Bools:
    """Nodes never listed: blocked authors, and the workspace's own accounts (the brand is not
    its own influencer; its accounts stay in the graph, where they carry its reach)."""
    return np.array(
        [
            a is not None
            and (
                "blocked" in marks.get(a, [])
                or (r is not None and own.owns(r.network, r.native_id, r.handle))
            )
            for a, r in zip(author_of, rows, strict=True)
        ],
        dtype=np.bool_,
    )


def _ages(rows: Sequence[AuthorRow | None], now: datetime) -> Floats:
    return np.array(
        [
            np.nan
            if r is None or r.account_created_at is None
            else (now - r.account_created_at).total_seconds() / 86400
            for r in rows
        ]
    )


def _fill_activity(
    arrays: RankingArrays, activity: Mapping[int, queries.AuthorActivity], node_of: dict[int, int]
) -> None:
    """The whole-workspace activity figures of the listed candidates."""
    n = arrays.n
    arrays.posts_total = np.zeros(n, dtype=np.int64)
    arrays.reshares = np.zeros(n, dtype=np.int64)
    arrays.active_days = np.zeros(n)
    arrays.fingerprinted = np.zeros(n, dtype=np.int64)
    arrays.distinct_fingerprints = np.zeros(n, dtype=np.int64)
    chosen = candidates(arrays)
    for author_id, act in activity.items():
        i = node_of.get(author_id)
        if i is None or not chosen[i]:
            continue
        arrays.posts_total[i] = act.posts
        arrays.reshares[i] = act.reshares
        arrays.active_days[i] = (act.last_at - act.first_at).total_seconds() / 86400
        arrays.fingerprinted[i] = act.fingerprinted
        arrays.distinct_fingerprints[i] = act.distinct_fingerprints


def _explain(
    arrays: RankingArrays,
    author_of: Sequence[int | None],
    rows: Sequence[AuthorRow | None],
    marks: Mapping[int, list[str]],
    limit: int,
) -> list[Influencer]:
    """Score the arrays and turn the first ``limit`` into explained rows (ties by author id)."""
    ranked = rank_arrays(arrays)
    order = sorted(ranked.order.tolist(), key=lambda i: (-ranked.score[i], author_of[i]))
    column = {k: i for i, k in enumerate(KINDS)}
    people: list[Influencer] = []
    for i in order[:limit]:
        author_id = author_of[i]
        row = rows[i]
        assert author_id is not None and row is not None  # candidates are stored authors
        person = Influencer(
            author_id=author_id,
            network=row.network,
            native_id=row.native_id,
            handle=row.handle,
            display_name=row.display_name,
            score=float(ranked.score[i]),
            followers=row.followers,
            engaged_authors=int(ranked.engaged[i]),
            posts_in_set=int(arrays.posts_in_set[i]),
            posts_total=int(arrays.posts_total[i]),
            received={k: int(ranked.received[i, column[k]]) for k in RECEIVED},
            resonance_per_post=float(ranked.resonance_per_post[i]),
            cascade_size=int(arrays.cascade[i]),
            relevance=float(ranked.relevance[i]),
            pagerank=float(ranked.pagerank[i]),
            flags=[f for j, f in enumerate(FLAGS) if ranked.flags[i, j]],
            marks=list(marks.get(author_id, [])),
            parts={name: float(values[i]) for name, values in ranked.parts.items()},
            authenticity=float(ranked.authenticity[i]),
            evidence={
                name: None if np.isnan(values[i]) else float(values[i])
                for name, values in ranked.evidence.items()
            },
        )
        people.append(person)
    return people


def rank_from_posts(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int] | None = None,
    *,
    topic_id: int | None = None,
    limit: int = 20,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    as_of: datetime | None = None,
) -> list[Influencer]:
    """The ranking read off the posts (every post of the workspace goes through Python): for
    arbitrary post sets and while the persisted graph lags."""
    now = as_of or utcnow()
    if topic_id is not None:
        post_ids = queries.topic_post_ids(session, workspace_id, topic_id)
    whole = load_input(session, workspace_id)
    relevant_ids = None if post_ids is None else set(post_ids)
    subset = whole if relevant_ids is None else _restrict(whole, relevant_ids)
    full_graph = stored_graph(session, workspace_id, half_life=half_life, as_of=now) or build_graph(
        whole, half_life=half_life, as_of=now
    )
    if relevant_ids is None:
        set_graph = full_graph
    else:
        found = (
            stored_graph(session, workspace_id, topic_id, half_life=half_life, as_of=now)
            if topic_id is not None
            else None
        )
        set_graph = found or build_graph(subset, half_life=half_life, as_of=now)

    n = len(full_graph.nodes)
    src, dst, weight, _ = graph_arrays(full_graph)
    set_src, set_dst, _, set_counts = graph_arrays(set_graph)
    to_full = np.array([full_graph.index[node.key] for node in set_graph.nodes], dtype=np.int64)
    if len(to_full):
        set_src, set_dst = to_full[set_src], to_full[set_dst]
    author_of = [node.author_id for node in full_graph.nodes]
    node_of = {a: i for i, a in enumerate(author_of) if a is not None}
    rows = [whole.authors.get(a) if a is not None else None for a in author_of]
    in_set = Counter(p.author_id for p in subset.posts)
    descendants = post_descendants(subset.posts)
    caused: Counter[int] = Counter()
    for p in subset.posts:
        caused[p.author_id] += descendants[p.id]
    marks = queries.author_marks(session, workspace_id)

    def per_author(values: Mapping[int, float], dtype: Any = np.int64) -> Any:
        return np.array([values.get(a, 0) if a is not None else 0 for a in author_of], dtype=dtype)

    arrays = RankingArrays(
        n=n,
        src=src,
        dst=dst,
        weight=weight,
        set_src=set_src,
        set_dst=set_dst,
        set_counts=set_counts,
        known=np.array([r is not None for r in rows], dtype=np.bool_),
        followers=np.array(
            [np.nan if r is None or r.followers is None else r.followers for r in rows]
        ),
        posts_in_set=per_author(in_set),
        cascade=per_author(caused),
        whole=relevant_ids is None,
        excluded=_excluded(author_of, rows, marks, own_accounts(session, workspace_id)),
        account_age_days=_ages(rows, now),
    )
    chosen = [author_of[i] for i in np.flatnonzero(candidates(arrays))]
    activity = queries.author_activity(session, workspace_id, [a for a in chosen if a is not None])
    _fill_activity(arrays, activity, node_of)
    return _explain(arrays, author_of, rows, marks, limit)


def _restrict(whole: GraphInput, post_ids: set[int]) -> GraphInput:
    posts = [p for p in whole.posts if p.id in post_ids]
    return GraphInput(
        posts,
        {k: v for k, v in whole.targets.items() if k in post_ids},
        {k: v for k, v in whole.unknown_mentions.items() if k in post_ids},
        whole.authors,
    )
