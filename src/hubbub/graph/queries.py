"""Reads the graph features need from the posts store (and the graph's own tables)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, case, func, select, union
from sqlalchemy.orm import Session, aliased

from hubbub.graph.models import AuthorMark, GraphState, InteractionEdge, InteractionRef
from hubbub.listening.models import TopicMatch
from hubbub.posts.models import Author, Post, Tombstone
from hubbub.store.dialect import chunks, unindexed


@dataclass(frozen=True)
class PostRow:
    """The columns of a post that the graph uses."""

    id: int
    network: str
    native_id: str
    author_id: int
    kind: str
    created_at: datetime
    reply_to: str | None
    reshare_of: str | None
    quote_of: str | None
    mentions: list[str]
    hashtags: list[str]
    lang: str | None
    langs: list[str]
    fingerprint: int | None
    text: str


@dataclass(frozen=True)
class AuthorRow:
    id: int
    network: str
    native_id: str
    handle: str | None
    display_name: str | None
    followers: int | None
    account_created_at: datetime | None


_POST_COLUMNS = (
    Post.id,
    Post.network,
    Post.native_id,
    Post.author_id,
    Post.kind,
    Post.created_at,
    Post.reply_to,
    Post.reshare_of,
    Post.quote_of,
    Post.mentions,
    Post.hashtags,
    Post.lang,
    Post.langs,
    Post.fingerprint,
    Post.text,
)


def workspace_posts(
    session: Session, workspace_id: int, post_ids: Iterable[int] | None = None
) -> list[PostRow]:
    """Live (not deleted) posts of a workspace, or only those with the given ids."""
    base = select(*_POST_COLUMNS).where(Post.workspace_id == workspace_id, Post.deleted.is_(False))
    if post_ids is None:
        rows = list(session.execute(base.order_by(Post.created_at, Post.id)))
    else:
        rows = []
        for part in chunks(sorted(set(post_ids))):
            rows.extend(session.execute(base.where(Post.id.in_(part))))
        rows.sort(key=lambda r: (r.created_at, r.id))
    return [PostRow(*tuple(row)) for row in rows]


def recent_author_posts(
    session: Session,
    workspace_id: int,
    author_ids: Iterable[int],
    per_author: int,
    topic_id: int = 0,
) -> list[PostRow]:
    """The latest ``per_author`` posts (by id) of each author, or of their posts a topic
    matched: a bounded sample whatever the history. The ids come from the author index
    alone; only the chosen rows are read (deleted ones are then dropped)."""
    chosen: list[int] = []
    for part in chunks(sorted(set(author_ids))):
        post_id, author_id = (
            (TopicMatch.post_id, TopicMatch.author_id) if topic_id else (Post.id, Post.author_id)
        )
        ranked = select(
            post_id.label("id"),
            func.row_number().over(partition_by=author_id, order_by=post_id.desc()).label("n"),
        ).where(author_id.in_(part))
        if topic_id:
            ranked = ranked.where(TopicMatch.topic_id == topic_id)
        sub = ranked.subquery()
        chosen.extend(session.scalars(select(sub.c.id).where(sub.c.n <= per_author)))
    return workspace_posts(session, workspace_id, chosen)


def posts_after(session: Session, workspace_id: int, after: int, upto: int) -> list[PostRow]:
    """Live posts with ``after`` < id ≤ ``upto`` (one range scan on the primary key)."""
    query = select(*_POST_COLUMNS).where(
        Post.id > after,
        Post.id <= upto,
        unindexed(Post.workspace_id) == workspace_id,
        Post.deleted.is_(False),
    )
    return [PostRow(*tuple(row)) for row in session.execute(query)]


def post_authors(
    session: Session, workspace_id: int, refs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Author id of each (network, native post id) that is stored and not deleted."""
    wanted = set(refs)
    found: dict[tuple[str, str], int] = {}
    # Seek on native_id, the identity index's leading column (row-value IN lists make SQLite
    # scan the workspace's posts instead).
    for part in chunks(sorted({native for _, native in wanted})):
        query = select(Post.network, Post.native_id, Post.author_id).where(
            Post.native_id.in_(part), Post.workspace_id == workspace_id, Post.deleted.is_(False)
        )
        for network, native_id, author_id in session.execute(query):
            if (network, native_id) in wanted:
                found[(network, native_id)] = author_id
    return found


