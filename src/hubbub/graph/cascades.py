"""Buzz cascades: who reshared or replied to whom, as a tree, and how the tree is shaped.

A cascade is a tree of adoptions in time order: node 0 is the starter, every other node has
one parent that adopted earlier. The shape figures follow Goel, Anderson, Hofman and Watts
(*The Structural Virality of Online Diffusion*, Management Science 2016): size, depth, maximum
breadth and structural virality, the mean shortest-path distance over all pairs of nodes.
Trees come from stored posts (`posts_cascades`) or from the SNAP Higgs activity file
(`higgs_cascades`), where the tree has to be inferred (see that function).
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections import deque
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.graph import queries
from hubbub.graph.queries import PostRow, ReferenceRow

HIGGS_ACTIVITY = "higgs-activity_time.txt.gz"
HIGGS_KINDS = {"RT": "reshare", "MT": "mention", "RE": "reply"}


@dataclass
class Cascade:
    """An adoption tree; parents[i] < i, parents[0] == -1, times never decrease."""

    key: str
    users: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    audience: list[int] = field(default_factory=list)
    """Per node, what the user could reach at adoption time (followers when known, else a
    proxy such as interactions received before); used as a feature, never as the label."""
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, key: str, root: str, time: float, audience: int = 0) -> Cascade:
        cascade = cls(key)
        cascade.add(root, -1, time, "root", audience)
        return cascade

    def add(self, user: str, parent: int, time: float, kind: str, audience: int = 0) -> bool:
        """Append an adoption; a user already in the tree is not added twice."""
        if user in self.index:
            return False
        if self.users and not 0 <= parent < len(self.users):
            raise ValueError(f"parent {parent} is not an earlier node")
        if self.times and time < self.times[-1]:
            raise ValueError("adoptions must come in time order")
        self.index[user] = len(self.users)
        self.users.append(user)
        self.parents.append(parent)
        self.times.append(time)
        self.kinds.append(kind)
        self.audience.append(audience)
        return True

    def __len__(self) -> int:
        return len(self.users)

    def prefix(self, until: float) -> Cascade:
        """The tree as it stood at time `until` (adoptions at or before it)."""
        count = 0
        while count < len(self.times) and self.times[count] <= until:
            count += 1
        count = max(count, 1)
        return Cascade(
            self.key,
            self.users[:count],
            self.parents[:count],
            self.times[:count],
            self.kinds[:count],
            self.audience[:count],
            {u: i for i, u in enumerate(self.users[:count])},
        )


def depths(parents: Sequence[int]) -> list[int]:
    """Distance of each node from the root; parents come before children."""
    out = [0] * len(parents)
    for i in range(1, len(parents)):
        out[i] = out[parents[i]] + 1
    return out


def subtree_sizes(parents: Sequence[int]) -> list[int]:
    """Nodes in each node's subtree, itself included."""
    sizes = [1] * len(parents)
    for i in range(len(parents) - 1, 0, -1):
        sizes[parents[i]] += sizes[i]
    return sizes


def structural_virality(parents: Sequence[int]) -> float:
    """Mean distance over all pairs in O(n): each edge lies on s·(n − s) of the paths."""
    n = len(parents)
    if n < 2:
        return 0.0
    sizes = subtree_sizes(parents)
    total = sum(s * (n - s) for s in sizes[1:])
    return 2.0 * total / (n * (n - 1))


def structural_virality_pairwise(parents: Sequence[int]) -> float:
    """Mean distance over all pairs by a breadth-first search from every node, O(n²):
    the definition itself, kept to check the linear formula and for small trees."""
    n = len(parents)
    if n < 2:
        return 0.0
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for child in range(1, n):
        neighbours[child].append(parents[child])
        neighbours[parents[child]].append(child)
    total = 0
    for source in range(n):
        distance = [-1] * n
        distance[source] = 0
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if distance[other] < 0:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        total += sum(distance)
    return total / (n * (n - 1))


