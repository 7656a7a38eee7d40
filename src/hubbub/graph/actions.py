"""Writes of the graph feature: marking authors, and keeping the persisted interaction graph
up to date as posts arrive."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hubbub.accounts.actions import CLI, Actor, record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.graph import queries
from hubbub.graph.interactions import DECAY_EPOCH, DEFAULT_HALF_LIFE, DEFAULT_WEIGHTS, NodeKey
from hubbub.graph.models import MARK_KINDS, AuthorMark, GraphState, InteractionEdge, InteractionRef
from hubbub.graph.queries import PostRow
from hubbub.posts.models import Author, Post, Tombstone
from hubbub.store.dialect import chunks, insert_ignoring_conflicts, unindexed
from hubbub.store.engine import transaction

EDGES = cast(Table, InteractionEdge.__table__)
DEFAULT_BATCH = 5_000
REFS = cast(Table, InteractionRef.__table__)


def _check(session: Session, workspace_id: int, author_id: int, mark: str) -> None:
    if mark not in MARK_KINDS:
        raise Rejected("bad_mark", f"{mark!r} is not one of {', '.join(MARK_KINDS)}")
    owner = session.scalar(select(Author.workspace_id).where(Author.id == author_id))
    if owner != workspace_id:
        raise Rejected("unknown_author", f"author {author_id} is not in this workspace")


def _audit(
    session: Session, action: str, actor: Actor, workspace_id: int, author_id: int, mark: str
) -> None:
    record_audit(
        session,
        action,
        actor=actor,
        target=f"author:{author_id}",
        workspace_id=workspace_id,
        detail={"mark": mark},
    )


def mark_author(
    session: Session,
    workspace_id: int,
    author_id: int,
    mark: str,
    note: str | None = None,
    *,
    actor: Actor = CLI,
) -> AuthorMark:
    """Put a mark on an author; marking twice keeps one mark (and updates the note). A new
    mark goes to the audit log."""
    _check(session, workspace_id, author_id, mark)
    existing = session.scalar(
        select(AuthorMark).where(AuthorMark.author_id == author_id, AuthorMark.mark == mark)
    )
    if existing is not None:
        if note is not None:
            existing.note = note
        return existing
    row = AuthorMark(
        workspace_id=workspace_id, author_id=author_id, mark=mark, note=note, created_at=utcnow()
    )
    session.add(row)
    session.flush()
    _audit(session, "author.mark", actor, workspace_id, author_id, mark)
    return row


def unmark_author(
    session: Session, workspace_id: int, author_id: int, mark: str, *, actor: Actor = CLI
) -> bool:
    """Take a mark off (audited); False when the author did not carry it."""
    _check(session, workspace_id, author_id, mark)
    result = session.execute(
        delete(AuthorMark).where(
            AuthorMark.workspace_id == workspace_id,
            AuthorMark.author_id == author_id,
            AuthorMark.mark == mark,
        )
    )
    removed = bool(getattr(result, "rowcount", 0))
    if removed:
        _audit(session, "author.unmark", actor, workspace_id, author_id, mark)
    return removed


# --- The persisted interaction graph ------------------------------------------------------------
#
# Every interaction is a *contribution* to one edge row (topic, source, target, kind). It is
# applied when both ends are processed: a post's own mentions, and its reply/reshare/quote of an
# earlier post, at the post's id; a reference to a later post when that post is processed. The
# contributions of one such moment are applied in a fixed order (see `_order`), so the float sums
# come out bit for bit the same however the posts are split into batches, and an author whose
# edges are recomputed (after a delete) gets exactly what a rebuild from scratch gives.


@dataclass(frozen=True)
class _Hit:
    order: tuple[int, int, int, int]
    source: int
    target: NodeKey
    kind: str
    post_id: int
    created_at: datetime


def _order(event: int, post_id: int, seq: int) -> tuple[int, int, int, int]:
    """At the moment `event` (a post id): references resolved by that post first, then the
    post's own interactions in kind order."""
    return (event, 0 if post_id < event else 1, post_id, seq)


EdgeKey = tuple[int, int, str, str, str]
"""(topic id, source author id, target network, target native id, kind)."""


@dataclass
class _Row:
    count: int = 0
    weight_ref: float = 0.0
    first_at: datetime | None = None
    last_at: datetime | None = None


