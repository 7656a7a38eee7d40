"""Reads of the reports feature: schedules, runs, and the period figures sections are built from.

Volumes and sentiment come from the hourly rollups (a month costs a few indexed aggregates);
top posts and authors read the matched posts of the period; everything stays in one workspace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from hubbub.inbox.models import Conversation
from hubbub.listening.models import HourlyRollup, Topic, TopicMatch
from hubbub.posts.models import Author, Post
from hubbub.reports.models import ReportRun, ReportSchedule
from hubbub.workspaces.queries import own_accounts


def schedules(session: Session, workspace_id: int) -> list[ReportSchedule]:
    return list(
        session.scalars(
            select(ReportSchedule)
            .where(ReportSchedule.workspace_id == workspace_id)
            .order_by(ReportSchedule.name)
        )
    )


def schedule(session: Session, workspace_id: int, schedule_id: int) -> ReportSchedule | None:
    """The schedule when it belongs to the workspace (never another workspace's)."""
    found = session.get(ReportSchedule, schedule_id)
    return found if found is not None and found.workspace_id == workspace_id else None


def runs(session: Session, workspace_id: int, limit: int = 20) -> list[ReportRun]:
    """The latest runs of the workspace's schedules, newest first."""
    return list(
        session.scalars(
            select(ReportRun)
            .where(ReportRun.workspace_id == workspace_id)
            .order_by(ReportRun.id.desc())
            .limit(limit)
        )
    )


def waiting(session: Session, schedule_id: int, period_start: datetime, now: datetime) -> bool:
    """Whether the period needs no attempt now (sent, dead, or in its backoff): a read, so the
    worker's every tick does not write to find that out."""
    found = session.execute(
        select(ReportRun.state, ReportRun.next_attempt_at).where(
            ReportRun.schedule_id == schedule_id, ReportRun.period_start == period_start
        )
    ).first()
    if found is None:
        return False
    return found.state in ("sent", "dead") or (
        found.state == "pending" and found.next_attempt_at > now
    )


def report_topics(session: Session, workspace_id: int, names: Sequence[str]) -> list[Topic]:
    """The named topics of the workspace (all active ones when no name is given), by name.

    Raises KeyError naming the first unknown topic.
    """
    query = select(Topic).where(Topic.workspace_id == workspace_id).order_by(Topic.name)
    if not names:
        return list(session.scalars(query.where(Topic.active.is_(True))))
    found = {t.name: t for t in session.scalars(query.where(Topic.name.in_(list(names))))}
    for name in names:
        if name not in found:
            raise KeyError(name)
    return [found[name] for name in sorted(set(names))]


def hourly_volume(
    session: Session, topic_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, datetime, int]]:
    """(topic id, hour, posts) for the hours in [start, end) that have any."""
    if not topic_ids:
        return []
    rows = session.execute(
        select(HourlyRollup.topic_id, HourlyRollup.hour, func.sum(HourlyRollup.posts))
        .where(
            HourlyRollup.topic_id.in_(list(topic_ids)),
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
        )
        .group_by(HourlyRollup.topic_id, HourlyRollup.hour)
        .order_by(HourlyRollup.hour)
    )
    return [(row[0], row[1], int(row[2] or 0)) for row in rows]


def sentiment_counts(
    session: Session, topic_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, Counter[str]]:
    """Posts per sentiment label, per topic, over [start, end)."""
    found: dict[int, Counter[str]] = {topic_id: Counter() for topic_id in topic_ids}
    if not topic_ids:
        return found
    rows = session.execute(
        select(HourlyRollup.topic_id, HourlyRollup.sentiment_label, func.sum(HourlyRollup.posts))
        .where(
            HourlyRollup.topic_id.in_(list(topic_ids)),
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
        )
        .group_by(HourlyRollup.topic_id, HourlyRollup.sentiment_label)
    )
    for topic_id, label, posts in rows:
        found[topic_id][label] += int(posts or 0)
    return found


@dataclass(frozen=True)
class TopPost:
    post: Post
    author: Author
    topics: list[str]
    engagement: int


def _engagement() -> ColumnElement[Any]:
    return (
        func.coalesce(Post.likes, 0)
        + func.coalesce(Post.reshares, 0)
        + func.coalesce(Post.replies, 0)
        + func.coalesce(Post.quotes, 0)
    )