@dataclass(frozen=True)
class CascadeSummary:
    """The figures a marketer reads for one cascade."""

    key: str
    starter: str
    size: int
    depth: int
    max_breadth: int
    structural_virality: float
    seconds_to_half: float
    duration_seconds: float
    reshares: int
    replies: int
    top_amplifiers: list[tuple[str, int]]
    """Non-root users with the most adoptions below them in the tree (user, descendants)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "starter": self.starter,
            "size": self.size,
            "depth": self.depth,
            "max_breadth": self.max_breadth,
            "structural_virality": round(self.structural_virality, 4),
            "seconds_to_half": self.seconds_to_half,
            "duration_seconds": self.duration_seconds,
            "reshares": self.reshares,
            "replies": self.replies,
            "top_amplifiers": [{"user": u, "descendants": d} for u, d in self.top_amplifiers],
        }


def max_breadth(parents: Sequence[int]) -> int:
    """Most nodes on any one level of the tree."""
    levels: dict[int, int] = {}
    for d in depths(parents):
        levels[d] = levels.get(d, 0) + 1
    return max(levels.values(), default=0)


def seconds_to_half(cascade: Cascade) -> float:
    """Time from the start until the tree held half of its final size (rounded up)."""
    if not cascade.times:
        return 0.0
    half = math.ceil(len(cascade) / 2)
    return cascade.times[half - 1] - cascade.times[0]


def summarise(cascade: Cascade, amplifiers: int = 3) -> CascadeSummary:
    """Shape, timing, starter and top amplifiers of one cascade."""
    parents = cascade.parents
    sizes = subtree_sizes(parents)
    ranked = sorted(range(1, len(parents)), key=lambda i: (-sizes[i], i))
    top = [(cascade.users[i], sizes[i] - 1) for i in ranked[:amplifiers] if sizes[i] > 1]
    return CascadeSummary(
        key=cascade.key,
        starter=cascade.users[0],
        size=len(cascade),
        depth=max(depths(parents), default=0),
        max_breadth=max_breadth(parents),
        structural_virality=structural_virality(parents),
        seconds_to_half=seconds_to_half(cascade),
        duration_seconds=cascade.times[-1] - cascade.times[0] if cascade.times else 0.0,
        reshares=sum(1 for k in cascade.kinds if k == "reshare"),
        replies=sum(1 for k in cascade.kinds if k == "reply"),
        top_amplifiers=top,
    )


# --- The Higgs retweet/reply cascades -------------------------------------------------------


def read_higgs(directory: Path) -> list[tuple[int, str, str, str]]:
    """(unix time, user A, user B, RT|MT|RE) of the activity file, sorted by time (stable)."""
    path = directory / HIGGS_ACTIVITY
    if not path.is_file():
        raise Rejected("missing_file", f"{path} not found (expected the SNAP Higgs folder)")
    events: list[tuple[int, str, str, str]] = []
    try:
        with gzip.open(path, "rt", encoding="ascii") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if len(fields) != 4 or fields[3] not in HIGGS_KINDS or not fields[2].isdigit():
                    raise Rejected("bad_line", f"{path.name}:{number}: {line.strip()[:80]!r}")
                events.append((int(fields[2]), fields[0], fields[1], fields[3]))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise Rejected("bad_file", f"{path.name}: {exc}") from exc
    events.sort(key=lambda e: e[0])
    return events


def higgs_cascades(
    events: Iterable[tuple[int, str, str, str]], *, gap_seconds: float = 6 * 3600
) -> list[Cascade]:
    """Cascades of the Higgs week, inferred from time-ordered (time, A, B, kind) events.

    The data has no tweet ids: ``A RT B`` names the *original* author B (Twitter credits the
    source tweet even when A retweeted someone's retweet). So a cascade is one burst of
    reshares and replies aimed at B: it starts with the first one and ends when B goes
    `gap_seconds` without any. The reshare path is inferred causally: A's parent is the most
    recent earlier adopter of this cascade whom A had already retweeted, mentioned or replied
    to (a sign that A follows them), else B. Replies hang on B. ``audience`` is the number of
    reshares and replies the user had received before, a proxy for followers.
    """
    ties: dict[str, set[str]] = {}
    received: dict[str, int] = {}
    open_by_root: dict[str, Cascade] = {}
    done: list[Cascade] = []
    for stamp, user_a, user_b, kind in events:
        if user_a != user_b and kind != "MT":
            cascade = open_by_root.get(user_b)
            if cascade is None or stamp - cascade.times[-1] > gap_seconds:
                if cascade is not None:
                    done.append(cascade)
                cascade = Cascade.start(f"{user_b}@{stamp}", user_b, stamp, received.get(user_b, 0))
                open_by_root[user_b] = cascade
            if user_a not in cascade.index:
                parent = 0
                if kind == "RT":
                    parent = _latest_tie(cascade, ties.get(user_a))
                cascade.add(user_a, parent, stamp, HIGGS_KINDS[kind], received.get(user_a, 0))
            received[user_b] = received.get(user_b, 0) + 1
        if user_a != user_b:
            ties.setdefault(user_a, set()).add(user_b)
    done.extend(open_by_root.values())
    done.sort(key=lambda c: (c.times[0], c.key))
    return done


def _latest_tie(cascade: Cascade, followed: set[str] | None) -> int:
    """The most recent adopter the user has a tie to, or the root (0)."""
    if not followed:
        return 0
    if len(followed) < len(cascade):
        return max((cascade.index[u] for u in followed if u in cascade.index), default=0)
    for i in range(len(cascade) - 1, 0, -1):
        if cascade.users[i] in followed:
            return i
    return 0


def iter_summaries(cascades: Iterable[Cascade]) -> Iterator[CascadeSummary]:
    for cascade in cascades:
        yield summarise(cascade)


# --- Cascades of stored posts ---------------------------------------------------------------


def post_parents(posts: Sequence[PostRow]) -> dict[int, int]:
    """Post id → id of the stored post it replies to, reshares or quotes (same network).

    A post pointing at a post created after it (clock skew) is treated as a root, so the
    result is always a forest.
    """
    by_native = {(p.network, p.native_id): p for p in posts}
    parents: dict[int, int] = {}
    for p in posts:
        for ref in (p.reshare_of, p.quote_of, p.reply_to):
            target = by_native.get((p.network, ref)) if ref is not None else None
            if target is not None and target.id != p.id:
                if (target.created_at, target.id) < (p.created_at, p.id):
                    parents[p.id] = target.id
                break
    return parents


def post_descendants(posts: Sequence[PostRow]) -> dict[int, int]:
    """Post id → how many stored posts descend from it (the cascade it caused)."""
    parents = post_parents(posts)
    ordered = sorted(posts, key=lambda p: (p.created_at, p.id), reverse=True)
    below = {p.id: 0 for p in posts}
    for p in ordered:  # children are newer, so they are done before their parent
        parent = parents.get(p.id)
        if parent is not None:
            below[parent] += below[p.id] + 1
    return below


@dataclass
class Forest:
    """Who descends from whom among stored posts, read off the resolved references."""

    parents: dict[int, int] = field(default_factory=dict)
    """Post id → the post it hangs under (as `post_parents` decides)."""
    below: dict[int, int] = field(default_factory=dict)
    """Descendants of each post that has any."""
    author_of: dict[int, int] = field(default_factory=dict)
    """Author of each post that has descendants."""


def reference_forest(rows: Sequence[ReferenceRow], members: Container[int] | None = None) -> Forest:
    """`post_parents` and `post_descendants` from resolved references (`queries.reference_rows`,
    newest first) instead of whole posts, restricted to ``members`` (None: every live post)."""
    forest = Forest()
    below = forest.below
    for row in rows:  # children are newer, so they are done before their parent
        if members is not None and row.id not in members:
            continue
        for target in row.targets:
            if target is None or (members is not None and target[0] not in members):
                continue
            if target[0] != row.id:
                if target[2]:
                    forest.parents[row.id] = target[0]
                    below[target[0]] = below.get(target[0], 0) + below.get(row.id, 0) + 1
                    forest.author_of[target[0]] = target[1]
                break
    return forest


def post_cascade(
    posts: Sequence[PostRow],
    root_id: int,
    author_names: Mapping[int, str],
    parents: Mapping[int, int] | None = None,
) -> Cascade:
    """The tree below one stored post, nodes named by author (first adoption per author).
    ``parents`` (from `reference_forest`) when the posts are only the tree's."""
    parents = post_parents(posts) if parents is None else parents
    by_id = {p.id: p for p in posts}
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if child in by_id:
            children.setdefault(parent, []).append(child)
    members = [root_id]
    for post_id in members:
        members.extend(children.get(post_id, []))
    members.sort(key=lambda i: (by_id[i].created_at, i))
    root = by_id[root_id]
    cascade = Cascade.start(
        str(root.id), author_names.get(root.author_id, str(root.author_id)), _ts(root.created_at)
    )
    node_of_post = {root_id: 0}
    for post_id in members[1:]:
        p = by_id[post_id]
        name = author_names.get(p.author_id, str(p.author_id))
        parent_node = node_of_post[parents[post_id]]
        kind = "reshare" if p.reshare_of or p.quote_of else "reply"
        if cascade.add(name, parent_node, _ts(p.created_at), kind):
            node_of_post[post_id] = len(cascade) - 1
        else:
            node_of_post[post_id] = cascade.index[name]
    return cascade


def _ts(when: datetime) -> float:
    return when.timestamp()


def largest_post_cascades(
    posts: Sequence[PostRow], author_names: Mapping[int, str], limit: int = 10
) -> list[CascadeSummary]:
    """Summaries of the biggest cascades started by stored posts (roots only)."""
    parents = post_parents(posts)
    below = post_descendants(posts)
    roots = [p for p in posts if p.id not in parents and below[p.id] > 0]
    roots.sort(key=lambda p: (-below[p.id], p.created_at, p.id))
    return [summarise(post_cascade(posts, p.id, author_names)) for p in roots[:limit]]


def stored_cascade(
    session: Session, workspace_id: int, root_id: int, topic_id: int | None = None
) -> Cascade:
    """`post_cascade` of one stored post among a topic's posts (its whole tree when the post is
    outside the topic) or the workspace's, reading only the tree's posts."""
    members = None
    if topic_id is not None:
        members = set(queries.topic_post_ids(session, workspace_id, topic_id))
        if root_id not in members:
            members = None
    forest = reference_forest(queries.reference_rows(session, workspace_id), members)
    children: dict[int, list[int]] = {}
    for child, parent in forest.parents.items():
        children.setdefault(parent, []).append(child)
    wanted = [root_id]
    for post_id in wanted:
        wanted.extend(children.get(post_id, []))
    posts = queries.workspace_posts(session, workspace_id, wanted)
    return post_cascade(posts, root_id, _author_names(session, posts), forest.parents)


def _author_names(session: Session, posts: Sequence[PostRow]) -> dict[int, str]:
    return {
        a.id: a.handle or a.native_id
        for a in queries.authors(session, {p.author_id for p in posts}).values()
    }


def largest_cascades(
    session: Session, workspace_id: int, topic_id: int | None = None, limit: int = 10
) -> list[CascadeSummary]:
    """`largest_post_cascades` of the workspace or a topic without reading every post: the
    trees come from the resolved references, then only the posts of the ``limit`` largest
    trees are read."""
    members = (
        None if topic_id is None else set(queries.topic_post_ids(session, workspace_id, topic_id))
    )
    forest = reference_forest(queries.reference_rows(session, workspace_id), members)
    roots = [p for p in forest.below if p not in forest.parents]
    roots.sort(key=lambda p: -forest.below[p])
    if len(roots) > limit:  # ties at the cut go by time: read those roots to order them
        cut = forest.below[roots[limit - 1]]
        roots = [p for p in roots if forest.below[p] >= cut]
        started = {
            p.id: p.created_at for p in queries.workspace_posts(session, workspace_id, roots)
        }
        roots.sort(key=lambda p: (-forest.below[p], started[p], p))
        roots = roots[:limit]
    children: dict[int, list[int]] = {}
    for child, parent in forest.parents.items():
        children.setdefault(parent, []).append(child)
    wanted = list(roots)
    for post_id in wanted:
        wanted.extend(children.get(post_id, []))
    posts = queries.workspace_posts(session, workspace_id, wanted)
    by_id = {p.id: p for p in posts}
    names = _author_names(session, posts)
    roots.sort(key=lambda p: (-forest.below[p], by_id[p].created_at, p))
    return [summarise(post_cascade(posts, p, names, forest.parents)) for p in roots[:limit]]
