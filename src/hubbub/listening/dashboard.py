"""The topic dashboard's questions, answered from the rollups (volume, splits, share of voice,
top terms) and from the stored matches (top authors, matching posts).

They live in the listening layer, not in the web app, so the dashboard benchmark times exactly
the functions the page calls. Every question takes the same ``Slice`` (network, language,
sentiment class): a filter of the page applies to every panel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVarTuple, cast

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, true
from sqlalchemy.orm import Session

from hubbub.listening.enrichment import declared_language
from hubbub.listening.models import (
    AuthorRollup,
    HourlyRollup,
    PostEnrichment,
    TermRollup,
    Topic,
    TopicMatch,
    match_sentiment,
)
from hubbub.posts.models import Author, Post
from hubbub.store.dialect import chunks, in_keys, off_index
from hubbub.workspaces.queries import OwnAccounts, own_accounts

SENTIMENT_CLASSES = ("negative", "neutral", "positive")
DAY = timedelta(days=1)
WALK_ROWS = 5_000  # most rows per network read down the author counters for first guesses


@dataclass(frozen=True)
class Slice:
    """Dashboard filters; ``None`` means all."""

    network: str | None = None
    lang: str | None = None
    sentiment: str | None = None

    def on(self, table: Any) -> list[ColumnElement[bool]]:
        """Conditions on a table with ``network``, ``lang`` and ``sentiment_label`` columns."""
        found: list[ColumnElement[bool]] = []
        if self.network is not None:
            found.append(table.network == self.network)
        if self.lang is not None:
            found.append(table.lang == self.lang)
        if self.sentiment is not None:
            found.append(table.sentiment_label == self.sentiment)
        return found

    @classmethod
    def read(cls, network: str | None, lang: str | None, sentiment: str | None) -> Slice:
        """The filters as a person types them: a network in any case, a language by any tag
        (filed under its primary code, so ``en-US`` and ``EN`` are ``en``); empty is all."""
        return cls(
            network=(network or "").strip().lower() or None,
            lang=declared_language([lang]) if lang else None,
            sentiment=sentiment or None,
        )

    @property
    def needs_enrichment(self) -> bool:
        return self.lang is not None or self.sentiment is not None


ALL = Slice()
Row = TypeVarTuple("Row")


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def period(now: datetime, days: int = 30) -> tuple[datetime, datetime]:
    """[midnight UTC ``days - 1`` days ago, the end of the current hour): the dashboard's
    period of ``days`` days."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return _day(now.astimezone(UTC)) - timedelta(days=days - 1), end


def hourly_volume(
    session: Session, topic_id: int, start: datetime, end: datetime, where: Slice = ALL
) -> list[tuple[datetime, int]]:
    """Posts per rollup hour in [start, end), oldest first (days are summed by the caller)."""
    rows = session.execute(
        select(HourlyRollup.hour, func.sum(HourlyRollup.posts))
        .where(
            HourlyRollup.topic_id == topic_id,
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
            *where.on(HourlyRollup),
        )
        .group_by(HourlyRollup.hour)
        .order_by(HourlyRollup.hour)
    )
    return [(hour, int(total or 0)) for hour, total in rows]


_SLICES = {
    "sentiment": HourlyRollup.sentiment_label,
    "network": HourlyRollup.network,
    "lang": HourlyRollup.lang,
}


def _in_period(topic_id: int, start: datetime, end: datetime, where: Slice) -> list[Any]:
    return [
        HourlyRollup.topic_id == topic_id,
        HourlyRollup.hour >= start,
        HourlyRollup.hour < end,
        *where.on(HourlyRollup),
    ]


def rollup_split(
    session: Session,
    topic_id: int,
    start: datetime,
    end: datetime,
    by: str,
    where: Slice = ALL,
) -> list[tuple[str, int]]:
    """Posts per sentiment class, network or language over [start, end), largest first."""
    column = _SLICES[by]
    total = func.sum(HourlyRollup.posts)
    rows = session.execute(
        select(column, total)
        .where(*_in_period(topic_id, start, end, where))
        .group_by(column)
        .order_by(total.desc(), column)
    )
    return [(str(label), int(count or 0)) for label, count in rows]


