"""Reads the web app needs beyond :mod:`hubbub.posts.queries`: workspaces, sources, dead letters,
and keyset paging of posts built on the shared ``list_posts``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select, text
from sqlalchemy.orm import Session, defer

from hubbub.accounts.models import ApiToken, AuditEntry, User
from hubbub.core.clock import parse_timestamp
from hubbub.listening.dashboard import (
    ALL,
    SENTIMENT_CLASSES,
    Slice,
    hourly_volume,
    match_sentiments,
    matching_posts,
    rollup_split,
    rollup_splits,
    share_of_voice,
    top_authors,
    top_terms,
    topic_volumes,
)
from hubbub.posts.models import Author, Post
from hubbub.posts.queries import PostFilter, list_posts
from hubbub.sources.actions import REPLAYED
from hubbub.sources.models import DeadLetter, Source
from hubbub.web.deps import MAX_ROW_ID
from hubbub.workspaces.models import Workspace


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
            position = cls(parse_timestamp(stamp), int(post_id))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise ValueError("is not one this server issued") from None
        # A forged id past 64 bits would reach the database, which refuses to compare it.
        if not 0 <= position.post_id <= MAX_ROW_ID:
            raise ValueError("is not one this server issued")
        return position


@dataclass
class PostPage:
    rows: list[tuple[Post, Author]]
    next_cursor: PostCursor | None


def page_posts(
    session: Session, f: PostFilter, limit: int, before: PostCursor | None = None
) -> PostPage:
    """One page of posts, newest first, strictly after ``before`` in that order (a keyset on
    time and id, so posts sharing a time are neither repeated nor skipped)."""
    key = (before.created_at, before.post_id) if before is not None else None
    rows = list_posts(session, f, limit=limit + 1, before=key)
    if len(rows) > limit:
        last = rows[limit - 1][0]
        return PostPage(rows[:limit], PostCursor(last.created_at, last.id))
    return PostPage(rows, None)


#: Built once: every workspace page and API request reads it (see ``accounts.queries``).
_WORKSPACE_BY_SLUG = select(Workspace).where(Workspace.slug == bindparam("slug"))


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.scalar(_WORKSPACE_BY_SLUG, {"slug": slug})


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


# ---- topic dashboard: the questions live in the listening layer (the benchmark times them) ---

__all__ = [
    "ALL",
    "SENTIMENT_CLASSES",
    "Slice",
    "hourly_volume",
    "match_sentiments",
    "matching_posts",
    "rollup_split",
    "rollup_splits",
    "share_of_voice",
    "top_authors",
    "top_terms",
    "topic_volumes",
]


# ---- inbox ----------------------------------------------------------------------------------


def emails_of(session: Session, user_ids: set[int]) -> dict[int, str]:
    """E-mail per user id, to show assignees and note authors."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    return {int(user_id): str(email) for user_id, email in rows}


def own_audit_entry(
    session: Session, workspace_id: int, user_id: int | None, entry_id: int | None, action: str
) -> AuditEntry | None:
    """The audit entry ``entry_id`` if it records ``action`` by this user here: what a page
    may confirm after a redirect (a crafted link naming anything else confirms nothing)."""
    entry = session.get(AuditEntry, entry_id) if entry_id is not None else None
    if (
        entry is None
        or user_id is None
        or entry.workspace_id != workspace_id
        or entry.action != action
        or entry.actor_user_id != user_id
    ):
        return None
    return entry


def token_names(session: Session, token_ids: set[int]) -> dict[int, str]:
    """Name per API token id, to show what acted through the API (revoked ones too)."""
    if not token_ids:
        return {}
    rows = session.execute(select(ApiToken.id, ApiToken.name).where(ApiToken.id.in_(token_ids)))
    return {int(token_id): str(name) for token_id, name in rows}


def root_posts(session: Session, post_ids: set[int]) -> dict[int, tuple[Post, Author]]:
    """The first posts of conversations with their authors, by post id."""
    if not post_ids:
        return {}
    rows = session.execute(
        select(Post, Author).join(Author, Author.id == Post.author_id).where(Post.id.in_(post_ids))
    ).all()
    return {post.id: (post, author) for post, author in rows}
