"""Loyalty beyond one period: cohort retention by month of first mention, returning engagers
(authors active in two or more calendar weeks), and the sentiment of returning against new
authors. Formulas: docs/metrics.md.

The first two read the rollups' author sets (``hourly_rollup_authors``), so they cost a few grouped
aggregates over one topic's rows. Calendar months and weeks are bucketed with a ``CASE`` over
their bounds in the window, which reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from hubbub.listening.models import (
    HourlyRollupAuthor,
    PostEnrichment,
    Topic,
    TopicMatch,
    match_sentiment,
)
from hubbub.store.types import UTCDateTime

DEFAULT_MONTHS = 6
MAX_MONTHS = 24


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(first: datetime, months: int) -> datetime:
    index = first.year * 12 + first.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _bucket(column: Any, bounds: list[datetime]) -> ColumnElement[int]:
    """The index i of the bucket [bounds[i], bounds[i+1]) holding ``column`` (the caller keeps
    ``column`` inside [bounds[0], bounds[-1]))."""
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    last = len(bounds) - 2
    return case(*whens, else_=last) if whens else case((column.is_not(None), 0), else_=0)


@dataclass(frozen=True)
class Cohort:
    """Authors whose first mention of the topic fell in ``month``; ``active[k]`` of them wrote
    one in the k-th month after (None: that month is after the end)."""

    month: date
    size: int
    active: tuple[int | None, ...]

    @property
    def shares(self) -> tuple[float | None, ...]:
        return tuple(
            None if count is None or not self.size else count / self.size for count in self.active
        )


@dataclass(frozen=True)
class Retention:
    """The cohorts of the calendar months (UTC) up to the one holding ``end``; the last month
    is partial when ``end`` is not its end."""

    topic: str
    end: datetime
    months: tuple[date, ...]
    cohorts: tuple[Cohort, ...]
    partial: bool


def cohort_retention(
    session: Session, topic: Topic, end: datetime, months: int = DEFAULT_MONTHS
) -> Retention:
    """Retention of the topic's authors by month of first mention, over the ``months`` calendar
    months up to the one holding the instant before ``end``.

    An author's first mention is the earliest in the topic's rollups (any time before
    ``end``), so an author first seen before the window belongs to no cohort of it.
    """
    months = max(1, min(months, MAX_MONTHS))
    last = month_start(end - timedelta(microseconds=1))
    first = add_months(last, 1 - months)
    bounds = [add_months(first, i) for i in range(months + 1)]
    # One grouping by author over the topic's author-hour rows: the first hour ever, and a 0/1
    # column per month of the window saying whether the author wrote in it. Then cohorts sum
    # those columns: no join (a nested loop on SQLite) and no second pass over the rows.
    hour = HourlyRollupAuthor.hour
    flags = [
        func.max(case(((hour >= bounds[m]) & (hour < bounds[m + 1]), 1), else_=0)).label(f"m{m}")
        for m in range(months)
    ]
    authors = (
        select(func.min(hour).label("first_hour"), *flags)
        .where(HourlyRollupAuthor.topic_id == topic.id, hour < end)
        .group_by(HourlyRollupAuthor.author_id)
        .subquery()
    )
    tagged = (
        select(
            _bucket(authors.c.first_hour, bounds).label("cohort"),
            *(authors.c[f"m{m}"] for m in range(months)),
        )
        .where(authors.c.first_hour >= first)
        .subquery()
    )
    counts: dict[tuple[int, int], int] = {}  # (cohort, month) → authors active
    for cohort, *active in session.execute(
        select(tagged.c.cohort, *(func.sum(tagged.c[f"m{m}"]) for m in range(months))).group_by(
            tagged.c.cohort
        )
    ):
        for month, count in enumerate(active):
            counts[int(cohort), month] = int(count or 0)
    cohorts = tuple(
        Cohort(
            month=bounds[c].date(),
            size=counts.get((c, c), 0),
            active=tuple(
                counts.get((c, c + k), 0) if c + k < months else None for k in range(months)
            ),
        )
        for c in range(months)
    )
    return Retention(
        topic=topic.name,
        end=end,
        months=tuple(bound.date() for bound in bounds[:-1]),
        cohorts=cohorts,
        partial=end < bounds[-1],
    )


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def returning_engagers(session: Session, topic: Topic, start: datetime, end: datetime) -> int:
    """Authors of [start, end) who have mentioned the topic in two or more calendar weeks
    (ISO weeks, UTC), counting every mention before ``end``.

    An author spans two weeks exactly when the first mention ever lies before the Monday of
    the week of the last mention in the period.
    """
    if end <= start:
        return 0
    bounds = [week_start(start)]
    while bounds[-1] < end:
        bounds.append(bounds[-1] + timedelta(days=7))
    # One grouping by author: the first mention ever and the last in P (none: not in P).
    spans = (
        select(
            func.min(HourlyRollupAuthor.hour).label("first_hour"),
            func.max(
                case((HourlyRollupAuthor.hour >= start, HourlyRollupAuthor.hour), else_=None)
            ).label("last_hour"),
        )
        .where(HourlyRollupAuthor.topic_id == topic.id, HourlyRollupAuthor.hour < end)
        .group_by(HourlyRollupAuthor.author_id)
        .subquery()
    )
    # The Monday of the last mention's week, as a bucket index into the period's weeks.
    weeks = (
        select(spans.c.first_hour, _bucket(spans.c.last_hour, bounds).label("week"))
        .where(spans.c.last_hour.is_not(None))
        .subquery()
    )
    monday = case(
        *((weeks.c.week == i, literal(bound, UTCDateTime())) for i, bound in enumerate(bounds[:-1]))
    )
    total = session.scalar(
        select(func.count()).select_from(weeks).where(weeks.c.first_hour < monday)
    )
    return int(total or 0)


@dataclass(frozen=True)
class LoyaltySentiment:
    """Mentions of [start, end) by returning and by new authors, and how many of each were
    labelled positive and negative (the enrichment's current label)."""

    returning_mentions: int
    returning_positive: int
    returning_negative: int
    new_mentions: int
    new_positive: int
    new_negative: int

    def share(self, group: str, label: str) -> float | None:
        mentions = getattr(self, f"{group}_mentions")
        return getattr(self, f"{group}_{label}") / mentions if mentions else None


def sentiment_by_loyalty(
    session: Session, topic: Topic, start: datetime, end: datetime
) -> LoyaltySentiment:
    """Sentiment of the period's mentions split by author: returning (a mention of the topic
    before ``start``, as the funnel's returning authors) or new. Read from the matches, as
    the rollups keep no per-author sentiment."""
    earlier = aliased(TopicMatch)
    # Not correlated: the earlier authors are looked up once (a hashed or indexed set).
    returning = TopicMatch.author_id.in_(
        select(earlier.author_id).where(earlier.topic_id == topic.id, earlier.created_at < start)
    )
    mentions = (
        select(
            case((returning, 1), else_=0).label("is_returning"),
            match_sentiment().label("sentiment"),
        )
        .select_from(TopicMatch)
        .join(PostEnrichment, PostEnrichment.post_id == TopicMatch.post_id)
        .where(
            TopicMatch.topic_id == topic.id,
            TopicMatch.created_at >= start,
            TopicMatch.created_at < end,
        )
        .subquery()
    )
    counts = {
        (int(flag), label): int(count)
        for flag, label, count in session.execute(
            select(mentions.c.is_returning, mentions.c.sentiment, func.count()).group_by(
                mentions.c.is_returning, mentions.c.sentiment
            )
        )
    }

    def total(flag: int, label: str | None = None) -> int:
        return sum(n for (f, lab), n in counts.items() if f == flag and label in (None, lab))

    return LoyaltySentiment(
        returning_mentions=total(1),
        returning_positive=total(1, "positive"),
        returning_negative=total(1, "negative"),
        new_mentions=total(0),
        new_positive=total(0, "positive"),
        new_negative=total(0, "negative"),
    )
