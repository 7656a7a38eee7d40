"""Funnel metrics of a topic over a period, against the period before (docs/metrics.md).

Everything is answered from the hourly rollups and their author sets, so a period of any
length costs a few indexed aggregates, whatever the history holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, intersect, select
from sqlalchemy.orm import Session

from hubbub.listening.models import HourlyRollup, HourlyRollupAuthor, Topic
from hubbub.listening.queries import period_figures


@dataclass(frozen=True)
class FunnelMetrics:
    """One topic over [start, end); ratios are None when their denominator is zero."""

    start: datetime
    end: datetime
    # awareness
    mentions: int
    unique_authors: int
    potential_reach: int
    share_of_voice: float | None
    # consideration (engagement the networks report on the matched posts)
    engagement: int
    engagement_per_mention: float | None
    # loyalty
    returning_authors: int
    new_authors: int
    returning_share: float | None
    # advocacy (sentiment of the mentions)
    positive_share: float | None
    negative_share: float | None

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["start"], values["end"] = self.start.isoformat(), self.end.isoformat()
        return values


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mentions(session: Session, topic_ids: list[int], start: datetime, end: datetime) -> int:
    if not topic_ids:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(HourlyRollup.posts), 0)).where(
            HourlyRollup.topic_id.in_(topic_ids),
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
        )
    )
    return int(total or 0)


def funnel(session: Session, topic: Topic, start: datetime, end: datetime) -> FunnelMetrics:
    """The topic's funnel over [start, end); hours are the rollups' whole UTC hours."""
    figures = period_figures(session, topic.id, start, end)
    by_sentiment = dict(
        session.execute(
            select(HourlyRollup.sentiment_label, func.sum(HourlyRollup.posts))
            .where(
                HourlyRollup.topic_id == topic.id,
                HourlyRollup.hour >= start,
                HourlyRollup.hour < end,
            )
            .group_by(HourlyRollup.sentiment_label)
        ).all()
    )
    rivals = list(
        session.scalars(
            select(Topic.id).where(
                Topic.workspace_id == topic.workspace_id,
                Topic.kind == "competitor",
                Topic.id != topic.id,
            )
        )
    )
    field_total = figures.posts + _mentions(session, rivals, start, end)
    in_period = select(HourlyRollupAuthor.author_id).where(
        HourlyRollupAuthor.topic_id == topic.id,
        HourlyRollupAuthor.hour >= start,
        HourlyRollupAuthor.hour < end,
    )
    seen_before = select(HourlyRollupAuthor.author_id).where(
        HourlyRollupAuthor.topic_id == topic.id, HourlyRollupAuthor.hour < start
    )
    # A set intersection of two range reads of the primary key: as an ``IN (…) AND IN (…)``
    # over all the topic's rows, PostgreSQL ran 14 minutes at 458,000 author-hours.
    both = intersect(in_period, seen_before).subquery()
    returning = int(session.scalar(select(func.count()).select_from(both)) or 0)
    mentions = figures.posts
    return FunnelMetrics(
        start=start,
        end=end,
        mentions=mentions,
        unique_authors=figures.unique_authors,
        potential_reach=figures.potential_reach,
        share_of_voice=_ratio(mentions, field_total) if rivals else None,
        engagement=figures.engagement,
        engagement_per_mention=_ratio(figures.engagement, mentions),
        returning_authors=returning,
        new_authors=figures.unique_authors - returning,
        returning_share=_ratio(returning, figures.unique_authors),
        positive_share=_ratio(int(by_sentiment.get("positive") or 0), mentions),
        negative_share=_ratio(int(by_sentiment.get("negative") or 0), mentions),
    )


def compare(
    session: Session, topic: Topic, end: datetime, days: int
) -> tuple[FunnelMetrics, FunnelMetrics]:
    """This period of ``days`` ending with the hour that holds ``end``, and the one before."""
    hour = end.replace(minute=0, second=0, microsecond=0)
    end = hour if hour == end else hour + timedelta(hours=1)
    span = timedelta(days=days)
    return funnel(session, topic, end - span, end), funnel(
        session, topic, end - 2 * span, end - span
    )