def authors_by_native_id(
    session: Session, workspace_id: int, refs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Author id of each (network, native author id) known in the workspace."""
    wanted = set(refs)
    found: dict[tuple[str, str], int] = {}
    for part in chunks(sorted({native for _, native in wanted})):
        query = select(Author.network, Author.native_id, Author.id).where(
            Author.native_id.in_(part), Author.workspace_id == workspace_id
        )
        for network, native_id, author_id in session.execute(query):
            if (network, native_id) in wanted:
                found[(network, native_id)] = author_id
    return found


def authors(session: Session, author_ids: Iterable[int]) -> dict[int, AuthorRow]:
    """Stored authors by id."""
    found: dict[int, AuthorRow] = {}
    for part in chunks(sorted(set(author_ids))):
        query = select(
            Author.id,
            Author.network,
            Author.native_id,
            Author.handle,
            Author.display_name,
            Author.followers,
            Author.account_created_at,
        ).where(Author.id.in_(part))
        for row in session.execute(query):
            found[row.id] = AuthorRow(*row)
    return found


def find_author(session: Session, workspace_id: int, name: str) -> AuthorRow | None:
    """An author by native id or handle (with or without @)."""
    handle = name.lstrip("@")
    query = (
        select(
            Author.id,
            Author.network,
            Author.native_id,
            Author.handle,
            Author.display_name,
            Author.followers,
            Author.account_created_at,
        )
        .where(Author.workspace_id == workspace_id)
        .where((Author.native_id == name) | (Author.handle == handle))
        .order_by(Author.id)
        .limit(1)
    )
    row = session.execute(query).first()
    return AuthorRow(*row) if row else None


def author_marks(session: Session, workspace_id: int) -> dict[int, list[str]]:
    """Marks per author id in a workspace, each list sorted."""
    marks: dict[int, list[str]] = {}
    query = (
        select(AuthorMark.author_id, AuthorMark.mark)
        .where(AuthorMark.workspace_id == workspace_id)
        .order_by(AuthorMark.author_id, AuthorMark.mark)
    )
    for author_id, mark in session.execute(query):
        marks.setdefault(author_id, []).append(mark)
    return marks


@dataclass(frozen=True)
class AuthorActivity:
    """An author's whole output in the workspace, for relevance and authenticity."""

    posts: int
    reshares: int
    first_at: datetime
    last_at: datetime
    fingerprinted: int
    distinct_fingerprints: int


def author_activity(
    session: Session, workspace_id: int, author_ids: Iterable[int]
) -> dict[int, AuthorActivity]:
    """Per author: posts, reshares, first and last post, fingerprints (all and distinct)."""
    found: dict[int, AuthorActivity] = {}
    for part in chunks(sorted(set(author_ids))):
        query = _activity_query(workspace_id).where(Post.author_id.in_(part))
        for author_id, posts, reshares, first, last, printed, distinct in session.execute(query):
            found[author_id] = AuthorActivity(
                posts, int(reshares or 0), first, last, printed, distinct
            )
    return found


def author_urls(session: Session, workspace_id: int, author_ids: Iterable[int]) -> dict[int, str]:
    """Profile URL of each of the workspace's authors that has one (for links in pages)."""
    found: dict[int, str] = {}
    for part in chunks(sorted(set(author_ids))):
        query = select(Author.id, Author.url).where(
            Author.workspace_id == workspace_id, Author.id.in_(part), Author.url.is_not(None)
        )
        for author_id, url in session.execute(query):
            if url:
                found[author_id] = url
    return found


def _original() -> Any:
    """The post a reshare (``Post``) reshares, as a join target."""
    original = aliased(Post)
    return original, (
        (original.native_id == Post.reshare_of)
        & (original.workspace_id == Post.workspace_id)
        & (original.network == Post.network)
    )


def topic_members(session: Session, workspace_id: int, topic_id: int) -> Select[tuple[int]]:
    """Ids of a topic's posts for the graph: its matches and the reshares of them. A reshare
    has no text of its own to match, yet it is how a matched post spreads.

    Reshares the graph job has processed are found from the matches through its reference
    rows (indexed by target); later ones by scanning those posts (``reshare_of`` has no
    index), so the cost does not grow with history once the graph is kept up to date."""
    state = session.get(GraphState, (workspace_id, 0))
    processed = state.last_post_id if state is not None else 0
    original = aliased(Post)
    known = (
        select(InteractionRef.post_id)
        .join(
            original,
            (original.native_id == InteractionRef.target_native_id)
            & (original.workspace_id == InteractionRef.workspace_id)
            & (original.network == InteractionRef.network),
        )
        .join(TopicMatch, TopicMatch.post_id == original.id)
        .where(
            TopicMatch.topic_id == topic_id,
            InteractionRef.workspace_id == workspace_id,
            InteractionRef.kind == "reshare",
            InteractionRef.post_id <= processed,
        )
    )
    later_original, on = _original()
    matched_original = (
        select(later_original.id)
        .join(TopicMatch, TopicMatch.post_id == later_original.id)
        .where(on, TopicMatch.topic_id == topic_id)
        .exists()
    )
    later = select(Post.id).where(
        unindexed(Post.workspace_id) == workspace_id,
        Post.id > processed,
        Post.reshare_of.is_not(None),
        matched_original,
    )
    matched = select(TopicMatch.post_id).where(TopicMatch.topic_id == topic_id)
    return union(matched, known, later)  # type: ignore[return-value]


def topic_post_ids(session: Session, workspace_id: int, topic_id: int) -> list[int]:
    """Ids of a topic's posts (`topic_members`; the set the graph pages work on)."""
    members = topic_members(session, workspace_id, topic_id).subquery()
    query = select(Post.id).where(Post.workspace_id == workspace_id, Post.id.in_(select(members)))
    return list(session.scalars(query))


def reshared_topics(session: Session, post_ids: Iterable[int]) -> dict[int, list[int]]:
    """For those of these posts that reshare a stored post: the topics that post matched."""
    original, on = _original()
    found: dict[int, list[int]] = {}
    for part in chunks(sorted(set(post_ids))):
        query = (
            select(Post.id, TopicMatch.topic_id)
            .join(original, on)
            .join(TopicMatch, TopicMatch.post_id == original.id)
            .where(Post.id.in_(part), Post.reshare_of.is_not(None))
            .order_by(Post.id, TopicMatch.topic_id)
        )
        for post_id, topic_id in session.execute(query):
            found.setdefault(post_id, []).append(topic_id)
    return found


# --- The persisted interaction graph ------------------------------------------------------------


def live_post_authors(
    session: Session, workspace_id: int, refs: Iterable[tuple[str, str]], upto: int
) -> dict[tuple[str, str], tuple[int, int]]:
    """(post id, author id) of each (network, native post id) stored, live and id ≤ ``upto``."""
    wanted = set(refs)
    found: dict[tuple[str, str], tuple[int, int]] = {}
    # Seek on native_id, the identity index's leading column (row-value IN lists make SQLite
    # scan the workspace's posts instead).
    for part in chunks(sorted({native for _, native in wanted})):
        query = select(Post.network, Post.native_id, Post.id, Post.author_id).where(
            Post.native_id.in_(part),
            Post.workspace_id == workspace_id,
            Post.deleted.is_(False),
            Post.id <= upto,
        )
        for network, native_id, post_id, author_id in session.execute(query):
            if (network, native_id) in wanted:
                found[(network, native_id)] = (post_id, author_id)
    return found


def author_keys(session: Session, author_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """(network, native id) of each author id."""
    found: dict[int, tuple[str, str]] = {}
    for part in chunks(sorted(set(author_ids))):
        query = select(Author.id, Author.network, Author.native_id).where(Author.id.in_(part))
        for author_id, network, native_id in session.execute(query):
            found[author_id] = (network, native_id)
    return found


@dataclass(frozen=True)
class PendingRef:
    id: int
    post_id: int


def pending_refs(
    session: Session, workspace_id: int, targets: Iterable[tuple[str, str]]
) -> list[PendingRef]:
    """References of processed posts still waiting for one of these (network, native id)."""
    wanted = set(targets)
    found: list[PendingRef] = []
    for part in chunks(sorted({native for _, native in wanted})):
        query = select(
            InteractionRef.id,
            InteractionRef.post_id,
            InteractionRef.network,
            InteractionRef.target_native_id,
        ).where(
            InteractionRef.target_native_id.in_(part),
            InteractionRef.workspace_id == workspace_id,
            InteractionRef.pending.is_(True),
        )
        found.extend(
            PendingRef(ref_id, post_id)
            for ref_id, post_id, network, native in session.execute(query)
            if (network, native) in wanted
        )
    return found


def post_topics(session: Session, post_ids: Iterable[int]) -> dict[int, list[int]]:
    """Topic ids each post matched, sorted."""
    found: dict[int, list[int]] = {}
    for part in chunks(sorted(set(post_ids))):
        query = (
            select(TopicMatch.post_id, TopicMatch.topic_id)
            .where(TopicMatch.post_id.in_(part))
            .order_by(TopicMatch.post_id, TopicMatch.topic_id)
        )
        for post_id, topic_id in session.execute(query):
            found.setdefault(post_id, []).append(topic_id)
    return found


def authors_touched_by(
    session: Session, workspace_id: int, deleted: Iterable[tuple[str, str]], upto: int
) -> set[int]:
    """Authors whose out-edges a deleted post could have fed: its own author, and the authors
    of processed posts whose reference to it was resolved."""
    wanted = set(deleted)
    found: set[int] = set()
    for part in chunks(sorted({native for _, native in wanted})):
        own = select(Post.network, Post.native_id, Post.author_id).where(
            Post.native_id.in_(part), Post.workspace_id == workspace_id, Post.id <= upto
        )
        referencing = (
            select(InteractionRef.network, InteractionRef.target_native_id, Post.author_id)
            .join(Post, InteractionRef.post_id == Post.id)
            .where(
                InteractionRef.target_native_id.in_(part),
                InteractionRef.workspace_id == workspace_id,
                InteractionRef.pending.is_(False),
            )
        )
        for query in (own, referencing):
            found.update(a for net, nat, a in session.execute(query) if (net, nat) in wanted)
    return found


def author_posts(
    session: Session, workspace_id: int, author_ids: Iterable[int], upto: int
) -> list[PostRow]:
    """Live posts (id ≤ ``upto``) of these authors."""
    rows: list[Any] = []
    for part in chunks(sorted(set(author_ids))):
        query = select(*_POST_COLUMNS).where(
            Post.workspace_id == workspace_id,
            Post.deleted.is_(False),
            Post.id <= upto,
            Post.author_id.in_(part),
        )
        rows.extend(session.execute(query))
    return [PostRow(*tuple(row)) for row in rows]


def topic_posts(session: Session, workspace_id: int, topic_id: int, upto: int) -> list[PostRow]:
    """Live posts (id ≤ ``upto``) of a topic (`topic_members`)."""
    members = topic_members(session, workspace_id, topic_id).subquery()
    query = select(*_POST_COLUMNS).where(
        Post.id.in_(select(members)), Post.deleted.is_(False), Post.id <= upto
    )
    return [PostRow(*tuple(row)) for row in session.execute(query)]


def topic_match_counts(session: Session, workspace_id: int, upto: int) -> dict[int, int]:
    """Matches per topic of the workspace among posts with id ≤ ``upto`` (deleted included)."""
    query = (
        select(TopicMatch.topic_id, func.count())
        .where(TopicMatch.workspace_id == workspace_id, TopicMatch.post_id <= upto)
        .group_by(TopicMatch.topic_id)
    )
    return {int(topic_id): int(count) for topic_id, count in session.execute(query)}


def graph_freshness(session: Session, workspace_id: int, topic_id: int = 0) -> GraphState | None:
    """The persisted graph's state when it covers every stored post, delete and topic match
    of the workspace; None when it lags (callers then build from the posts)."""
    state = session.get(GraphState, (workspace_id, 0))
    if state is None:
        return None
    newest_post = session.scalar(select(func.max(Post.id)).where(Post.workspace_id == workspace_id))
    newest_delete = session.scalar(
        select(func.max(Tombstone.id)).where(Tombstone.workspace_id == workspace_id)
    )
    if (newest_post or 0) > state.last_post_id or (newest_delete or 0) > state.last_tombstone_id:
        return None
    if topic_id == 0:
        return state
    topic = session.get(GraphState, (workspace_id, topic_id))
    if topic is None or topic.last_post_id != state.last_post_id:
        return None
    matches = session.scalar(
        select(func.count()).where(
            TopicMatch.topic_id == topic_id, TopicMatch.post_id <= state.last_post_id
        )
    )
    return topic if matches == topic.matches else None


def graph_backlog(session: Session, workspace_id: int) -> int:
    """Posts stored after the persisted graph's cursor (all of them when it was never built)."""
    state = session.get(GraphState, (workspace_id, 0))
    after = state.last_post_id if state is not None else 0
    query = select(func.count()).where(
        unindexed(Post.workspace_id) == workspace_id, Post.id > after
    )
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class StoredEdge:
    source_author_id: int
    target_network: str
    target_native_id: str
    kind: str
    count: int
    weight_ref: float
    first_at: datetime
    last_at: datetime


def stored_edges(session: Session, workspace_id: int, topic_id: int = 0) -> list[StoredEdge]:
    """Persisted edge rows of the workspace graph (topic 0) or of one topic, in key order."""
    query = (
        select(
            InteractionEdge.source_author_id,
            InteractionEdge.target_network,
            InteractionEdge.target_native_id,
            InteractionEdge.kind,
            InteractionEdge.count,
            InteractionEdge.weight_ref,
            InteractionEdge.first_at,
            InteractionEdge.last_at,
        )
        .where(InteractionEdge.workspace_id == workspace_id, InteractionEdge.topic_id == topic_id)
        .order_by(
            InteractionEdge.source_author_id,
            InteractionEdge.target_network,
            InteractionEdge.target_native_id,
            InteractionEdge.kind,
        )
    )
    return [StoredEdge(*row) for row in session.execute(query)]


def posting_authors(session: Session, workspace_id: int, upto: int, topic_id: int = 0) -> set[int]:
    """Authors with a live post (id ≤ ``upto``) in the workspace, or among a topic's posts."""
    query = (
        select(Post.author_id)
        .distinct()
        .where(Post.workspace_id == workspace_id, Post.deleted.is_(False), Post.id <= upto)
    )
    if topic_id:
        query = query.where(
            Post.id.in_(select(topic_members(session, workspace_id, topic_id).subquery()))
        )
    return set(session.scalars(query))


# --- Aggregates for the ranking and seeding on the persisted graph ------------------------------


EdgeRow = tuple[int, int | None, str, str, float, tuple[int, ...]]
"""(source author id, target author id (None: an account never seen), target network, target
native id, Σ weight_ref, count per kind in the order of ``kinds``)."""


def resolved_edges(
    session: Session, workspace_id: int, topic_id: int, kinds: Sequence[str]
) -> list[EdgeRow]:
    """Persisted edges of the workspace graph (topic 0) or a topic summed per ordered pair in
    SQL, each target joined to its author row: one query, one row per pair, no post read."""
    target = aliased(Author)
    counts = [
        func.sum(case((InteractionEdge.kind == kind, InteractionEdge.count), else_=0))
        for kind in kinds
    ]
    query = (
        select(
            InteractionEdge.source_author_id,
            func.min(target.id),
            InteractionEdge.target_network,
            InteractionEdge.target_native_id,
            func.sum(InteractionEdge.weight_ref),
            *counts,
        )
        .outerjoin(
            target,
            (target.native_id == InteractionEdge.target_native_id)
            & (target.workspace_id == InteractionEdge.workspace_id)
            & (target.network == InteractionEdge.target_network),
        )
        .where(InteractionEdge.workspace_id == workspace_id, InteractionEdge.topic_id == topic_id)
        .group_by(
            InteractionEdge.source_author_id,
            InteractionEdge.target_network,
            InteractionEdge.target_native_id,
        )
    )
    return [
        (row[0], row[1], row[2], row[3], float(row[4]), tuple(int(c) for c in row[5:]))
        for row in session.execute(query)
    ]


def workspace_authors(session: Session, workspace_id: int) -> dict[int, AuthorRow]:
    """Every stored author of the workspace by id."""
    query = select(
        Author.id,
        Author.network,
        Author.native_id,
        Author.handle,
        Author.display_name,
        Author.followers,
        Author.account_created_at,
    ).where(Author.workspace_id == workspace_id)
    return {row.id: AuthorRow(*row) for row in session.execute(query)}


def _activity_query(workspace_id: int) -> Any:
    return (
        select(
            Post.author_id,
            func.count(Post.id),
            func.sum(case((Post.kind == "reshare", 1), else_=0).cast(Integer)),
            func.min(Post.created_at),
            func.max(Post.created_at),
            func.count(Post.fingerprint),
            func.count(Post.fingerprint.distinct()),
        )
        .where(Post.workspace_id == workspace_id, Post.deleted.is_(False))
        .group_by(Post.author_id)
    )


def all_author_activity(session: Session, workspace_id: int) -> dict[int, AuthorActivity]:
    """`author_activity` of every author with a live post, in one grouped scan."""
    return {
        author_id: AuthorActivity(posts, int(reshares or 0), first, last, printed, distinct)
        for author_id, posts, reshares, first, last, printed, distinct in session.execute(
            _activity_query(workspace_id)
        )
    }


def posts_per_author(session: Session, workspace_id: int, topic_id: int = 0) -> dict[int, int]:
    """Live posts per author in the workspace, or among a topic's matches."""
    query = (
        select(Post.author_id, func.count())
        .where(Post.workspace_id == workspace_id, Post.deleted.is_(False))
        .group_by(Post.author_id)
    )
    if topic_id:
        query = query.where(
            Post.id.in_(select(topic_members(session, workspace_id, topic_id).subquery()))
        )
    return {int(a): int(n) for a, n in session.execute(query)}


@dataclass(frozen=True)
class ReferenceRow:
    """A live post that references others, with each reference resolved to a live post of the
    workspace (None when not stored): reshare, quote, reply, in the order `post_parents` tries."""

    id: int
    targets: tuple[tuple[int, int, bool] | None, ...]
    """(post id, author id, created before this post) per reference kind."""


def reference_rows(session: Session, workspace_id: int) -> list[ReferenceRow]:
    """Posts with a reply, reshare or quote, newest first, their targets joined through the
    identity index and compared in SQL: what cascade sizes need, without reading the posts
    that reference nothing (nor any text or time)."""
    child = aliased(Post)
    refs = (child.reshare_of, child.quote_of, child.reply_to)
    query = select(child.id).where(
        child.workspace_id == workspace_id,
        child.deleted.is_(False),
        child.reshare_of.is_not(None) | child.quote_of.is_not(None) | child.reply_to.is_not(None),
    )
    for ref in refs:
        target = aliased(Post)
        earlier = (target.created_at < child.created_at) | (
            (target.created_at == child.created_at) & (target.id < child.id)
        )
        query = query.add_columns(
            target.id, target.author_id, case((earlier, 1), else_=0)
        ).outerjoin(
            target,
            (target.native_id == ref)
            & (target.workspace_id == child.workspace_id)
            & (target.network == child.network)
            & target.deleted.is_(False),
        )
    query = query.order_by(child.created_at.desc(), child.id.desc())
    found: list[ReferenceRow] = []
    for row in session.execute(query):
        values: tuple[Any, ...] = tuple(row)
        targets = tuple(
            None if values[i] is None else (values[i], values[i + 1], bool(values[i + 2]))
            for i in (1, 4, 7)
        )
        found.append(ReferenceRow(values[0], targets))
    return found


def graph_version(session: Session, workspace_id: int, topic_id: int = 0) -> tuple[Any, ...]:
    """What the graph pages' results depend on besides the clock: the newest post and delete,
    the persisted graph's state, the topic's matches and the author marks. Cheap (index
    look-ups), so a cached page can be checked on every view."""
    newest_post = session.scalar(select(func.max(Post.id)).where(Post.workspace_id == workspace_id))
    newest_delete = session.scalar(
        select(func.max(Tombstone.id)).where(Tombstone.workspace_id == workspace_id)
    )
    marks = session.execute(
        select(func.count(), func.max(AuthorMark.id)).where(AuthorMark.workspace_id == workspace_id)
    ).one()
    states = session.execute(
        select(
            GraphState.topic_id,
            GraphState.last_post_id,
            GraphState.last_tombstone_id,
            GraphState.matches,
        ).where(GraphState.workspace_id == workspace_id, GraphState.topic_id.in_({0, topic_id}))
    ).all()
    matches = (
        session.scalar(select(func.count()).where(TopicMatch.topic_id == topic_id))
        if topic_id
        else 0
    )
    return (
        newest_post,
        newest_delete,
        tuple(marks),
        tuple(sorted(tuple(s) for s in states)),
        matches,
    )