def rollup_splits(
    session: Session, topic_id: int, start: datetime, end: datetime, where: Slice = ALL
) -> dict[str, list[tuple[str, int]]]:
    """Every :func:`rollup_split` (keyed "sentiment", "network", "lang") from one pass over
    the period's rollup rows instead of one each."""
    columns = list(_SLICES.values())
    rows = session.execute(
        select(*columns, func.sum(HourlyRollup.posts))
        .where(*_in_period(topic_id, start, end, where))
        .group_by(*columns)
    )
    counts: dict[str, Counter[str]] = {by: Counter() for by in _SLICES}
    for *labels, total in rows:
        for by, label in zip(_SLICES, labels, strict=True):
            counts[by][str(label)] += int(total or 0)
    return {
        by: sorted(found.items(), key=lambda pair: (-pair[1], pair[0]))
        for by, found in counts.items()
    }


def topic_volumes(
    session: Session, topic_ids: list[int], start: datetime, end: datetime, where: Slice = ALL
) -> dict[int, int]:
    """Rollup posts per topic over [start, end) (share of voice)."""
    if not topic_ids:
        return {}
    rows = session.execute(
        select(HourlyRollup.topic_id, func.sum(HourlyRollup.posts))
        .where(
            HourlyRollup.topic_id.in_(topic_ids),
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
            *where.on(HourlyRollup),
        )
        .group_by(HourlyRollup.topic_id)
    )
    found = {topic_id: int(total or 0) for topic_id, total in rows}
    return {topic_id: found.get(topic_id, 0) for topic_id in topic_ids}


@dataclass(frozen=True)
class Voice:
    """One topic's part of the conversation: its posts and their percentage of the whole."""

    topic: Topic
    posts: int
    percent: float


def share_of_voice(
    session: Session, topic: Topic, start: datetime, end: datetime, where: Slice = ALL
) -> list[Voice]:
    """The topic and the workspace's competitor topics over [start, end), the topic first and
    the competitors by name: each one's rollup posts and share of their sum."""
    competitors = session.scalars(
        select(Topic)
        .where(
            Topic.workspace_id == topic.workspace_id,
            Topic.kind == "competitor",
            Topic.id != topic.id,
        )
        .order_by(Topic.name)
    )
    topics = [topic, *competitors]
    volumes = topic_volumes(session, [t.id for t in topics], start, end, where)
    total = sum(volumes.values())
    return [
        Voice(t, volumes[t.id], 100.0 * volumes[t.id] / total if total else 0.0) for t in topics
    ]


def top_terms(
    session: Session,
    topic_id: int,
    start: datetime,
    end: datetime,
    where: Slice = ALL,
    limit: int = 20,
) -> list[tuple[str, int]]:
    """Terms in the most posts of the UTC days overlapping [start, end), most first.

    Counts of closed days are exact for the terms compaction kept in each cell; a term that
    fell out of a small cell's kept list on some day is missing that day's few posts.
    """
    posts = func.sum(TermRollup.posts)
    rows = session.execute(
        select(TermRollup.term, posts)
        .where(
            TermRollup.topic_id == topic_id,
            TermRollup.day >= _day(start),
            TermRollup.day < end,
            *where.on(TermRollup),
        )
        .group_by(TermRollup.term)
        .order_by(posts.desc(), TermRollup.term)
        .limit(limit)
    )
    return [(str(term), int(count or 0)) for term, count in rows]


def _matches(
    query: Select[*Row],
    topic_id: int,
    start: datetime | None,
    end: datetime | None,
    where: Slice,
    *,
    topic_index: bool = True,
) -> Select[*Row]:
    """``query`` restricted to the topic's matches in [start, end) of the slice.

    ``topic_index=False`` writes the topic test so SQLite cannot scan the (topic, created)
    index with it, for a query that must start from another table's few rows.
    """
    topic = TopicMatch.topic_id if topic_index else TopicMatch.topic_id + 0
    query = query.where(topic == topic_id)
    if start is not None:
        query = query.where(TopicMatch.created_at >= start)
    if end is not None:
        query = query.where(TopicMatch.created_at < end)
    if where.network is not None:
        query = query.where(TopicMatch.network == where.network)
    if where.needs_enrichment:
        query = query.join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
        if where.lang is not None:
            query = query.where(PostEnrichment.lang == where.lang)
        if where.sentiment is not None:
            query = query.where(match_sentiment() == where.sentiment)
    return query


