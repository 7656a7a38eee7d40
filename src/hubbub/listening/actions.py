"""Writes of the listening feature: topics, their matches, enrichments and hourly rollups.

Matches are recorded by one function for the live ingest stage and for backfill, so both store
exactly the same rows. Every write is idempotent: a match is keyed by (topic, post), an
enrichment by post, an author of a rollup cell by (cell, author); rollup counters only grow by
what an insert actually added, so a re-delivered batch or a second backfill counts nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.core.items import AuthorRef, PostItem
from hubbub.enrich.links.queries import resolved_for_posts
from hubbub.enrich.terms import drop_stopwords, terms_of
from hubbub.listening.aspects import topic_targets
from hubbub.listening.corrections.queries import follows_post, model_verdicts
from hubbub.listening.document import Document
from hubbub.listening.enrichment import (
    Candidate,
    Enriched,
    Enrichment,
    language_of,
    post_text,
)
from hubbub.listening.matcher import Matcher
from hubbub.listening.models import (
    TOPIC_KINDS,
    UNKNOWN_LANG,
    AuthorRollup,
    HourlyRollup,
    HourlyRollupAuthor,
    PostEnrichment,
    TermRollup,
    Topic,
    TopicMatch,
    match_sentiment,
)
from hubbub.listening.query import QueryError, parse
from hubbub.posts.models import Author, Post
from hubbub.store.bulk import BulkInsert
from hubbub.store.dialect import chunks, insert_ignoring_conflicts, unindexed

MATCHES = cast(Table, TopicMatch.__table__)
ENRICHMENTS = cast(Table, PostEnrichment.__table__)
ROLLUPS = cast(Table, HourlyRollup.__table__)
ROLLUP_AUTHORS = cast(Table, HourlyRollupAuthor.__table__)
TERMS = cast(Table, TermRollup.__table__)
AUTHOR_ROLLUPS = cast(Table, AuthorRollup.__table__)
CELL = ("topic_id", "hour", "network", "sentiment_label", "lang")
COUNTERS = ("posts", "unique_authors", "potential_reach", "engagement")
TERM_CELL = ("topic_id", "day", "network", "sentiment_label", "lang", "term")
AUTHOR_CELL = ("topic_id", "author_id", "day", "network")
MAX_TERM_CHARS = 64  # longer "words" (pasted tokens, base64) are not terms anyone reads
TERMS_PER_CELL = 50  # most frequent terms kept per day and cell once the day is compacted
MAX_NAME = 200
STAMP_STEP = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Progress = Callable[[int, int], None]  # (posts done, posts in total)
Cell = tuple[int, datetime, str, str, str]
TermCell = tuple[int, datetime, str, str, str, str]
AuthorCell = tuple[int, int, datetime, str]


# ---- topics ---------------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in TOPIC_KINDS:
        raise Rejected("bad_kind", f"kind {kind!r} is not one of {', '.join(TOPIC_KINDS)}")
    return kind


def _check_name(name: str) -> str:
    """A topic's name is part of its pages' addresses (``/topics/{name}``, ``/{name}.csv``), so
    it may not hold a slash or control characters, be a dot path or end in ``.csv``."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Rejected("bad_name", f"a topic name has 1 to {MAX_NAME} characters")
    if any(ch in "/\\" or ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Rejected("bad_name", "a topic name may not hold a slash or control characters")
    if name in (".", "..") or name.lower().endswith(".csv"):
        raise Rejected("bad_name", "a topic name may not be . or .. or end in .csv")
    return name


def _stamp(session: Session, workspace_id: int) -> datetime:
    """A change time later than every stored one, so the stage's change check (count and
    newest ``updated_at``) sees the change even when clocks of two processes disagree."""
    newest = session.scalar(
        select(func.max(Topic.updated_at)).where(Topic.workspace_id == workspace_id)
    )
    now = utcnow()
    return now if newest is None or now > newest else newest + STAMP_STEP


def _check_free(session: Session, workspace_id: int, name: str, but: int | None = None) -> None:
    """Refuse a name another topic of the workspace has, whatever its case: "Acme" and "acme"
    would be two dashboards, two share-of-voice rows and two alert series of one brand."""
    clash = session.scalar(
        select(Topic.name).where(
            Topic.workspace_id == workspace_id,
            func.lower(Topic.name) == name.lower(),
            *([Topic.id != but] if but is not None else []),
        )
    )
    if clash is not None:
        shown = "" if clash == name else f" (as {clash!r})"
        raise Rejected("topic_exists", f"a topic named {name!r} exists already{shown}")


def get_topic(session: Session, workspace_id: int, name: str) -> Topic:
    """The workspace's topic called ``name``; Rejected("no_topic") when there is none."""
    topic = session.scalar(
        select(Topic).where(Topic.workspace_id == workspace_id, Topic.name == name.strip())
    )
    if topic is None:
        raise Rejected("no_topic", f"no topic named {name!r} in this workspace")
    return topic


def add_topic(
    session: Session, workspace_id: int, name: str, rule: str, kind: str = "other"
) -> Topic:
    """Create a topic; the rule is parsed first, so a broken rule raises QueryError with its
    position and nothing is written."""
    parse(rule)
    name = _check_name(name)
    _check_kind(kind)
    _check_free(session, workspace_id, name)
    stamp = _stamp(session, workspace_id)
    topic = Topic(
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        rule=rule,
        active=True,
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(topic)
    session.flush()
    return topic


def update_topic(
    session: Session,
    workspace_id: int,
    name: str,
    *,
    rule: str | None = None,
    kind: str | None = None,
    active: bool | None = None,
    new_name: str | None = None,
) -> Topic:
    """Change a topic's rule, kind, state or name; a new rule is parsed before anything changes.

    A changed rule marks the topic for re-matching (``rematch_topic``, run by the pipeline's
    ``rematch`` job or ``hubbub topic rematch``): its stored matches and rollups are rebuilt
    under the new rule, and live matching records nothing for it until that is done. A new
    edit while a re-match runs starts it over.
    """
    if rule is not None:
        parse(rule)
    if kind is not None:
        _check_kind(kind)
    topic = get_topic(session, workspace_id, name)
    if new_name is not None and _check_name(new_name) != topic.name:
        _check_free(session, workspace_id, _check_name(new_name), but=topic.id)
        topic.name = _check_name(new_name)
    stamp = _stamp(session, workspace_id)
    if rule is not None and rule != topic.rule:
        topic.rule = rule
        topic.rematch_requested_at = stamp
        topic.rematch_cursor = None
    if kind is not None:
        topic.kind = kind
    if active is not None:
        topic.active = active
    topic.updated_at = stamp
    session.flush()
    return topic


def remove_topic(session: Session, workspace_id: int, name: str) -> None:
    """Delete a topic with its matches and rollups (the database cascades)."""
    topic = get_topic(session, workspace_id, name)
    session.delete(topic)
    session.flush()


# ---- matches, enrichment, rollups -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matched:
    """A post (by network and native id) and the ids of the topics it matched.

    ``enriched`` is set when enrichment was computed already (the live stage does it while
    preparing, off the writer); otherwise ``candidate`` is kept so that ``record_matches`` can
    enrich the post if it has no enrichment yet (backfill). Small enough to pickle cheaply: a
    prepare worker process hands it to the writer.
    """

    network: str
    native_id: str
    topic_ids: tuple[int, ...]
    engagement: int
    enriched: Enriched | None = None
    candidate: Candidate | None = None
    terms: tuple[str, ...] = ()
    #: (label, score) per topic for a post naming several (listening/aspects.py); None: not
    #: computed yet (``record_matches`` does it from ``candidate``).
    aspects: dict[int, tuple[str, float]] | None = None


@dataclass
class RecordResult:
    """What one call added: new matches, newly enriched posts, rollup cells touched."""

    matches: int = 0
    enriched: int = 0
    cells: int = 0
    terms: int = 0
    author_days: int = 0  # (topic, author, day, network) rows added to

    def add(self, other: RecordResult) -> None:
        self.matches += other.matches
        self.enriched += other.enriched
        self.cells += other.cells
        self.terms += other.terms
        self.author_days += other.author_days


@dataclass(slots=True)
class _Stored:
    post_id: int
    author_id: int
    followers: int
    created_at: datetime


def _stored_posts(
    session: Session, workspace_id: int, matched: Sequence[Matched]
) -> dict[tuple[str, str], _Stored]:
    """Stored, not deleted posts of these matches, with their author's current follower count."""
    by_network: dict[str, list[str]] = defaultdict(list)
    for m in matched:
        by_network[m.network].append(m.native_id)
    found: dict[tuple[str, str], _Stored] = {}
    for network, native_ids in by_network.items():
        for chunk in chunks(native_ids):
            rows = session.execute(
                select(Post.id, Post.native_id, Post.author_id, Post.created_at, Author.followers)
                .join(Author, Author.id == Post.author_id)
                .where(
                    Post.workspace_id == workspace_id,
                    Post.network == network,
                    Post.native_id.in_(chunk),
                    Post.deleted.is_(False),
                )
            )
            for row in rows:
                found[(network, row.native_id)] = _Stored(
                    row.id, row.author_id, row.followers or 0, row.created_at
                )
    return found


def _recordable_topics(
    session: Session, workspace_id: int, topic_ids: set[int], only: int | None
) -> set[int]:
    """The topics whose matches may be recorded: still present (one removed since the batch was
    matched must not be referenced), and not waiting for a re-match, which alone records a
    topic whose rule changed; ``only`` is the topic a re-match records.

    The rows are read ``FOR KEY SHARE`` on PostgreSQL (the lock the foreign keys of the rows
    written next take anyway), so a re-match's ``FOR UPDATE`` waits for every writer that read
    the mark before it changed (see ``rematch_topic``).
    """
    wanted = sorted(topic_ids if only is None else topic_ids & {only})
    found: set[int] = set()
    for chunk in chunks(wanted):
        # Marked topics are read (and locked) too: the re-match must wait for a writer that
        # skipped its topic, whose posts it then matches itself.
        rows = session.execute(
            select(Topic.id, Topic.rematch_requested_at)
            .where(Topic.workspace_id == workspace_id, Topic.id.in_(chunk))
            .with_for_update(read=True, key_share=True)
        )
        found.update(row.id for row in rows if only is not None or row.rematch_requested_at is None)
    return found


def _topic_targets(
    session: Session, workspace_id: int, topic_ids: set[int]
) -> dict[int, tuple[str, ...]]:
    """Aspect-sentiment targets of these topics (their rules are parsed for it)."""
    found: dict[int, tuple[str, ...]] = {}
    for chunk in chunks(sorted(topic_ids)):
        rows = session.execute(
            select(Topic.id, Topic.name, Topic.kind, Topic.rule).where(
                Topic.workspace_id == workspace_id, Topic.id.in_(chunk)
            )
        )
        found.update({row.id: topic_targets(row.name, row.kind, row.rule) for row in rows})
    return found


def _aspects(
    session: Session, workspace_id: int, matched: Sequence[Matched], enrichment: Enrichment
) -> list[dict[int, tuple[str, float]]]:
    """Per-topic verdicts: as the live stage computed them (so the writer parses no rule),
    else from the candidate (backfill)."""
    out = [m.aspects or {} for m in matched]
    todo = [i for i, m in enumerate(matched) if m.aspects is None and m.candidate is not None]
    if not todo:
        return out
    targets = _topic_targets(session, workspace_id, {t for i in todo for t in matched[i].topic_ids})
    posts = []
    for i in todo:
        item = cast(Candidate, matched[i].candidate).item
        named = sum(1 for t in matched[i].topic_ids if targets.get(t))
        # The language only where it matters: detecting it costs more than the check.
        lang = language_of(item)[0] if named >= 2 else UNKNOWN_LANG
        posts.append((post_text(item), matched[i].topic_ids, lang))
    found = enrichment.topic_sentiments(posts, targets)
    for i, verdicts in zip(todo, found, strict=True):
        out[i] = verdicts
    return out


def _enrichments(
    session: Session,
    workspace_id: int,
    wanted: dict[int, Matched],
    enrichment: Enrichment,
) -> tuple[dict[int, tuple[str, str]], int]:
    """(sentiment label, language) of each post; computes and stores those not enriched yet."""
    known: dict[int, tuple[str, str]] = {}
    for chunk in chunks(sorted(wanted)):
        rows = session.execute(
            select(
                PostEnrichment.post_id, PostEnrichment.sentiment_label, PostEnrichment.lang
            ).where(PostEnrichment.post_id.in_(chunk))
        )
        known.update({row.post_id: (row.sentiment_label, row.lang) for row in rows})
    missing = [post_id for post_id in sorted(wanted) if post_id not in known]
    if not missing:
        return known, 0
    lazy = [p for p in missing if wanted[p].enriched is None]
    computed = enrichment([cast(Candidate, wanted[p].candidate) for p in lazy])
    done = dict(zip(lazy, computed, strict=True))
    results = [done.get(p) or cast(Enriched, wanted[p].enriched) for p in missing]
    rows_out = [
        {
            "post_id": post_id,
            "workspace_id": workspace_id,
            "lang": e.lang,
            "lang_detected": e.lang_detected,
            "sentiment_score": e.sentiment_score,
            "sentiment_label": e.sentiment_label,
            "sentiment_tier": e.sentiment_tier,
            "intents": e.intents,
            "entities": e.entities,
        }
        for post_id, e in zip(missing, results, strict=True)
    ]
    inserted = session.execute(
        insert_ignoring_conflicts(session, ENRICHMENTS).returning(ENRICHMENTS.c.post_id), rows_out
    ).all()
    for post_id, e in zip(missing, results, strict=True):
        known[post_id] = (e.sentiment_label, e.lang)
    return known, len(inserted)


def engagement(item: PostItem) -> int:
    """Likes + reshares + replies + quotes the post carries (unknown counts are 0)."""
    return (item.likes or 0) + (item.reshares or 0) + (item.replies or 0) + (item.quotes or 0)


def post_terms(item: PostItem) -> tuple[str, ...]:
    """The terms a post counts for in the term rollups (its language's stopwords are dropped
    when the post is recorded, once its language is known)."""
    found = terms_of(post_text(item), item.hashtags)
    return tuple(sorted(t for t in found if len(t) <= MAX_TERM_CHARS))


def stored_post_terms(
    created_at: datetime,
    text: str | None,
    title: str | None,
    hashtags: Sequence[str] | None,
    lang: str,
) -> tuple[str, ...]:
    """:func:`post_terms` of a stored post, its language's stopwords dropped (a rebuild's)."""
    item = PostItem(
        native_id="",
        author=AuthorRef(native_id=""),
        created_at=created_at,
        text=text or "",
        title=title,
        hashtags=tuple(hashtags or ()),
    )
    return tuple(drop_stopwords(post_terms(item), lang))


def _add_to_counters(
    session: Session,
    rows: list[dict[str, Any]],
    table: Table = ROLLUPS,
    keys: Sequence[str] = CELL,
    counters: Sequence[str] = COUNTERS,
) -> None:
    """``INSERT … ON CONFLICT (cell) DO UPDATE SET counter = counter + new`` of every row.

    Straight through the driver's executemany: SQLAlchemy's per-row parameter handling cost
    more than the upserts themselves (a backfill writes ~12 rollup rows a matched post).
    """
    if not rows:
        return
    columns = tuple(rows[0])
    upsert = _UPSERTS.get((table.name, columns))
    if upsert is None:
        upsert = BulkInsert(table, columns, add_on_conflict=(keys, counters))
        _UPSERTS[(table.name, columns)] = upsert
    conn = session.connection()
    for chunk in chunks(rows, 5000):
        upsert.execute(conn, chunk)


_UPSERTS: dict[tuple[str, tuple[str, ...]], BulkInsert] = {}


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _add_terms(session: Session, workspace_id: int, counts: dict[TermCell, int]) -> int:
    """Add post counts to the term rollups; the number of (cell, term) rows touched."""
    rows = [
        dict(zip(TERM_CELL, key, strict=True)) | {"workspace_id": workspace_id, "posts": n}
        for key, n in sorted(counts.items())
    ]
    if rows:
        _add_to_counters(session, rows, TERMS, TERM_CELL, ("posts",))
    return len(rows)


def _add_author_days(session: Session, counts: dict[AuthorCell, int]) -> int:
    """Add match counts to the author rollups; the number of rows touched."""
    rows = [
        dict(zip(AUTHOR_CELL, key, strict=True)) | {"posts": n} for key, n in sorted(counts.items())
    ]
    if rows:
        _add_to_counters(session, rows, AUTHOR_ROLLUPS, AUTHOR_CELL, ("posts",))
    return len(rows)


def _follow_corrections(
    session: Session, workspace_id: int, match_rows: dict[tuple[int, int], dict[str, Any]]
) -> None:
    """An analyst's label correction wins over per-topic verdicts computed again (backfill of a
    new topic, a re-match): of a corrected post, a topic's verdict that says what the model
    said of the whole post is cleared, so the match counts under the post's corrected label,
    as ``corrections.relabel`` left the matches stored when the correction was made. Only posts
    with a verdict of their own are looked up: the others count under the post's stored
    (corrected) label anyway."""
    judged = {row["post_id"] for row in match_rows.values() if row["sentiment_label"] is not None}
    if not judged:
        return
    said = model_verdicts(session, workspace_id, sorted(judged))
    for row in match_rows.values():
        model = said.get(row["post_id"])
        if model is not None and follows_post(row["sentiment_label"], model[0]):
            row["sentiment_label"] = row["sentiment_score"] = None


def record_matches(
    session: Session,
    workspace_id: int,
    matched: Sequence[Matched],
    enrichment: Enrichment,
    *,
    only: int | None = None,
) -> RecordResult:
    """Store the matches of stored posts, enrich newly matched posts, and add the new matches
    to the hourly, term and author rollups, in the caller's transaction.

    ``only`` records that one topic's matches (a re-match); per-topic sentiment still sees
    every topic each post matched, as live matching does.
    """
    result = RecordResult()
    if not matched:
        return result
    topics = _recordable_topics(
        session, workspace_id, {t for m in matched for t in m.topic_ids}, only
    )
    if not topics:
        return result
    stored = _stored_posts(session, workspace_id, matched)
    aspects = _aspects(session, workspace_id, matched, enrichment)
    match_rows: dict[tuple[int, int], dict[str, Any]] = {}
    by_post: dict[int, Matched] = {}
    for m, verdicts in zip(matched, aspects, strict=True):
        post = stored.get((m.network, m.native_id))
        if post is None:  # tombstoned or refused by the store
            continue
        by_post[post.post_id] = m
        for topic_id in m.topic_ids:
            if topic_id in topics:
                label, score = verdicts.get(topic_id, (None, None))
                match_rows[(topic_id, post.post_id)] = {
                    "topic_id": topic_id,
                    "post_id": post.post_id,
                    "workspace_id": workspace_id,
                    "created_at": post.created_at,
                    "network": m.network,
                    "author_id": post.author_id,
                    "sentiment_label": label,
                    "sentiment_score": score,
                }
    if not match_rows:
        return result
    _follow_corrections(session, workspace_id, match_rows)
    new = [
        (row.topic_id, row.post_id)
        for row in session.execute(
            insert_ignoring_conflicts(session, MATCHES).returning(
                MATCHES.c.topic_id, MATCHES.c.post_id
            ),
            [match_rows[key] for key in sorted(match_rows)],
        )
    ]
    result.matches = len(new)
    if not new:
        return result
    newly_matched = {post_id: by_post[post_id] for _, post_id in new}
    labels, result.enriched = _enrichments(session, workspace_id, newly_matched, enrichment)
    by_id = {s.post_id: s for s in stored.values()}
    counters: dict[Cell, list[int]] = {}
    authors: set[tuple[Cell, int]] = set()
    term_counts: dict[TermCell, int] = defaultdict(int)
    author_days: dict[AuthorCell, int] = defaultdict(int)
    for topic_id, post_id in new:
        post = by_id[post_id]
        label, lang = labels[post_id]
        label = match_rows[(topic_id, post_id)]["sentiment_label"] or label
        hour = post.created_at.replace(minute=0, second=0, microsecond=0)
        network = match_rows[(topic_id, post_id)]["network"]
        cell: Cell = (topic_id, hour, network, label, lang)
        counts = counters.setdefault(cell, [0, 0, 0, 0])
        counts[0] += 1
        counts[2] += post.followers
        counts[3] += by_post[post_id].engagement
        authors.add((cell, post.author_id))
        day = _day(post.created_at)
        author_days[(topic_id, post.author_id, day, network)] += 1
        for term in drop_stopwords(by_post[post_id].terms, lang):
            term_counts[(topic_id, day, network, label, lang, term)] += 1
    author_rows = [
        dict(zip(CELL, cell, strict=True)) | {"author_id": author_id}
        for cell, author_id in sorted(authors)
    ]
    for chunk in chunks(author_rows):
        inserted = session.execute(
            insert_ignoring_conflicts(session, ROLLUP_AUTHORS).returning(
                *(ROLLUP_AUTHORS.c[c] for c in CELL)
            ),
            chunk,
        )
        for row in inserted:
            counters[cast(Cell, tuple(row))][1] += 1
    rows = [
        dict(zip(CELL, cell, strict=True))
        | {"workspace_id": workspace_id}
        | dict(zip(COUNTERS, counts, strict=True))
        for cell, counts in sorted(counters.items())
    ]
    _add_to_counters(session, rows)
    result.cells = len(rows)
    result.terms = _add_terms(session, workspace_id, term_counts)
    result.author_days = _add_author_days(session, author_days)
    return result


# ---- term rollups: compaction and rebuild ---------------------------------------------------


def compact_term_rollups(
    session: Session,
    workspace_id: int,
    since: datetime,
    before: datetime,
    keep: int = TERMS_PER_CELL,
    *,
    topic_id: int | None = None,
) -> int:
    """Bound closed days of term rollups: per (day, cell) keep the ``keep`` most frequent terms
    (ties by term). Returns the rows deleted.

    A cell with at most ``keep`` terms stays exact, so a quiet topic loses nothing; a busy cell
    loses its long tail. Only days in [since, before) are touched (of one topic when
    ``topic_id`` is given); ``before`` must not be after today's midnight UTC, or terms of the
    open day would be lost while it still grows. Idempotent.
    """
    period = and_(
        TermRollup.workspace_id == workspace_id,
        TermRollup.day >= _day(since),
        TermRollup.day < before,
        true() if topic_id is None else TermRollup.topic_id == topic_id,
    )
    rank = (
        func.row_number()
        .over(
            partition_by=[TERMS.c[c] for c in TERM_CELL[:-1]],
            order_by=[TermRollup.posts.desc(), TermRollup.term],
        )
        .label("rank")
    )
    ranked = select(*(TERMS.c[c] for c in TERM_CELL), rank).where(period).subquery()
    extra = session.execute(
        select(*(ranked.c[c] for c in TERM_CELL)).where(ranked.c.rank > keep)
    ).all()
    # One primary-key delete per row, executed many: SQLite scans the whole table for a
    # row-value IN (VALUES …), so deleting by tuple lists cost a full scan per chunk.
    by_key = delete(TERMS).where(*(TERMS.c[c] == bindparam(f"k_{c}") for c in TERM_CELL))
    rows = [{f"k_{c}": v for c, v in zip(TERM_CELL, row, strict=True)} for row in extra]
    for chunk in chunks(rows, 10_000):
        session.execute(by_key, chunk, execution_options={"synchronize_session": False})
    return len(extra)


def _marked_topics(workspace_id: int) -> Select[int]:
    """The workspace's topics waiting for a re-match (a subquery)."""
    return select(Topic.id).where(
        Topic.workspace_id == workspace_id, Topic.rematch_requested_at.is_not(None)
    )


def rebuild_term_rollups(
    session: Session,
    workspace_id: int,
    *,
    since: datetime | None = None,
    page: int = 1000,
    progress: Progress | None = None,
) -> int:
    """Recount the term rollups of stored matches (posts created at or after ``since``) from
    the posts' stored text: for matches recorded before term rollups existed, or after a
    change of the stopwords. Deleted posts are left out, as backfill leaves them out. Commits
    per page like backfill; returns the (cell, term) rows written."""
    marked = _marked_topics(workspace_id)  # their re-match rebuilds them
    where = [
        TopicMatch.workspace_id == workspace_id,
        Post.deleted.is_(False),
        TopicMatch.topic_id.not_in(marked),
    ]
    gone = [TermRollup.workspace_id == workspace_id, TermRollup.topic_id.not_in(marked)]
    if since is not None:
        where.append(TopicMatch.created_at >= _day(since))
        gone.append(TermRollup.day >= _day(since))
    session.execute(delete(TermRollup).where(*gone))
    total = (
        session.scalar(
            select(func.count())
            .select_from(TopicMatch)
            .join(Post, Post.id == TopicMatch.post_id)
            .where(*where)
        )
        or 0
    )
    if progress:
        progress(0, total)
    done = written = 0
    last = (0, 0)
    while True:
        rows = session.execute(
            select(
                TopicMatch.post_id,
                TopicMatch.topic_id,
                TopicMatch.created_at,
                TopicMatch.network,
                Post.text,
                Post.title,
                Post.hashtags,
                match_sentiment().label("sentiment_label"),
                PostEnrichment.lang,
            )
            .join(Post, Post.id == TopicMatch.post_id)
            .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
            .where(*where, tuple_(TopicMatch.post_id, TopicMatch.topic_id) > last)
            .order_by(TopicMatch.post_id, TopicMatch.topic_id)
            .limit(page)
        ).all()
        if not rows:
            break
        last = (rows[-1].post_id, rows[-1].topic_id)
        counts: dict[TermCell, int] = defaultdict(int)
        for row in rows:
            cell = (row.topic_id, _day(row.created_at), row.network, row.sentiment_label)
            terms = stored_post_terms(row.created_at, row.text, row.title, row.hashtags, row.lang)
            for term in terms:
                counts[(*cell, row.lang, term)] += 1
        written += _add_terms(session, workspace_id, counts)
        session.commit()
        done += len(rows)
        if progress:
            progress(done, total)
    return written


def rebuild_author_rollups(
    session: Session,
    workspace_id: int,
    *,
    since: datetime | None = None,
    page: int = 10_000,
    progress: Progress | None = None,
) -> int:
    """Recount the author rollups from the stored matches (of posts created at or after
    ``since``): a repair, since migration 0019 and every recorded match keep them. Matches of
    deleted posts are counted, as live maintenance counts them (top authors takes them off
    when reading). Commits per page; returns the rows written."""
    topics = select(Topic.id).where(
        Topic.workspace_id == workspace_id, Topic.rematch_requested_at.is_(None)
    )  # a marked topic's re-match rebuilds its rollups
    where: list[ColumnElement[bool]] = [
        TopicMatch.workspace_id == workspace_id,
        TopicMatch.topic_id.in_(topics),
        TopicMatch.author_id.is_not(None),
    ]
    gone: list[ColumnElement[bool]] = [AuthorRollup.topic_id.in_(topics)]
    if since is not None:
        where.append(TopicMatch.created_at >= _day(since))
        gone.append(AuthorRollup.day >= _day(since))
    session.execute(delete(AuthorRollup).where(*gone))
    total = session.scalar(select(func.count()).select_from(TopicMatch).where(*where)) or 0
    if progress:
        progress(0, total)
    done = written = 0
    last = (0, 0)
    while True:
        rows = session.execute(
            select(
                TopicMatch.post_id,
                TopicMatch.topic_id,
                TopicMatch.author_id,
                TopicMatch.created_at,
                TopicMatch.network,
            )
            .where(*where, tuple_(TopicMatch.post_id, TopicMatch.topic_id) > last)
            .order_by(TopicMatch.post_id, TopicMatch.topic_id)
            .limit(page)
        ).all()
        if not rows:
            break
        last = (rows[-1].post_id, rows[-1].topic_id)
        counts: dict[AuthorCell, int] = defaultdict(int)
        for row in rows:
            counts[(row.topic_id, row.author_id, _day(row.created_at), row.network)] += 1
        written += _add_author_days(session, counts)
        session.commit()
        done += len(rows)
        if progress:
            progress(done, total)
    session.commit()
    return written


# ---- backfill -------------------------------------------------------------------------------


def post_item(row: Any) -> PostItem:
    """A stored post (joined with its author's handle and followers) as the matcher sees it."""
    return PostItem(
        native_id=row.native_id,
        author=AuthorRef(native_id="", handle=row.handle, followers=row.followers),
        created_at=row.created_at,
        text=row.text or "",
        kind="reshare" if row.kind == "reshare" else "post",
        title=row.title,
        langs=tuple(row.langs or ()),
        reply_to=row.reply_to,
        thread_root=row.thread_root,
        reshare_of=row.reshare_of,
        quote_of=row.quote_of,
        mentions=tuple(row.mentions or ()),
        hashtags=tuple(row.hashtags or ()),
        links=tuple(row.links or ()),
        likes=row.likes,
        reshares=row.reshares,
        replies=row.replies,
        quotes=row.quotes,
        network=row.network,
    )


def workspace_matcher(session: Session, workspace_id: int) -> Matcher[int]:
    """A matcher of the workspace's active topics, keyed by topic id; rules that no longer
    parse (a grammar change) are left out rather than stopping everything."""
    matcher: Matcher[int] = Matcher()
    rules = session.execute(
        select(Topic.id, Topic.rule).where(Topic.workspace_id == workspace_id, Topic.active)
    )
    for topic_id, rule in rules:
        try:
            matcher.add(topic_id, rule)
        except QueryError:
            continue
    return matcher


_POST_COLUMNS = (
    Post.id,
    Post.network,
    Post.native_id,
    Post.kind,
    Post.text,
    Post.title,
    Post.langs,
    Post.created_at,
    Post.reply_to,
    Post.thread_root,
    Post.reshare_of,
    Post.quote_of,
    Post.mentions,
    Post.hashtags,
    Post.links,
    Post.likes,
    Post.reshares,
    Post.replies,
    Post.quotes,
    Author.handle,
    Author.followers,
)


def _post_page(
    session: Session, where: Sequence[ColumnElement[bool]], after: int, page: int
) -> Sequence[Any]:
    """The next ``page`` stored posts (with their author) after post id ``after``."""
    return session.execute(
        select(*_POST_COLUMNS)
        .join(Author, Author.id == Post.author_id)
        .where(*where, Post.id > after)
        .order_by(Post.id)
        .limit(page)
    ).all()


def _match_page(
    session: Session, rows: Sequence[Any], matcher: Matcher[int], needed: int | None = None
) -> list[Matched]:
    """The posts of a page the matcher matches (only those matching topic ``needed``, when
    given), as ``record_matches`` takes them: matched as a fresh live ingest would be."""
    matched: list[Matched] = []
    resolved = resolved_for_posts(session, [row.id for row in rows])
    for row in rows:
        item = post_item(row)
        doc = Document.from_post(item, resolved=resolved)
        topic_ids = matcher.match(doc)
        if topic_ids and (needed is None or needed in topic_ids):
            matched.append(
                Matched(
                    row.network,
                    row.native_id,
                    tuple(sorted(topic_ids)),
                    engagement(item),
                    candidate=Candidate(item, doc),
                    terms=post_terms(item),
                )
            )
    return matched


@dataclass
class BackfillResult:
    posts: int = 0
    matched_posts: int = 0
    record: RecordResult = field(default_factory=RecordResult)
    compacted: int = 0  # term rollup rows of closed days dropped by compaction


def backfill(
    session: Session,
    workspace_id: int,
    *,
    since: datetime | None = None,
    page: int = 1000,
    progress: Progress | None = None,
    enrichment: Enrichment | None = None,
) -> BackfillResult:
    """Match the workspace's stored posts (created at or after ``since``) against its active
    topics, recording matches, enrichments and rollups exactly as the live stage does.

    Commits after each page of posts, so a long run holds no long write lock; an interrupted
    run is finished by running it again (every write is idempotent).
    """
    enrichment = enrichment or Enrichment()
    matcher = workspace_matcher(session, workspace_id)
    result = BackfillResult()
    where = [unindexed(Post.workspace_id) == workspace_id, Post.deleted.is_(False)]
    if since is not None:
        where.append(Post.created_at >= since)
    total = session.scalar(select(func.count()).select_from(Post).where(*where)) or 0
    if progress:
        progress(0, total)
    if not len(matcher):
        return result
    last_id = 0
    while True:
        rows = _post_page(session, where, last_id, page)
        if not rows:
            break
        last_id = rows[-1].id
        matched = _match_page(session, rows, matcher)
        result.posts += len(rows)
        result.matched_posts += len(matched)
        result.record.add(record_matches(session, workspace_id, matched, enrichment))
        session.commit()
        if progress:
            progress(result.posts, total)
    result.compacted = compact_closed_days(session, workspace_id, since)
    session.commit()
    return result


def compact_closed_days(session: Session, workspace_id: int, since: datetime | None) -> int:
    """Compact the term rollups of every day before today (UTC) from ``since`` on."""
    start = since if since is not None else EPOCH
    return compact_term_rollups(session, workspace_id, start, _day(utcnow()))


LIVE_COMPACT_DAYS = 2  # closed days the pipeline compacts once a day (late posts land there)


def compact_recent_days(session: Session, workspace_id: int) -> int:
    """The pipeline's daily compaction: the last ``LIVE_COMPACT_DAYS`` closed days."""
    return compact_closed_days(
        session, workspace_id, _day(utcnow()) - timedelta(days=LIVE_COMPACT_DAYS)
    )


# ---- re-matching one topic after its rule changed -------------------------------------------

REMATCH_TABLES = (MATCHES, ROLLUP_AUTHORS, ROLLUPS, TERMS, AUTHOR_ROLLUPS)


@dataclass
class RematchResult:
    posts: int = 0  # stored posts matched again
    matched_posts: int = 0
    removed: int = 0  # rows of the old matches and rollups deleted
    pages: int = 0  # transactions of deletes or posts
    record: RecordResult = field(default_factory=RecordResult)
    compacted: int = 0
    done: bool = False  # all stored posts matched again, the mark cleared
    superseded: bool = False  # the rule changed again meanwhile: the next run starts over


def request_rematch(session: Session, workspace_id: int, name: str) -> Topic:
    """Mark a topic for re-matching (``update_topic`` does it when the rule changes); a re-match
    already under way is started over."""
    topic = get_topic(session, workspace_id, name)
    topic.rematch_requested_at = _stamp(session, workspace_id)
    topic.rematch_cursor = None
    session.flush()
    return topic


def _claim(
    session: Session,
    topic_id: int,
    requested: datetime,
    cursor: int | None,
    to: int | None,
) -> bool:
    """Move the re-match's cursor from ``cursor`` to ``to`` in the caller's transaction, if it
    is still where this run left it: a compare-and-set that makes two runs (the worker and the
    CLI) take turns page by page, and stops a run whose rule changed meanwhile. Its write also
    takes SQLite's write lock before anything is read for the page."""
    at = Topic.rematch_cursor.is_(None) if cursor is None else Topic.rematch_cursor == cursor
    claimed = session.execute(
        update(Topic)
        .where(Topic.id == topic_id, Topic.rematch_requested_at == requested, at)
        .values(rematch_cursor=to)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _delete_topic_page(session: Session, table: Table, topic_id: int, page: int) -> int:
    """Delete up to ``page`` rows of one topic from a match or rollup table, by primary key."""
    keys = [c.name for c in table.primary_key.columns]
    rows = session.execute(
        select(*(table.c[k] for k in keys)).where(table.c.topic_id == topic_id).limit(page)
    ).all()
    by_key = delete(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
    params = [{f"k_{k}": v for k, v in zip(keys, row, strict=True)} for row in rows]
    if params:
        session.execute(by_key, params, execution_options={"synchronize_session": False})
    return len(rows)


def _rematch_matcher(session: Session, workspace_id: int, topic: Topic) -> Matcher[int]:
    """The workspace's active topics, and this one even when paused: the other topics a post
    matches decide its per-topic sentiment, as in live matching."""
    matcher = workspace_matcher(session, workspace_id)
    if not topic.active:
        with suppress(QueryError):  # stored before a grammar change: it matches nothing
            matcher.add(topic.id, topic.rule)
    return matcher


def rematch_topic(
    session: Session,
    workspace_id: int,
    name: str,
    *,
    page: int = 1000,
    max_pages: int | None = None,
    progress: Progress | None = None,
    enrichment: Enrichment | None = None,
) -> RematchResult:
    """Match the workspace's stored, not deleted posts against one topic's current rule again,
    so that its matches and every rollup derived from them (hourly with their author sets,
    term, author) equal what a backfill into a new topic with this rule would record.

    Runs while ingest goes on, in transactions of ``page`` posts, and resumes where it stopped
    (``topics.rematch_cursor``); ``max_pages`` bounds one call (the pipeline's share of a
    tick). The topic is marked first when it is not (``request_rematch``). Why it neither
    loses nor double-counts a post when live matching runs beside it:

    * While the mark is set, live matching and backfill record nothing for the topic
      (``record_matches``), so the re-match is its only writer and every match it inserts is
      new: rollups are counters, and a match written twice would count twice.
    * Step 1 deletes the topic's matches and rollups page by page. Its first transaction takes
      the topic row ``FOR UPDATE``, so on PostgreSQL it waits for the writers that read the
      topic before the mark was set (they hold ``FOR KEY SHARE``) and deletes what they wrote.
    * Step 2 matches the stored posts in id order, moving the cursor with each page's writes,
      in one transaction (a compare-and-set: an interrupted or concurrent run resumes or
      yields, and a new edit of the rule stops this run, whose next run starts over).
    * Step 3, once no post is left, takes the topic ``FOR UPDATE`` again, matches the posts
      stored since (those live matching skipped), and clears the mark in the same
      transaction: a writer still holding the old view of the mark has committed by then, and
      the next ones see it cleared and record the topic themselves. Post ids grow in commit
      order per workspace (one writer per workspace, as the pipeline's cursors assume).
    """
    enrichment = enrichment or Enrichment()
    result = RematchResult()
    topic = get_topic(session, workspace_id, name)
    if topic.rematch_requested_at is None:
        request_rematch(session, workspace_id, name)
        session.commit()
    topic_id, requested = topic.id, cast(datetime, topic.rematch_requested_at)
    cursor = topic.rematch_cursor
    where = [unindexed(Post.workspace_id) == workspace_id, Post.deleted.is_(False)]
    session.commit()  # release the read: each step below is its own transaction
    locked = select(Topic.id).where(Topic.id == topic_id).with_for_update()

    def out_of_pages() -> bool:
        return max_pages is not None and result.pages >= max_pages

    # Step 1: the old matches and rollups go, a page at a time, then the cursor starts at 0.
    if cursor is None:
        for table in REMATCH_TABLES:
            while True:
                if out_of_pages():
                    return result
                if not _claim(session, topic_id, requested, None, None):
                    session.rollback()
                    result.superseded = True
                    return result
                session.execute(locked)
                deleted = _delete_topic_page(session, table, topic_id, page * 10)
                session.commit()
                result.pages += 1
                result.removed += deleted
                if deleted < page * 10:
                    break
        if not _claim(session, topic_id, requested, None, 0):
            session.rollback()
            result.superseded = True
            return result
        session.commit()
        cursor = 0

    # Step 2: the stored posts, in id order, each page with its cursor move.
    matcher = _rematch_matcher(session, workspace_id, topic)
    total = session.scalar(select(func.count()).select_from(Post).where(*where)) or 0
    done = session.scalar(select(func.count()).select_from(Post).where(*where, Post.id <= cursor))
    if progress:
        progress(done or 0, total)
    while True:
        rows = _post_page(session, where, cursor, page)
        if not rows or out_of_pages():
            break
        if not _claim(session, topic_id, requested, cursor, rows[-1].id):
            session.rollback()
            result.superseded = True
            return result
        result.record.add(
            _rematch_rows(session, workspace_id, topic_id, rows, matcher, enrichment, result)
        )
        session.commit()
        cursor = rows[-1].id
        result.pages += 1
        if progress:
            progress(min(total, (done or 0) + result.posts), total)
    if rows:
        return result

    # Step 3: the posts stored since, and the mark cleared, with no writer in between.
    if not _claim(session, topic_id, requested, cursor, cursor):
        session.rollback()
        result.superseded = True
        return result
    session.execute(locked)
    while rows := _post_page(session, where, cursor, page):
        result.record.add(
            _rematch_rows(session, workspace_id, topic_id, rows, matcher, enrichment, result)
        )
        cursor = rows[-1].id
        if len(rows) < page:  # later posts' writers wait for the lock and see the mark cleared
            break
    session.execute(
        update(Topic)
        .where(Topic.id == topic_id)
        .values(rematch_requested_at=None, rematch_cursor=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    result.compacted = compact_term_rollups(
        session, workspace_id, EPOCH, _day(utcnow()), topic_id=topic_id
    )
    session.commit()
    result.done = True
    if progress:
        progress(total, total)
    return result


def _rematch_rows(
    session: Session,
    workspace_id: int,
    topic_id: int,
    rows: Sequence[Any],
    matcher: Matcher[int],
    enrichment: Enrichment,
    result: RematchResult,
) -> RecordResult:
    """Match one page of posts and record the topic's matches (the caller's transaction)."""
    matched = _match_page(session, rows, matcher, needed=topic_id)
    result.posts += len(rows)
    result.matched_posts += len(matched)
    return record_matches(session, workspace_id, matched, enrichment, only=topic_id)


def pending_rematches(session: Session, workspace_id: int) -> list[str]:
    """Names of the workspace's topics waiting to be matched again, oldest request first."""
    return list(
        session.scalars(
            select(Topic.name)
            .where(Topic.workspace_id == workspace_id, Topic.rematch_requested_at.is_not(None))
            .order_by(Topic.rematch_requested_at, Topic.id)
        )
    )
