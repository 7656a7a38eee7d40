"""Audience communities: Leiden clusters of the interaction graph, labelled for a marketer.

Each community is described by what its members post (top hashtags, and terms weighted by
TF-IDF across communities so that words every community uses drop out), the languages they
write in, the hours (UTC) they are active and the members most central inside it.

On the persisted graph the labels come from a bounded sample, the latest posts of each
community's most central members, so labelling costs the same whatever the history; a set of
posts given by the caller (or a graph built from the posts) is labelled from all of them.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import igraph
from sqlalchemy.orm import Session

from hubbub.enrich.terms import strip_links_and_handles
from hubbub.graph import queries
from hubbub.graph.interactions import (
    DEFAULT_HALF_LIFE,
    InteractionGraph,
    build_graph,
    load_input,
    stored_graph,
)
from hubbub.workspaces.queries import own_accounts

WORD = re.compile(r"[^\W\d_][\w'’-]{2,}", re.UNICODE)
HASHTAG = re.compile(r"#\w+")
_STOPWORD_TEXT = """
the and for are but not you all any can had her was one our out day get has him his how man
new now old see two way who boy did its let put say she too use that with have this will your
from they know want been good much some time very when come here just like long make many more
only over such take than them well were what about after again also back being because before
could every first into most other should still their there these thing think those through
would which while where really today yes yeah it's i'm don't can't
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
LABEL_AUTHORS = 30
"""Most central members of a community whose posts label it (sample path)."""
LABEL_POSTS = 10
"""Latest posts of each of them read (sample path)."""
LABEL_AUTHORS_TOTAL = 2_000
"""Members sampled over all communities, biggest first: the smallest may go unlabelled."""