def _top_from_matches(
    session: Session, topic_id: int, start: datetime, end: datetime, where: Slice, limit: int
) -> list[tuple[int, int]]:
    """Top (author, matches) counted from the matches: for periods within one day and for
    language and sentiment filters, which the author rollups do not hold.

    Each match carries its post's author, so the counts come from the index (topic, created,
    author) alone; the matches of deleted posts — few, found from the posts' partial index of
    deleted ones — are counted apart and taken off.
    """
    n = func.count()  # not count(post_id): the index holds no post_id, and must suffice
    raw = (
        _matches(
            select(TopicMatch.author_id.label("author_id"), n.label("n")),
            topic_id,
            start,
            end,
            where,
        )
        .group_by(TopicMatch.author_id)
        .subquery()
    )
    workspace = select(Topic.workspace_id).where(Topic.id == topic_id).scalar_subquery()
    gone = (
        _matches(
            select(TopicMatch.author_id.label("author_id"), n.label("n"))
            .select_from(Post)
            .join(TopicMatch, TopicMatch.post_id == Post.id)
            .where(Post.workspace_id == workspace, Post.deleted == true()),
            topic_id,
            start,
            end,
            where,
            topic_index=False,
        )
        .group_by(TopicMatch.author_id)
        .subquery()
    )
    kept = (raw.c.n - func.coalesce(gone.c.n, 0)).label("kept")
    counted = session.execute(
        select(raw.c.author_id, kept)
        .outerjoin(gone, gone.c.author_id == raw.c.author_id)
        .where(raw.c.author_id.is_not(None), kept > 0)
        .order_by(kept.desc(), raw.c.author_id)
        .limit(limit)
    ).all()
    return [(int(author_id), int(count)) for author_id, count in counted]


@dataclass(frozen=True)
class _Days:
    """How [start, end) is counted: author rollup days [first, last), plus the live matches of
    ``add`` ranges, minus those of ``sub`` ranges (the parts of rollup days outside the period)."""

    first: datetime
    last: datetime
    add: tuple[tuple[datetime, datetime], ...]
    sub: tuple[tuple[datetime, datetime], ...]

    @property
    def days(self) -> int:
        return (self.last - self.first) // DAY


def _hour_volumes(
    session: Session, topic_id: int, day: datetime, where: Slice
) -> list[tuple[datetime, int]]:
    """Matches per hour of one UTC day (from the hourly rollups), to weigh the two ways of
    counting a partial day."""
    return [
        (hour.astimezone(UTC), n)
        for hour, n in hourly_volume(session, topic_id, day, day + DAY, where)
    ]


