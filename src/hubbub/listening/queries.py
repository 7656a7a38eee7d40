"""Reads of the listening feature: topics, and period figures answered from the rollups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubbub.listening.models import HourlyRollup, HourlyRollupAuthor, Topic, TopicMatch


def list_topics(session: Session, workspace_id: int) -> list[Topic]:
    return list(
        session.scalars(
            select(Topic).where(Topic.workspace_id == workspace_id).order_by(Topic.name)
        )
    )


def match_counts(session: Session, workspace_id: int) -> dict[int, int]:
    """Stored matches per topic id."""
    rows = session.execute(
        select(TopicMatch.topic_id, func.count())
        .where(TopicMatch.workspace_id == workspace_id)
        .group_by(TopicMatch.topic_id)
    )
    return {row.topic_id: int(row[1]) for row in rows}


@dataclass(frozen=True)
class PeriodFigures:
    """A topic's totals over a period of whole hours."""

    posts: int
    unique_authors: int
    potential_reach: int
    engagement: int


def period_figures(
    session: Session,
    topic_id: int,
    start: datetime,
    end: datetime,
    network: str | None = None,
) -> PeriodFigures:
    """Totals of the hours in [start, end): counters are summed; unique authors are counted
    distinct over the cells' author sets (an author of two hours is one author)."""
    sums = select(
        func.coalesce(func.sum(HourlyRollup.posts), 0),
        func.coalesce(func.sum(HourlyRollup.potential_reach), 0),
        func.coalesce(func.sum(HourlyRollup.engagement), 0),
    ).where(HourlyRollup.topic_id == topic_id, HourlyRollup.hour >= start, HourlyRollup.hour < end)
    authors = select(func.count(func.distinct(HourlyRollupAuthor.author_id))).where(
        HourlyRollupAuthor.topic_id == topic_id,
        HourlyRollupAuthor.hour >= start,
        HourlyRollupAuthor.hour < end,
    )
    if network is not None:
        sums = sums.where(HourlyRollup.network == network)
        authors = authors.where(HourlyRollupAuthor.network == network)
    posts, reach, engagement = session.execute(sums).one()
    return PeriodFigures(
        posts=int(posts),
        unique_authors=int(session.scalar(authors) or 0),
        potential_reach=int(reach),
        engagement=int(engagement),
    )


def topic_names(session: Session, workspace_id: int) -> set[str]:
    """The names of the workspace's topics (what a playbook's trigger may name)."""
    return set(session.scalars(select(Topic.name).where(Topic.workspace_id == workspace_id)))
