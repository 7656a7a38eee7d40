"""Reads on posts that every feature shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from hubbub.posts.models import Author, Post


@dataclass
class PostFilter:
    """Filters of ``hubbub posts`` and the API; ``None`` means no constraint."""

    workspace_id: int
    network: str | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    contains: str | None = None
    include_deleted: bool = False
    include_near_duplicates: bool = True


def _where(query: Select[Any], f: PostFilter) -> Select[Any]:
    query = query.where(Post.workspace_id == f.workspace_id)
    if f.network:
        query = query.where(Post.network == f.network)
    if f.author:
        # Handles are case-insensitive on the networks, and stored as the network spells them
        # (nearly always lower case): the typed spelling and its lower case both match.
        handle = f.author.lstrip("@")
        query = query.where(
            or_(Author.native_id == f.author, Author.handle.in_(sorted({handle, handle.lower()})))
        )
    if f.since:
        query = query.where(Post.created_at >= f.since)
    if f.until:
        query = query.where(Post.created_at < f.until)
    if f.contains:
        escaped = f.contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Post.text.ilike(f"%{escaped}%", escape="\\"))
    if not f.include_deleted:
        query = query.where(Post.deleted.is_(False))
    if not f.include_near_duplicates:
        query = query.where(Post.near_dup_of.is_(None))
    return query


def count_posts(session: Session, f: PostFilter) -> int:
    query = select(func.count(Post.id)).select_from(Post).join(Author, Author.id == Post.author_id)
    return int(session.scalar(_where(query, f)) or 0)


def iter_posts(session: Session, f: PostFilter, page: int = 1_000) -> Iterator[tuple[Post, Author]]:
    """Every matching post, newest first, read ``page`` at a time, so an export of millions
    holds one page in memory."""
    before: tuple[datetime, int] | None = None
    while True:
        found = list_posts(session, f, limit=page, before=before)
        yield from found
        if len(found) < page:
            return
        before = (found[-1][0].created_at, found[-1][0].id)
        session.expunge_all()  # the page written out is not needed again


def list_posts(
    session: Session,
    f: PostFilter,
    limit: int = 50,
    newest_first: bool = True,
    before: tuple[datetime, int] | None = None,
) -> list[tuple[Post, Author]]:
    """``before`` (a post's time and id, newest first only) keeps the posts after it."""
    query = select(Post, Author).join(Author, Author.id == Post.author_id)
    if before is not None:
        moment, post_id = before
        query = query.where(
            Post.created_at <= moment, or_(Post.created_at < moment, Post.id < post_id)
        )
    order = (Post.created_at.desc(), Post.id.desc()) if newest_first else (Post.created_at, Post.id)
    rows = session.execute(_where(cast(Select[Any], query), f).order_by(*order).limit(limit))
    return [(row.Post, row.Author) for row in rows]