def _plan_days(
    session: Session, topic_id: int, start: datetime, end: datetime, where: Slice
) -> _Days | None:
    """Whole days from the author rollups; a partial day at either end is counted from its
    matches in the period or, when fewer, as its rollup day less its matches outside the
    period (the open day's future hours hold none). ``None``: no day to take from the rollups.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first, last = _day(start), _day(end)
    if first == last:
        return None
    add: list[tuple[datetime, datetime]] = []
    sub: list[tuple[datetime, datetime]] = []
    if start > first:
        hours = _hour_volumes(session, topic_id, first, where)
        outside = sum(n for hour, n in hours if hour < start)
        if outside <= sum(n for _, n in hours) - outside:
            sub.append((first, start))
        else:
            add.append((start, first + DAY))
            first += DAY
    if end > last:
        hours = _hour_volumes(session, topic_id, last, where)
        inside = sum(n for hour, n in hours if hour < end)
        if sum(n for _, n in hours) - inside <= inside:
            sub.append((end, last + DAY))
            last += DAY
        else:
            add.append((last, end))
    if first >= last:
        return None
    return _Days(first, last, tuple(add), tuple(sub))


def _match_counts(
    session: Session,
    topic_id: int,
    ranges: Sequence[tuple[datetime, datetime]],
    where: Slice,
    *,
    deleted: bool = False,
) -> Counter[int]:
    """Matches per author created in the ranges; ``deleted``: only those of deleted posts,
    found from the posts' partial index of deleted ones (few), not from the matches."""
    found: Counter[int] = Counter()
    for since, until in ranges:
        query = select(TopicMatch.author_id, func.count())
        if deleted:
            workspace = select(Topic.workspace_id).where(Topic.id == topic_id).scalar_subquery()
            query = (
                query.select_from(Post)
                .join(TopicMatch, TopicMatch.post_id == Post.id)
                .where(Post.workspace_id == workspace, Post.deleted == true())
            )
        rows = session.execute(
            _matches(query, topic_id, since, until, where, topic_index=not deleted)
            .where(TopicMatch.author_id.is_not(None))
            .group_by(TopicMatch.author_id)
        )
        for author_id, n in rows:
            found[int(cast(int, author_id))] += int(n)
    return found


def _rollup_networks(session: Session, topic_id: int) -> list[str]:
    """Networks of the topic's author rollup rows: one index seek each (few networks)."""
    found: list[str] = []
    while True:
        query = select(func.min(AuthorRollup.network)).where(AuthorRollup.topic_id == topic_id)
        if found:
            query = query.where(AuthorRollup.network > found[-1])
        network = session.scalar(query)
        if network is None:
            return found
        found.append(network)