def top_posts(
    session: Session,
    workspace_id: int,
    topics: Sequence[Topic],
    start: datetime,
    end: datetime,
    limit: int = 10,
) -> list[TopPost]:
    """The period's matched posts with the most engagement (then newest first)."""
    if not topics:
        return []
    names = {t.id: t.name for t in topics}
    engagement = _engagement()
    matched = (
        select(TopicMatch.post_id)
        .where(
            TopicMatch.workspace_id == workspace_id,
            TopicMatch.topic_id.in_(list(names)),
            TopicMatch.created_at >= start,
            TopicMatch.created_at < end,
        )
        .distinct()
    )
    rows = session.execute(
        select(Post, Author, engagement)
        .join(Author, Author.id == Post.author_id)
        .where(Post.workspace_id == workspace_id, Post.deleted.is_(False), Post.id.in_(matched))
        .order_by(engagement.desc(), Post.created_at.desc(), Post.id)
        .limit(limit)
    ).all()
    post_topics: dict[int, list[str]] = {row[0].id: [] for row in rows}
    if post_topics:
        for post_id, topic_id in session.execute(
            select(TopicMatch.post_id, TopicMatch.topic_id).where(
                TopicMatch.post_id.in_(list(post_topics)), TopicMatch.topic_id.in_(list(names))
            )
        ):
            post_topics[post_id].append(names[topic_id])
    return [
        TopPost(post, author, sorted(post_topics[post.id]), int(score or 0))
        for post, author, score in rows
    ]


@dataclass(frozen=True)
class TopAuthor:
    author: Author
    mentions: int
    engagement: int
    own: bool = False
    """One of the workspace's own accounts (`hubbub.workspaces.queries.own_accounts`): listed,
    marked "your account", as on the topic dashboard."""


def distinct_posts(
    session: Session, workspace_id: int, topics: Sequence[Topic], start: datetime, end: datetime
) -> int:
    """Posts of the period matched by any of the topics, each once, deleted ones left out (a
    post naming two topics is one post, two topic mentions)."""
    if not topics:
        return 0
    matched = select(TopicMatch.post_id).where(
        TopicMatch.workspace_id == workspace_id,
        TopicMatch.topic_id.in_([t.id for t in topics]),
        TopicMatch.created_at >= start,
        TopicMatch.created_at < end,
    )
    return int(
        session.scalar(
            select(func.count(Post.id)).where(
                Post.workspace_id == workspace_id, Post.deleted.is_(False), Post.id.in_(matched)
            )
        )
        or 0
    )


def top_authors(
    session: Session,
    workspace_id: int,
    topics: Sequence[Topic],
    start: datetime,
    end: datetime,
    limit: int = 10,
) -> list[TopAuthor]:
    """Authors with the most matched posts in the period (then most followers); the
    workspace's own accounts stay in, marked ``own``."""
    if not topics:
        return []
    matched = (
        select(TopicMatch.post_id)
        .where(
            TopicMatch.workspace_id == workspace_id,
            TopicMatch.topic_id.in_([t.id for t in topics]),
            TopicMatch.created_at >= start,
            TopicMatch.created_at < end,
        )
        .distinct()
    )
    mentions = func.count(Post.id)
    engagement = func.sum(_engagement())
    rows = session.execute(
        select(Author, mentions, engagement)
        .join(Post, Post.author_id == Author.id)
        .where(Post.workspace_id == workspace_id, Post.deleted.is_(False), Post.id.in_(matched))
        .group_by(Author.id)
        .order_by(mentions.desc(), func.coalesce(Author.followers, 0).desc(), Author.id)
        .limit(limit)
    ).all()
    own = own_accounts(session, workspace_id) if rows else None
    return [
        TopAuthor(
            author,
            int(count),
            int(score or 0),
            own is not None and own.owns(author.network, author.native_id, author.handle),
        )
        for author, count, score in rows
    ]


def conversations_by_status(
    session: Session, workspace_id: int, start: datetime, end: datetime
) -> dict[str, int]:
    """Conversations opened in [start, end), by their status now."""
    rows = session.execute(
        select(Conversation.status, func.count())
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.created_at >= start,
            Conversation.created_at < end,
        )
        .group_by(Conversation.status)
    )
    return {status: int(count) for status, count in rows}


def first_response_breaches(
    session: Session, workspace_id: int, start: datetime, end: datetime, now: datetime
) -> list[Conversation]:
    """Conversations whose first-response due time fell in [start, end) and was missed:
    answered after it, or not answered and the time has passed."""
    cutoff = min(end, now)
    return list(
        session.scalars(
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.first_response_due >= start,
                Conversation.first_response_due < cutoff,
                or_(
                    Conversation.first_responded_at > Conversation.first_response_due,
                    and_(
                        Conversation.first_responded_at.is_(None),
                        Conversation.status.in_(("new", "open")),
                    ),
                ),
            )
            .order_by(Conversation.first_response_due, Conversation.id)
        )
    )
