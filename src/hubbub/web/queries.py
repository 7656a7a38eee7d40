"""Reads the web app needs beyond :mod:`hubbub.posts.queries`: workspaces, sources, dead letters,
and keyset paging of posts built on the shared ``list_posts``/``count_posts``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session, defer

from hubbub.accounts.models import User
from hubbub.core.clock import parse_timestamp
from hubbub.listening.models import HourlyRollup, TopicMatch
from hubbub.posts.models import Author, Post
from hubbub.posts.queries import PostFilter, count_posts, list_posts
from hubbub.sources.actions import REPLAYED
from hubbub.sources.models import DeadLetter, Source
from hubbub.workspaces.models import Workspace

_TICK = timedelta(microseconds=1)  # the finest time step both SQLite and PostgreSQL store


@dataclass(frozen=True)
class PostCursor:
    """Position after the last post of a page: newest-first order is (created_at, id) descending."""

    created_at: datetime
    post_id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.post_id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, token: str) -> PostCursor:
        """Parse a token made by :meth:`encode`; raises ValueError on anything else."""
        if not token or len(token) > 200:
            raise ValueError("cursor is empty or too long")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            stamp, _, post_id = raw.partition("|")
            return cls(parse_timestamp(stamp), int(post_id))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValueError("cursor is not one this server issued") from None


@dataclass
class PostPage:
    rows: list[tuple[Post, Author]]
    next_cursor: PostCursor | None


def page_posts(
    session: Session, f: PostFilter, limit: int, before: PostCursor | None = None
) -> PostPage:
    """One page of posts, newest first, strictly after ``before`` in that order.

    The shared queries take no cursor, so the page is read with ``until`` just past the cursor's
    time; the posts sharing that exact time (counted first) are fetched extra, and those the
    previous page already showed are dropped. Equal ``created_at`` never skips or repeats a post.
    """
    if before is None:
        rows = list_posts(session, f, limit=limit + 1)
    else:
        edge = before.created_at + _TICK
        bounded = replace(f, until=min(f.until, edge) if f.until else edge)
        same_time = replace(
            bounded, since=max(f.since, before.created_at) if f.since else before.created_at
        )
        ties = count_posts(session, same_time)
        key = (before.created_at, before.post_id)
        rows = [
            row
            for row in list_posts(session, bounded, limit=limit + 1 + ties)
            if (row[0].created_at, row[0].id) < key
        ][: limit + 1]
    if len(rows) > limit:
        last = rows[limit - 1][0]
        return PostPage(rows[:limit], PostCursor(last.created_at, last.id))
    return PostPage(rows, None)


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.slug == slug))


def list_workspaces(session: Session) -> list[Workspace]:
    """Every workspace, oldest first (the first one is where ``/`` leads)."""
    return list(session.scalars(select(Workspace).order_by(Workspace.id)))


def list_sources(session: Session, workspace_id: int) -> list[Source]:
    return list(
        session.scalars(
            select(Source).where(Source.workspace_id == workspace_id).order_by(Source.name)
        )
    )


@dataclass(frozen=True)
class ReasonCount:
    reason_code: str
    total: int
    pending: int


def dead_letter_counts(session: Session, workspace_id: int) -> list[ReasonCount]:
    """Letters per reason, all and not yet replayed successfully, most frequent first."""
    replayed = case((DeadLetter.replay_outcome == REPLAYED, 1), else_=0)
    rows = session.execute(
        select(DeadLetter.reason_code, func.count(), func.sum(replayed))
        .where(DeadLetter.workspace_id == workspace_id)
        .group_by(DeadLetter.reason_code)
        .order_by(func.count().desc(), DeadLetter.reason_code)
    )
    return [
        ReasonCount(code, int(total), int(total) - int(done or 0)) for code, total, done in rows
    ]


def list_dead_letters(
    session: Session,
    workspace_id: int,
    limit: int,
    before_id: int | None = None,
    reason_code: str | None = None,
) -> list[DeadLetter]:
    """Newest letters first, without loading their payloads (each may be megabytes)."""
    query = (
        select(DeadLetter)
        .options(defer(DeadLetter.payload))
        .where(DeadLetter.workspace_id == workspace_id)
    )
    if before_id is not None:
        query = query.where(DeadLetter.id < before_id)
    if reason_code:
        query = query.where(DeadLetter.reason_code == reason_code)
    return list(session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit)))


def get_dead_letter(session: Session, workspace_id: int, letter_id: int) -> DeadLetter | None:
    """The letter, only if it belongs to the workspace (ids are global)."""
    letter = session.get(DeadLetter, letter_id)
    if letter is None or letter.workspace_id != workspace_id:
        return None
    return letter


def database_ok(session: Session) -> bool:
    return session.execute(text("SELECT 1")).scalar() == 1


# ---- topic dashboard: read from the hourly rollups and the stored matches -------------------


def hourly_volume(
    session: Session, topic_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """Posts per rollup hour in [start, end), oldest first (days are summed by the caller)."""
    rows = session.execute(
        select(HourlyRollup.hour, func.sum(HourlyRollup.posts))
        .where(
            HourlyRollup.topic_id == topic_id,
            HourlyRollup.hour >= start,
            HourlyRollup.hour < end,
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
    session: Session, topic_id: int, start: datetime, end: datetime, by: str
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
        )
        .group_by(column)
        .order_by(total.desc(), column)
    )
    return [(str(label), int(count or 0)) for label, count in rows]


def topic_volumes(
    session: Session, topic_ids: list[int], start: datetime, end: datetime
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
        )
        .group_by(HourlyRollup.topic_id)
    )
    found = {topic_id: int(total or 0) for topic_id, total in rows}
    return {topic_id: found.get(topic_id, 0) for topic_id in topic_ids}


def top_authors(
    session: Session, topic_id: int, start: datetime, end: datetime, limit: int = 10
) -> list[tuple[Author, int]]:
    """Authors with the most matching posts created in [start, end)."""
    posts = func.count(TopicMatch.post_id)
    rows = session.execute(
        select(Author, posts)
        .join(Post, Post.author_id == Author.id)
        .join(TopicMatch, TopicMatch.post_id == Post.id)
        .where(
            TopicMatch.topic_id == topic_id,
            TopicMatch.created_at >= start,
            TopicMatch.created_at < end,
            Post.deleted.is_(False),
        )
        .group_by(Author.id)
        .order_by(posts.desc(), Author.id)
        .limit(limit)
    ).all()
    return [(author, int(count)) for author, count in rows]


def matching_posts(
    session: Session, topic_id: int, limit: int, since: datetime | None = None
) -> list[tuple[Post, Author]]:
    """The topic's matched posts, newest first (deleted ones left out)."""
    query = (
        select(Post, Author)
        .join(TopicMatch, TopicMatch.post_id == Post.id)
        .join(Author, Author.id == Post.author_id)
        .where(TopicMatch.topic_id == topic_id, Post.deleted.is_(False))
    )
    if since is not None:
        query = query.where(TopicMatch.created_at >= since)
    rows = session.execute(
        query.order_by(TopicMatch.created_at.desc(), Post.id.desc()).limit(limit)
    ).all()
    return [(post, author) for post, author in rows]


# ---- inbox ----------------------------------------------------------------------------------


def emails_of(session: Session, user_ids: set[int]) -> dict[int, str]:
    """E-mail per user id, to show assignees and note authors."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    return {int(user_id): str(email) for user_id, email in rows}


def root_posts(session: Session, post_ids: set[int]) -> dict[int, tuple[Post, Author]]:
    """The first posts of conversations with their authors, by post id."""
    if not post_ids:
        return {}
    rows = session.execute(
        select(Post, Author).join(Author, Author.id == Post.author_id).where(Post.id.in_(post_ids))
    ).all()
    return {post.id: (post, author) for post, author in rows}