def _hits(
    session: Session, workspace_id: int, posts: Sequence[PostRow], upto: int
) -> tuple[list[_Hit], list[dict[str, Any]]]:
    """The interactions of these posts whose both ends are processed (ids ≤ ``upto``), and the
    reference rows to keep (pending when the referenced post is not processed yet)."""
    refs = {
        (p.network, ref)
        for p in posts
        for ref in (p.reply_to, p.reshare_of, p.quote_of)
        if ref is not None
    }
    stored = queries.live_post_authors(session, workspace_id, refs, upto)
    author_ids = {p.author_id for p in posts} | {a for _, a in stored.values()}
    keys = queries.author_keys(session, author_ids)
    hits: list[_Hit] = []
    ref_rows: list[dict[str, Any]] = []
    for p in posts:
        source = keys[p.author_id]
        seq = 0
        for kind, ref in (("reply", p.reply_to), ("reshare", p.reshare_of), ("quote", p.quote_of)):
            if ref is None:
                continue
            found = stored.get((p.network, ref))
            ref_rows.append(
                {"workspace_id": workspace_id, "post_id": p.id, "kind": kind,
                 "network": p.network, "target_native_id": ref, "pending": found is None}
            )  # fmt: skip
            if found is not None and keys[found[1]] != source:
                event = max(p.id, found[0])
                hits.append(
                    _Hit(_order(event, p.id, seq), p.author_id, keys[found[1]], kind, p.id,
                         p.created_at)
                )  # fmt: skip
            seq += 1
        for mention in dict.fromkeys(p.mentions):
            target = (p.network, mention)
            if target != source:
                hits.append(
                    _Hit(_order(p.id, p.id, seq), p.author_id, target, "mention", p.id,
                         p.created_at)
                )  # fmt: skip
            seq += 1
    return hits, ref_rows


def _apply(
    session: Session,
    workspace_id: int,
    hits: list[_Hit],
    topics_of: Mapping[int, Sequence[int]],
    half_life: timedelta,
    *,
    only_topic: int | None = None,
    fresh_sources: Iterable[int] = (),
) -> None:
    """Add the contributions, in their fixed order, to the stored rows and write them back.

    ``only_topic``: touch that topic's rows only. ``fresh_sources``: their rows were deleted,
    start them from zero."""
    if not hits:
        return
    hits = sorted(hits, key=lambda h: h.order)
    fresh = set(fresh_sources)
    sources = sorted({h.source for h in hits} - fresh)
    targets = sorted({h.target[1] for h in hits if h.source not in fresh})
    rows: dict[EdgeKey, _Row] = {}
    # Only the rows these hits touch (a prolific author has many): sources × targets, filtered
    # in SQL so the others never reach Python.
    for part, wanted in ((p, t) for p in chunks(sources) for t in chunks(targets)):
        query = select(
            InteractionEdge.topic_id,
            InteractionEdge.source_author_id,
            InteractionEdge.target_network,
            InteractionEdge.target_native_id,
            InteractionEdge.kind,
            InteractionEdge.count,
            InteractionEdge.weight_ref,
            InteractionEdge.first_at,
            InteractionEdge.last_at,
        ).where(
            InteractionEdge.workspace_id == workspace_id,
            InteractionEdge.source_author_id.in_(part),
            InteractionEdge.target_native_id.in_(wanted),
        )
        if only_topic is not None:
            query = query.where(InteractionEdge.topic_id == only_topic)
        for r in session.execute(query):
            rows[(r[0], r[1], r[2], r[3], r[4])] = _Row(r[5], r[6], r[7], r[8])
    seconds = half_life.total_seconds()
    touched: set[EdgeKey] = set()
    for h in hits:
        gain = DEFAULT_WEIGHTS[h.kind] * math.pow(
            2.0, (h.created_at - DECAY_EPOCH).total_seconds() / seconds
        )
        topics = (only_topic,) if only_topic is not None else (0, *topics_of.get(h.post_id, ()))
        for topic in topics:
            key = (topic, h.source, h.target[0], h.target[1], h.kind)
            row = rows.setdefault(key, _Row())
            row.count += 1
            row.weight_ref += gain
            row.first_at = h.created_at if row.first_at is None else min(row.first_at, h.created_at)
            row.last_at = h.created_at if row.last_at is None else max(row.last_at, h.created_at)
            touched.add(key)
    values = [
        {"workspace_id": workspace_id, "topic_id": k[0], "source_author_id": k[1],
         "target_network": k[2], "target_native_id": k[3], "kind": k[4],
         "count": rows[k].count, "weight_ref": rows[k].weight_ref,
         "first_at": rows[k].first_at, "last_at": rows[k].last_at}
        for k in sorted(touched)
    ]  # fmt: skip
    statement = _upsert(session)
    for part in chunks(values):
        session.execute(statement, part)


def _edge_topics(
    session: Session, matched: Mapping[int, Sequence[int]], hits: Sequence[_Hit]
) -> dict[int, list[int]]:
    """The topics each hit's post counts in: its own matches, and for a reshare those of the
    post it reshares (`queries.topic_members`)."""
    inherited = queries.reshared_topics(session, {h.post_id for h in hits})
    return {
        post_id: sorted({*matched.get(post_id, ()), *inherited.get(post_id, ())})
        for post_id in {*matched, *inherited}
    }


