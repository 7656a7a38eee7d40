"""The topic dashboard's questions, answered from the rollups (volume, splits, share of voice,
top terms) and from the stored matches (top authors, matching posts).

They live in the listening layer, not in the web app, so the dashboard benchmark times exactly
the functions the page calls. Every question takes the same ``Slice`` (network, language,
sentiment class): a filter of the page applies to every panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from hubbub.listening.models import HourlyRollup, PostEnrichment, TermRollup, Topic, TopicMatch
from hubbub.posts.models import Author, Post

SENTIMENT_CLASSES = ("negative", "neutral", "positive")


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
        .where(
            HourlyRollup.topic_id == topic_id,
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
            *where.on(HourlyRollup),
        )
        .group_by(column)
        .order_by(total.desc(), column)
    )
    return [(str(label), int(count or 0)) for label, count in rows]


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
            query = query.where(PostEnrichment.sentiment_label == where.sentiment)
    return query


def top_authors(
    session: Session,
    topic_id: int,
    start: datetime,
    end: datetime,
    where: Slice = ALL,
    limit: int = 10,
) -> list[tuple[Author, int]]:
    """Authors with the most matching posts created in [start, end) (deleted posts left out).

    Each match carries its post's author, so the counts come from the index (topic, created,
    author) alone; the matches of deleted posts — few, found from the posts' partial index of
    deleted ones — are counted apart and taken off. Joining every match to its post instead
    took seconds at a million posts.
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
    authors = {
        a.id: a
        for a in session.scalars(select(Author).where(Author.id.in_([r[0] for r in counted])))
    }
    return [(authors[author_id], int(count)) for author_id, count in counted]


def _containing(term: str) -> ColumnElement[bool]:
    """Posts whose text contains the term, case-insensitive (a hashtag with its ``#``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Post.text.ilike(f"%{escaped}%", escape="\\")


def matching_posts(
    session: Session,
    topic_id: int,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Slice = ALL,
    author_id: int | None = None,
    term: str | None = None,
) -> list[tuple[Post, Author]]:
    """The topic's matched posts, newest first (deleted ones left out); ``term`` keeps posts
    whose text contains it (the drill-down of a top term: a substring, so a little wider than
    the term's word match)."""
    query = (
        select(Post, Author)
        .select_from(TopicMatch)
        .join(Post, Post.id == TopicMatch.post_id)
        .join(Author, Author.id == Post.author_id)
        .where(Post.deleted.is_(False))
    )
    query = _matches(query, topic_id, since, until, where)
    if author_id is not None:
        query = query.where(Post.author_id == author_id)
    if term:
        query = query.where(_containing(term))
    rows = session.execute(
        query.order_by(TopicMatch.created_at.desc(), Post.id.desc()).limit(limit)
    ).all()
    return [(post, author) for post, author in rows]
