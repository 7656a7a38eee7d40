"""Reads the graph features need from the posts store (and the graph's own tables)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, select, tuple_
from sqlalchemy.orm import Session

from hubbub.graph.models import AuthorMark
from hubbub.posts.models import Author, Post
from hubbub.store.dialect import chunks


@dataclass(frozen=True)
class PostRow:
    """The columns of a post that the graph uses."""

    id: int
    network: str
    native_id: str
    author_id: int
    kind: str
    created_at: datetime
    reply_to: str | None
    reshare_of: str | None
    quote_of: str | None
    mentions: list[str]
    hashtags: list[str]
    lang: str | None
    langs: list[str]
    fingerprint: int | None
    text: str


@dataclass(frozen=True)
class AuthorRow:
    id: int
    network: str
    native_id: str
    handle: str | None
    display_name: str | None
    followers: int | None
    account_created_at: datetime | None


_POST_COLUMNS = (
    Post.id,
    Post.network,
    Post.native_id,
    Post.author_id,
    Post.kind,
    Post.created_at,
    Post.reply_to,
    Post.reshare_of,
    Post.quote_of,
    Post.mentions,
    Post.hashtags,
    Post.lang,
    Post.langs,
    Post.fingerprint,
    Post.text,
)


def workspace_posts(
    session: Session, workspace_id: int, post_ids: Iterable[int] | None = None
) -> list[PostRow]:
    """Live (not deleted) posts of a workspace, or only those with the given ids."""
    base = select(*_POST_COLUMNS).where(Post.workspace_id == workspace_id, Post.deleted.is_(False))
    if post_ids is None:
        rows = list(session.execute(base.order_by(Post.created_at, Post.id)))
    else:
        rows = []
        for part in chunks(sorted(set(post_ids))):
            rows.extend(session.execute(base.where(Post.id.in_(part))))
        rows.sort(key=lambda r: (r.created_at, r.id))
    return [PostRow(*tuple(row)) for row in rows]


def post_authors(
    session: Session, workspace_id: int, refs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Author id of each (network, native post id) that is stored and not deleted."""
    wanted = sorted(set(refs))
    found: dict[tuple[str, str], int] = {}
    for part in chunks(wanted, 300):
        query = select(Post.network, Post.native_id, Post.author_id).where(
            Post.workspace_id == workspace_id,
            Post.deleted.is_(False),
            tuple_(Post.network, Post.native_id).in_(part),
        )
        for network, native_id, author_id in session.execute(query):
            found[(network, native_id)] = author_id
    return found


def authors_by_native_id(
    session: Session, workspace_id: int, refs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Author id of each (network, native author id) known in the workspace."""
    wanted = sorted(set(refs))
    found: dict[tuple[str, str], int] = {}
    for part in chunks(wanted, 300):
        query = select(Author.network, Author.native_id, Author.id).where(
            Author.workspace_id == workspace_id,
            tuple_(Author.network, Author.native_id).in_(part),
        )
        for network, native_id, author_id in session.execute(query):
            found[(network, native_id)] = author_id
    return found


def authors(session: Session, author_ids: Iterable[int]) -> dict[int, AuthorRow]:
    """Stored authors by id."""
    found: dict[int, AuthorRow] = {}
    for part in chunks(sorted(set(author_ids))):
        query = select(
            Author.id,
            Author.network,
            Author.native_id,
            Author.handle,
            Author.display_name,
            Author.followers,
            Author.account_created_at,
        ).where(Author.id.in_(part))
        for row in session.execute(query):
            found[row.id] = AuthorRow(*row)
    return found


def find_author(session: Session, workspace_id: int, name: str) -> AuthorRow | None:
    """An author by native id or handle (with or without @)."""
    handle = name.lstrip("@")
    query = (
        select(
            Author.id,
            Author.network,
            Author.native_id,
            Author.handle,
            Author.display_name,
            Author.followers,
            Author.account_created_at,
        )
        .where(Author.workspace_id == workspace_id)
        .where((Author.native_id == name) | (Author.handle == handle))
        .order_by(Author.id)
        .limit(1)
    )
    row = session.execute(query).first()
    return AuthorRow(*row) if row else None


def author_marks(session: Session, workspace_id: int) -> dict[int, list[str]]:
    """Marks per author id in a workspace, each list sorted."""
    marks: dict[int, list[str]] = {}
    query = (
        select(AuthorMark.author_id, AuthorMark.mark)
        .where(AuthorMark.workspace_id == workspace_id)
        .order_by(AuthorMark.author_id, AuthorMark.mark)
    )
    for author_id, mark in session.execute(query):
        marks.setdefault(author_id, []).append(mark)
    return marks


@dataclass(frozen=True)
class AuthorActivity:
    """An author's whole output in the workspace, for relevance and authenticity."""

    posts: int
    reshares: int
    first_at: datetime
    last_at: datetime
    fingerprinted: int
    distinct_fingerprints: int


def author_activity(
    session: Session, workspace_id: int, author_ids: Iterable[int]
) -> dict[int, AuthorActivity]:
    """Per author: posts, reshares, first and last post, fingerprints (all and distinct)."""
    found: dict[int, AuthorActivity] = {}
    for part in chunks(sorted(set(author_ids))):
        query = (
            select(
                Post.author_id,
                func.count(Post.id),
                func.sum(case((Post.kind == "reshare", 1), else_=0).cast(Integer)),
                func.min(Post.created_at),
                func.max(Post.created_at),
                func.count(Post.fingerprint),
                func.count(Post.fingerprint.distinct()),
            )
            .where(
                Post.workspace_id == workspace_id,
                Post.deleted.is_(False),
                Post.author_id.in_(part),
            )
            .group_by(Post.author_id)
        )
        for author_id, posts, reshares, first, last, printed, distinct in session.execute(query):
            found[author_id] = AuthorActivity(
                posts, int(reshares or 0), first, last, printed, distinct
            )
    return found