def _upsert(session: Session) -> Any:
    table = EDGES
    name = session.get_bind().dialect.name
    insert: Any = postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=[
            "workspace_id", "topic_id", "source_author_id", "target_network",
            "target_native_id", "kind",
        ],
        set_={c: insert.excluded[c] for c in ("count", "weight_ref", "first_at", "last_at")},
    )  # fmt: skip


def _state(session: Session, workspace_id: int, topic_id: int) -> GraphState | None:
    """The cursor row, locked on PostgreSQL so that two updaters (the worker, a page catching
    up) take turns instead of applying the same posts twice."""
    return session.get(GraphState, (workspace_id, topic_id), with_for_update=True)


@dataclass
class GraphUpdate:
    """What one call of `update_interaction_edges` did."""

    scanned: int = 0
    """Post ids read (deleted posts included); fewer than the batch means caught up."""
    posts: int = 0
    hits: int = 0
    resolved: int = 0
    deleted_posts: int = 0
    recomputed_authors: int = 0
    rebuilt_topics: list[int] = field(default_factory=list)
    last_post_id: int = 0


def update_interaction_edges(
    session: Session,
    workspace_id: int,
    *,
    batch: int = DEFAULT_BATCH,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> GraphUpdate:
    """Bring the persisted graph of a workspace (and of each of its topics) forward by up to
    ``batch`` posts, in the caller's transaction together with the cursor, so a crash either
    keeps the whole step or none of it. Also handles new deletes and topic backfills."""
    result = GraphUpdate()
    state = _state(session, workspace_id, 0)
    if state is not None and state.half_life_seconds != half_life.total_seconds():
        _wipe(session, workspace_id)
        state = None
    if state is None:
        state = GraphState(
            workspace_id=workspace_id, topic_id=0, last_post_id=0, last_tombstone_id=0,
            matches=0, half_life_seconds=half_life.total_seconds(), updated_at=utcnow(),
        )  # fmt: skip
        session.add(state)
    after = state.last_post_id
    ids = list(
        session.scalars(
            select(Post.id)
            .where(unindexed(Post.workspace_id) == workspace_id, Post.id > after)
            .order_by(Post.id)
            .limit(batch)
        )
    )
    upto = ids[-1] if ids else after
    result.scanned = len(ids)
    batch_matches: Counter[int] = Counter()
    if ids:
        posts = queries.posts_after(session, workspace_id, after, upto)
        own, ref_rows = _hits(session, workspace_id, posts, upto)
        # Earlier posts waiting for one of these: resolved now, at the new post's id.
        waiting = queries.pending_refs(
            session, workspace_id, [(p.network, p.native_id) for p in posts]
        )
        earlier = queries.workspace_posts(session, workspace_id, {w.post_id for w in waiting})
        late, _ = _hits(session, workspace_id, earlier, upto)
        resolved_ids = {w.id for w in waiting}
        topics_of = queries.post_topics(session, {h.post_id for h in own + late} | set(ids))
        for post_id in ids:
            batch_matches.update(topics_of.get(post_id, ()))
        hits = own + [h for h in late if h.order[0] > after]
        _apply(session, workspace_id, hits, _edge_topics(session, topics_of, hits), half_life)
        if ref_rows:
            for part in chunks(ref_rows):
                session.execute(insert_ignoring_conflicts(session, REFS), part)
        for part in chunks(sorted(resolved_ids)):
            session.execute(update(REFS).where(REFS.c.id.in_(part)).values(pending=False))
        result.posts, result.hits, result.resolved = len(posts), len(hits), len(resolved_ids)
    state.last_post_id = upto
    _deletes(session, workspace_id, state, half_life, result)
    _topics(session, workspace_id, state, batch_matches, half_life, result)
    state.updated_at = utcnow()
    result.last_post_id = upto
    session.flush()
    return result


def _deletes(
    session: Session, workspace_id: int, state: GraphState, half_life: timedelta, out: GraphUpdate
) -> None:
    """Posts deleted since the last step: recompute the out-edges of their authors and of the
    authors who referenced them, from those authors' live posts."""
    rows = session.execute(
        select(Tombstone.id, Tombstone.network, Tombstone.native_id)
        .where(Tombstone.workspace_id == workspace_id, Tombstone.id > state.last_tombstone_id)
        .order_by(Tombstone.id)
    ).all()
    if not rows:
        return
    state.last_tombstone_id = rows[-1].id
    keys = [(r.network, r.native_id) for r in rows]
    dirty = queries.authors_touched_by(session, workspace_id, keys, state.last_post_id)
    out.deleted_posts += len(rows)
    if dirty:
        _recompute_authors(session, workspace_id, dirty, state.last_post_id, half_life)
        out.recomputed_authors += len(dirty)


def _recompute_authors(
    session: Session, workspace_id: int, author_ids: set[int], upto: int, half_life: timedelta
) -> None:
    for part in chunks(sorted(author_ids)):
        session.execute(
            delete(EDGES).where(
                EDGES.c.workspace_id == workspace_id, EDGES.c.source_author_id.in_(part)
            )
        )
    posts = queries.author_posts(session, workspace_id, author_ids, upto)
    hits, _ = _hits(session, workspace_id, posts, upto)
    topics_of = queries.post_topics(session, {h.post_id for h in hits})
    topics_of = _edge_topics(session, topics_of, hits)
    _apply(session, workspace_id, hits, topics_of, half_life, fresh_sources=author_ids)


def _topics(
    session: Session,
    workspace_id: int,
    state: GraphState,
    batch_matches: Counter[int],
    half_life: timedelta,
    out: GraphUpdate,
) -> None:
    """Keep each topic's state; rebuild a topic whose matches changed other than by new posts
    (a backfill, a removed topic)."""
    counts = queries.topic_match_counts(session, workspace_id, state.last_post_id)
    states = {
        s.topic_id: s
        for s in session.scalars(
            select(GraphState).where(
                GraphState.workspace_id == workspace_id, GraphState.topic_id != 0
            )
        )
    }
    for topic_id in sorted(set(counts) | set(states)):
        found = states.get(topic_id)
        expected = (found.matches if found else 0) + batch_matches.get(topic_id, 0)
        now = counts.get(topic_id, 0)
        if found is not None and now == expected:
            found.last_post_id = state.last_post_id
            found.matches = now
            found.updated_at = utcnow()
            continue
        session.execute(
            delete(EDGES).where(EDGES.c.workspace_id == workspace_id, EDGES.c.topic_id == topic_id)
        )
        if topic_id not in counts:  # the topic is gone
            if found is not None:
                session.delete(found)
            continue
        posts = queries.topic_posts(session, workspace_id, topic_id, state.last_post_id)
        hits, _ = _hits(session, workspace_id, posts, state.last_post_id)
        _apply(session, workspace_id, hits, {}, half_life, only_topic=topic_id)
        if found is None:
            found = GraphState(workspace_id=workspace_id, topic_id=topic_id, last_tombstone_id=0)
            session.add(found)
        found.last_post_id = state.last_post_id
        found.last_tombstone_id = state.last_tombstone_id
        found.matches = now
        found.half_life_seconds = state.half_life_seconds
        found.updated_at = utcnow()
        out.rebuilt_topics.append(topic_id)


def _wipe(session: Session, workspace_id: int) -> None:
    for table in (EDGES, REFS, cast(Table, GraphState.__table__)):
        session.execute(delete(table).where(table.c.workspace_id == workspace_id))


def rebuild_interaction_edges(
    session: Session,
    workspace_id: int,
    *,
    batch: int = DEFAULT_BATCH,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> GraphUpdate:
    """Forget the persisted graph of a workspace and build it again from its posts."""
    _wipe(session, workspace_id)
    session.flush()
    total = GraphUpdate()
    while True:
        step = update_interaction_edges(session, workspace_id, batch=batch, half_life=half_life)
        total.posts += step.posts
        total.hits += step.hits
        total.last_post_id = step.last_post_id
        if step.scanned < batch:
            return total


def catch_up(
    engine: Engine,
    workspace_id: int,
    *,
    batch: int = DEFAULT_BATCH,
    budget_seconds: float = 30.0,
    max_posts: int | None = None,
) -> bool:
    """Bring the persisted graph up to date now, as the worker's graph job does, one committed
    batch at a time, for at most ``budget_seconds``; True when it is up to date. Readers call it
    when the worker lags, so they can use the persisted graph. With ``max_posts``, a longer
    backlog (a graph never built, a worker that does not run) is left to the worker or
    `hubbub graph refresh`. A conflicting update (the worker on the same rows, a locked SQLite
    file) ends it early. On False the caller reads the posts instead."""
    started = time.monotonic()
    if max_posts is not None:
        with Session(engine) as session:
            if queries.graph_backlog(session, workspace_id) > max_posts:
                return False
    while True:
        try:
            with transaction(engine) as session:
                step = update_interaction_edges(session, workspace_id, batch=batch)
        except (OperationalError, IntegrityError):
            return False
        if step.scanned < batch:
            with Session(engine) as session:
                return queries.graph_freshness(session, workspace_id) is not None
        if time.monotonic() - started > budget_seconds:
            return False
