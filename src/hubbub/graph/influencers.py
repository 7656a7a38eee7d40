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
and the sum is multiplied by the authenticity factor. Blocked authors are never listed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.graph import queries
from hubbub.graph.cascades import post_descendants
from hubbub.graph.interactions import (
    DEFAULT_HALF_LIFE,
    GraphInput,
    InteractionGraph,
    build_graph,
    load_input,
)

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
DAMPING = 0.85


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
                "authenticity": {"factor": round(self.authenticity, 2), "flags": self.flags},
            },
            "marks": self.marks,
        }


def topic_pagerank(graph: InteractionGraph, teleport: Mapping[int, float]) -> list[float]:
    """PageRank on the weighted interaction graph, teleporting to the given author ids in
    proportion to their weight (uniformly when none of them is in the graph)."""
    if not graph.nodes:
        return []
    ig = graph.to_igraph()
    reset = [0.0] * len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        if node.author_id is not None:
            reset[i] = teleport.get(node.author_id, 0.0)
    weights = "weight" if graph.edges else None
    if sum(reset) <= 0:
        return list(ig.pagerank(weights=weights, damping=DAMPING))
    return list(ig.personalized_pagerank(weights=weights, damping=DAMPING, reset=reset))


def rank_influencers(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int] | None = None,
    *,
    limit: int = 20,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    as_of: datetime | None = None,
) -> list[Influencer]:
    """The ranked, explained list for a workspace or a set of its posts (a topic)."""
    now = as_of or utcnow()
    whole = load_input(session, workspace_id)
    if post_ids is None:
        subset = whole
        relevant_ids = None
    else:
        relevant_ids = set(post_ids)
        subset = _restrict(whole, relevant_ids)
    set_graph = build_graph(subset, half_life=half_life, as_of=now)
    full_graph = (
        set_graph if post_ids is None else build_graph(whole, half_life=half_life, as_of=now)
    )

    in_set = Counter(p.author_id for p in subset.posts)
    received: dict[int, Counter[str]] = {}
    engaged: dict[int, set[int]] = {}
    for (u, v), edge in set_graph.edges.items():
        target = set_graph.nodes[v].author_id
        if target is None:
            continue
        received.setdefault(target, Counter()).update(edge.counts)
        engaged.setdefault(target, set()).add(u)
    descendants = post_descendants(subset.posts)
    caused: Counter[int] = Counter()
    for p in subset.posts:
        caused[p.author_id] += descendants[p.id]

    candidates = (set(in_set) | set(received)) & set(whole.authors)
    marks = queries.author_marks(session, workspace_id)
    candidates = {a for a in candidates if "blocked" not in marks.get(a, [])}
    activity = queries.author_activity(session, workspace_id, candidates)
    pagerank = topic_pagerank(full_graph, {a: float(n) for a, n in in_set.items()})
    rank_of = {
        node.author_id: pagerank[i]
        for i, node in enumerate(full_graph.nodes)
        if node.author_id is not None
    }

    people: list[Influencer] = []
    for author_id in candidates:
        row = whole.authors[author_id]
        got = received.get(author_id, Counter())
        posts_in_set = in_set.get(author_id, 0)
        act = activity.get(author_id)
        total = act.posts if act else 0
        person = Influencer(
            author_id=author_id,
            network=row.network,
            native_id=row.native_id,
            handle=row.handle,
            display_name=row.display_name,
            followers=row.followers,
            engaged_authors=len(engaged.get(author_id, ())),
            posts_in_set=posts_in_set,
            posts_total=total,
            received={k: int(got.get(k, 0)) for k in ("reshare", "quote", "reply", "mention")},
            resonance_per_post=(got["reshare"] + got["quote"] + got["reply"])
            / max(posts_in_set, 1),
            cascade_size=caused.get(author_id, 0),
            relevance=1.0 if relevant_ids is None else posts_in_set / total if total else 0.0,
            pagerank=rank_of.get(author_id, 0.0),
            flags=_flags(act, row.account_created_at, now),
            marks=marks.get(author_id, []),
        )
        person.authenticity = max(MIN_AUTHENTICITY, 1.0 - FLAG_PENALTY * len(person.flags))
        people.append(person)
    _score(people)
    people.sort(key=lambda p: (-p.score, p.author_id))
    return people[:limit]


def _restrict(whole: GraphInput, post_ids: set[int]) -> GraphInput:
    posts = [p for p in whole.posts if p.id in post_ids]
    return GraphInput(
        posts,
        {k: v for k, v in whole.targets.items() if k in post_ids},
        {k: v for k, v in whole.unknown_mentions.items() if k in post_ids},
        whole.authors,
    )


def _flags(
    act: queries.AuthorActivity | None, created: datetime | None, now: datetime
) -> list[str]:
    flags: list[str] = []
    if act is not None and act.posts:
        days = max((act.last_at - act.first_at).total_seconds() / 86400, 1.0)
        if act.posts / days > MAX_POSTS_PER_DAY:
            flags.append("high_posting_rate")
        if act.fingerprinted >= 3:
            duplicates = 1 - act.distinct_fingerprints / act.fingerprinted
            if duplicates >= DUPLICATE_SHARE:
                flags.append("duplicate_text")
        if act.posts >= RESHARE_ONLY_MIN_POSTS and act.reshares == act.posts:
            flags.append("reshare_only")
    if created is not None and now - created < NEW_ACCOUNT:
        flags.append("new_account")
    return flags


def _score(people: list[Influencer]) -> None:
    """Normalise each component against the best candidate and combine."""

    def top(values: Iterable[float]) -> float:
        return max(values, default=0.0) or 1.0

    followers_top = top(math.log1p(p.followers or 0) for p in people)
    engaged_top = top(math.log1p(p.engaged_authors) for p in people)
    resonance_top = top(math.log1p(p.resonance_per_post) for p in people)
    cascade_top = top(math.log1p(p.cascade_size) for p in people)
    rank_top = top(p.pagerank for p in people)
    for p in people:
        reach_parts = [math.log1p(p.engaged_authors) / engaged_top]
        if p.followers is not None:
            reach_parts.append(math.log1p(p.followers) / followers_top)
        parts = {
            "reach": sum(reach_parts) / len(reach_parts),
            "resonance": 0.5 * math.log1p(p.resonance_per_post) / resonance_top
            + 0.5 * math.log1p(p.cascade_size) / cascade_top,
            "relevance": p.relevance,
            "authority": p.pagerank / rank_top,
        }
        total = 0.0
        for name, value in list(parts.items()):
            contribution = WEIGHTS[name] * value
            parts[f"{name}_contribution"] = contribution
            total += contribution
        p.parts = parts
        p.score = total * p.authenticity