def _top_from_rollups(
    session: Session,
    topic_id: int,
    start: datetime,
    end: datetime,
    where: Slice,
    limit: int,
    days: _Days,
) -> list[tuple[int, int]]:
    """The exact top ``limit`` (author, matches) of the period, reading few rollup rows.

    An author's count is its rollup rows of the period's days, plus and minus the live matches
    of the partial days, minus the matches of its deleted posts. Few authors can be in the
    top: the authors of the largest rollup rows give a ``limit``-th count T; an author none of
    whose rows reaches τ has at most (τ − 1) × rows-per-author + its added live matches, so with
    τ chosen to keep that below T, the authors of rows ≥ τ (read from the counter index) hold
    the whole top. When τ would be 1 every row is summed.
    """
    rollup = AuthorRollup
    period = [rollup.topic_id == topic_id, rollup.day >= days.first, rollup.day < days.last]
    networks = [where.network] if where.network is not None else _rollup_networks(session, topic_id)
    plus = _match_counts(session, topic_id, days.add, where)
    minus = _match_counts(session, topic_id, days.sub, where)
    gone = _match_counts(session, topic_id, [(start, end)], where, deleted=True)

    # Plain column reads, so Core rows (no ORM loading), and the author lists as one JSON
    # parameter on SQLite: a thousand guesses no longer cost a placeholder each.
    conn = session.connection()
    summed = (
        select(rollup.author_id, func.sum(rollup.posts))
        .where(*period, in_keys(rollup.author_id, conn.dialect), rollup.network.in_(networks))
        .group_by(rollup.author_id)
    )

    def totals(authors: set[int]) -> dict[int, int]:
        rolled: Counter[int] = Counter()
        for chunk in chunks(sorted(authors)):
            rolled.update({int(a): int(n) for a, n in conn.execute(summed, {"keys": chunk}).all()})
        return {a: rolled[a] + plus[a] - minus[a] - gone[a] for a in authors}

    def ranked(counts: dict[int, int]) -> list[tuple[int, int]]:
        kept = sorted((-n, a) for a, n in counts.items() if n > 0)
        return [(a, -n) for n, a in kept[:limit]]

    # First guesses: the authors of each network's largest rows, and of the most live matches.
    # The day range stays off the counter index, so SQLite seeks (topic, network) and walks
    # the counter from the top instead of skip-scanning the days (see ``off_index``).
    walk = [rollup.topic_id == topic_id, off_index(rollup.day) >= days.first]
    walk.append(off_index(rollup.day) < days.last)
    guesses: set[int] = {a for a, _ in plus.most_common(limit)}
    for network in networks:
        guesses.update(
            conn.scalars(
                select(rollup.author_id)
                .where(*walk, rollup.network == network)
                .order_by(rollup.posts.desc())
                .limit(min(limit * days.days, WALK_ROWS))  # enough rows for `limit` authors
            ).all()
        )
    counts = totals(guesses)
    top = ranked(counts)
    bar = top[-1][1] if len(top) == limit else 0  # T: the limit-th count so far
    # Authors with many added live matches are counted too, so the rest's live part is small.
    more = {a for a, n in plus.items() if n >= bar // 2 and a not in counts}
    counts |= totals(more)
    top = ranked(counts)
    bar = top[-1][1] if len(top) == limit else 0
    live_rest = max((n for a, n in plus.items() if a not in counts), default=0)
    # An author belongs to one network, so it has at most one row a day.
    rows_per_author = days.days
    if bar > 0 and rows_per_author == 0 and live_rest < bar:
        return top
    tau = (bar - 1 - live_rest) // rows_per_author + 1 if bar > 0 and rows_per_author else 0
    if tau >= 2:
        # Not DISTINCT: SQLite would then walk the primary key (author order) over every row.
        heavy = set(
            conn.scalars(
                select(rollup.author_id).where(
                    *walk, rollup.network.in_(networks), rollup.posts >= tau
                )
            ).all()
        )
        counts |= totals(heavy - counts.keys())
        return ranked(counts)
    # A flat distribution: every author of the period is counted.
    rows = conn.execute(
        select(rollup.author_id, func.sum(rollup.posts))
        .where(*period, rollup.network.in_(networks))
        .group_by(rollup.author_id)
    ).all()
    everyone = Counter({int(a): int(n) for a, n in rows})
    everyone.update(plus)
    return ranked({a: n - minus[a] - gone[a] for a, n in everyone.items()})


class TopAuthor(NamedTuple):
    author: Author
    posts: int
    own: bool
    """One of the workspace's own accounts (`hubbub.workspaces.queries.own_accounts`)."""


def top_authors(
    session: Session,
    topic_id: int,
    start: datetime,
    end: datetime,
    where: Slice = ALL,
    limit: int = 10,
) -> list[TopAuthor]:
    """Authors with the most matching posts created in [start, end) (deleted posts left out),
    most first, ties by author id.

    Whole UTC days come from the author rollups, partial days from the matches; language and
    sentiment filters, and periods inside one day, count the matches. Exact either way.
    The workspace's own accounts stay in the list, marked ``own``: how much of the volume is
    the brand's own is worth seeing.
    """
    if limit <= 0:
        return []
    days = None if where.needs_enrichment else _plan_days(session, topic_id, start, end, where)
    if days is None:
        counted = _top_from_matches(session, topic_id, start, end, where, limit)
    else:
        counted = _top_from_rollups(session, topic_id, start, end, where, limit, days)
    authors = {
        a.id: a
        for a in session.scalars(select(Author).where(Author.id.in_([a for a, _ in counted])))
    }
    if not counted:
        return []
    workspace_id = session.scalar(select(Topic.workspace_id).where(Topic.id == topic_id))
    own = own_accounts(session, workspace_id) if workspace_id is not None else OwnAccounts()
    people = [(authors[author_id], count) for author_id, count in counted]
    return [TopAuthor(a, n, own.owns(a.network, a.native_id, a.handle)) for a, n in people]


def _containing(term: str) -> ColumnElement[bool]:
    """Posts whose text contains the term, case-insensitive (a hashtag with its ``#``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Post.text.ilike(f"%{escaped}%", escape="\\")


def _matching(
    query: Select[*Row],
    topic_id: int,
    since: datetime | None,
    until: datetime | None,
    where: Slice,
    author_id: int | None,
    term: str | None,
) -> Select[*Row]:
    """``query`` from the topic's matches joined to their live posts, of the slice, author and
    term: what :func:`matching_posts` lists and :func:`count_matching_posts` counts."""
    query = query.select_from(TopicMatch).join(Post, Post.id == TopicMatch.post_id)
    query = _matches(query.where(Post.deleted.is_(False)), topic_id, since, until, where)
    if author_id is not None:
        query = query.where(Post.author_id == author_id)
    if term:
        query = query.where(_containing(term))
    return query


def _after(before: tuple[datetime, int]) -> ColumnElement[bool]:
    """Matches after ``before`` (a post's time and id) in newest-first order."""
    moment, post_id = before
    return or_(
        TopicMatch.created_at < moment,
        and_(TopicMatch.created_at == moment, TopicMatch.post_id < post_id),
    )


def matching_posts(
    session: Session,
    topic_id: int,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Slice = ALL,
    author_id: int | None = None,
    term: str | None = None,
    before: tuple[datetime, int] | None = None,
) -> list[tuple[Post, Author]]:
    """The topic's matched posts, newest first (deleted ones left out); ``term`` keeps posts
    whose text contains it (the drill-down of a top term: a substring, so a little wider than
    the term's word match); ``before`` (a post's time and id) keeps those after it in this
    order, for keyset pages."""
    query = _matching(select(Post, Author), topic_id, since, until, where, author_id, term)
    query = query.join(Author, Author.id == Post.author_id)
    if before is not None:
        # A plain range first, so the (topic, created) index seeks to the page's start.
        query = query.where(TopicMatch.created_at <= before[0], _after(before))
    rows = session.execute(
        query.order_by(TopicMatch.created_at.desc(), TopicMatch.post_id.desc()).limit(limit)
    ).all()
    return [(post, author) for post, author in rows]


def count_matching_posts(
    session: Session,
    topic_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Slice = ALL,
    author_id: int | None = None,
    term: str | None = None,
    before: tuple[datetime, int] | None = None,
) -> tuple[int, int]:
    """(all, ahead): how many posts :func:`matching_posts` lists over every page, and how many
    of them come before the page that starts after ``before`` (0 without it), in one scan."""
    ahead: ColumnElement[Any] = literal(0)
    if before is not None:
        ahead = func.coalesce(func.sum(case((_after(before), 0), else_=1)), 0)
    query = _matching(select(func.count(), ahead), topic_id, since, until, where, author_id, term)
    total, before_page = session.execute(query).one()
    return int(total or 0), int(before_page or 0)


@dataclass(frozen=True)
class MatchDetail:
    """What a matched post counts as in its topic: sentiment label and score (the topic's own
    verdict where it has one, else the post's) and the language it is filed under."""

    sentiment: str
    score: float
    lang: str


def match_details(
    session: Session, topic_id: int, post_ids: Sequence[int]
) -> dict[int, MatchDetail]:
    """:class:`MatchDetail` of these posts in this topic (posts not enriched are left out)."""
    if not post_ids:
        return {}
    score = case(
        (TopicMatch.sentiment_label.is_not(None), TopicMatch.sentiment_score),
        else_=PostEnrichment.sentiment_score,
    )
    rows = session.execute(
        select(TopicMatch.post_id, match_sentiment(), score, PostEnrichment.lang)
        .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
        .where(TopicMatch.topic_id == topic_id, TopicMatch.post_id.in_(sorted(set(post_ids))))
    )
    return {
        int(post_id): MatchDetail(str(label), float(value or 0.0), str(lang))
        for post_id, label, value, lang in rows
    }


def match_sentiments(session: Session, topic_id: int, post_ids: Sequence[int]) -> dict[int, str]:
    """The sentiment each of these posts counts under in this topic (its own verdict for the
    topic, else the post's): what the dashboard's splits and filter counted it as."""
    if not post_ids:
        return {}
    rows = session.execute(
        select(TopicMatch.post_id, match_sentiment())
        .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
        .where(TopicMatch.topic_id == topic_id, TopicMatch.post_id.in_(sorted(set(post_ids))))
    )
    return {int(post_id): str(label) for post_id, label in rows}