@dataclass
class Community:
    number: int
    size: int
    members: list[str] = field(default_factory=list)
    """Representative authors (handles), most central first."""
    own_members: list[str] = field(default_factory=list)
    """The workspace's own accounts among all the members (`own_accounts`), most central
    first: marked "your account" on the card, as in the dashboard's top authors."""
    hashtags: list[tuple[str, int]] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    languages: list[tuple[str, int]] = field(default_factory=list)
    active_hours_utc: list[int] = field(default_factory=list)
    posts: int = 0
    internal_weight: float = 0.0
    sampled_posts: int = 0
    """Posts the labels were read from (``posts`` when every post was read)."""
    nodes: list[int] = field(default_factory=list)
    """Every member's index in the graph it was found on (for drawing the map)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "community": self.number,
            "size": self.size,
            "posts": self.posts,
            "representative_authors": self.members,
            "own_accounts": self.own_members,
            "top_hashtags": [{"tag": t, "posts": n} for t, n in self.hashtags],
            "top_terms": self.terms,
            "languages": [{"lang": lang, "posts": n} for lang, n in self.languages],
            "active_hours_utc": self.active_hours_utc,
            "internal_weight": round(self.internal_weight, 4),
            "sampled_posts": self.sampled_posts,
        }


def terms_of(text: str) -> list[str]:
    """Lower-case words of three letters or more, without links, @handles, #tags (counted on
    their own), stopwords; links and handles are blanked as for the top terms."""
    cleaned = HASHTAG.sub(" ", strip_links_and_handles(text).lower())
    return [w for w in WORD.findall(cleaned) if w not in STOPWORDS]


def find_communities(
    session: Session,
    workspace_id: int,
    post_ids: Iterable[int] | None = None,
    *,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    as_of: datetime | None = None,
    resolution: float = 1.0,
    min_size: int = 2,
    top: int = 5,
    seed: int = 0,
    topic_id: int | None = None,
    graph: InteractionGraph | None = None,
    post_counts: Mapping[int, int] | None = None,
    label_authors: int = LABEL_AUTHORS,
    label_posts: int = LABEL_POSTS,
) -> list[Community]:
    """Leiden (modularity) on the undirected, weighted interaction graph; biggest first.

    The graph is ``graph`` when the caller has it, else it comes from the persisted edges when
    they are up to date (whole workspace, or ``topic_id``, which then replaces ``post_ids``),
    else from the posts. Labels: see the module docstring; ``post_counts`` (live posts per
    author in the same selection) saves counting them again."""
    if graph is None and (post_ids is None or topic_id is not None):
        graph = stored_graph(session, workspace_id, topic_id or 0, half_life=half_life, as_of=as_of)
    posts: list[queries.PostRow] | None = None
    if graph is None:
        if topic_id is not None:
            post_ids = queries.topic_post_ids(session, workspace_id, topic_id)
        data = load_input(session, workspace_id, post_ids)
        posts = data.posts
        graph = build_graph(data, half_life=half_life, as_of=as_of)
    elif post_ids is not None and topic_id is None:
        posts = queries.workspace_posts(session, workspace_id, post_ids)
    if not graph.edges:
        return []
    directed = graph.to_igraph()
    undirected = directed.as_undirected(mode="collapse", combine_edges={"weight": "sum"})
    igraph.set_random_number_generator(random.Random(seed))
    try:
        clusters = undirected.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=resolution,
            n_iterations=-1,
        )
    finally:
        igraph.set_random_number_generator(random)  # igraph's default
    strength = undirected.strength(weights="weight")

    groups = [list(c) for c in clusters if len(c) >= min_size]
    groups.sort(key=lambda c: (-len(c), min(c)))
    centrals = [sorted(members, key=lambda i: (-strength[i], i)) for members in groups]
    if posts is None:  # the sample: latest posts of the most central members
        budget = LABEL_AUTHORS_TOTAL
        sampled: list[int] = []
        for ordered in centrals:
            chosen = [graph.nodes[i].author_id for i in ordered[: min(label_authors, budget)]]
            sampled.extend(a for a in chosen if a is not None)
            budget -= len(chosen)
        posts = queries.recent_author_posts(
            session, workspace_id, sampled, label_posts, topic_id or 0
        )
        if post_counts is None:
            post_counts = queries.posts_per_author(session, workspace_id, topic_id or 0)
    node_of_author = {n.author_id: i for i, n in enumerate(graph.nodes) if n.author_id is not None}
    per_node_posts: dict[int, list[int]] = {}
    for index, p in enumerate(posts):
        node = node_of_author.get(p.author_id)
        if node is not None:
            per_node_posts.setdefault(node, []).append(index)

    own = own_accounts(session, workspace_id)
    group_of = {node: g for g, members in enumerate(groups) for node in members}
    internal: dict[int, float] = {}
    for (u, v), edge in graph.edges.items():
        g = group_of.get(u)
        if g is not None and g == group_of.get(v):
            internal[g] = internal.get(g, 0.0) + edge.weight
    term_counts: list[Counter[str]] = []
    result: list[Community] = []
    for number, (members, central) in enumerate(zip(groups, centrals, strict=True), start=1):
        community = Community(number, len(members), nodes=sorted(members))
        hashtags: Counter[str] = Counter()
        terms: Counter[str] = Counter()
        languages: Counter[str] = Counter()
        hours: Counter[int] = Counter()
        for node in members:
            for index in per_node_posts.get(node, []):
                post = posts[index]
                community.sampled_posts += 1
                hashtags.update({t.lower() for t in post.hashtags})
                terms.update(set(terms_of(post.text)))
                languages.update(set(post.langs) or ({post.lang} if post.lang else set()))
                hours[post.created_at.hour] += 1
        community.posts = (
            community.sampled_posts
            if post_counts is None
            else sum(post_counts.get(graph.nodes[i].author_id or -1, 0) for i in members)
        )
        community.internal_weight = internal.get(number - 1, 0.0)
        community.members = [graph.nodes[i].label for i in central[:top]]
        if own:
            community.own_members = [
                graph.nodes[i].label
                for i in central
                if own.owns(graph.nodes[i].key[0], graph.nodes[i].key[1], graph.nodes[i].handle)
            ]
        community.hashtags = hashtags.most_common(top)
        community.languages = languages.most_common(top)
        community.active_hours_utc = sorted(h for h, _ in hours.most_common(3))
        term_counts.append(terms)
        result.append(community)
    documents = Counter(t for counts in term_counts for t in counts)
    for community, counts in zip(result, term_counts, strict=True):
        idf = {t: math.log((1 + len(result)) / (1 + documents[t])) + 1 for t in counts}
        ranked = sorted(counts, key=lambda t: (-counts[t] * idf[t], t))
        community.terms = ranked[:top]
    return result
