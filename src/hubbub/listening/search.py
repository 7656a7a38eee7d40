"""Full-text search over stored posts with the topic-rule language.

A rule is compiled into a *conservative* prefilter — an FTS5 query on SQLite, a tsquery on
PostgreSQL — that every matching post passes (terms, phrases, wildcards, field keys, AND/OR;
NOT, NEAR's distance, ``author:`` and ``min_followers:`` are left to the re-check or to exact
SQL conditions). Every candidate is then checked with the reference evaluator on the Document
built from the stored post, so results are exactly the posts the rule matches. Pages are
keyset pages over (created_at, id) or (engagement, id), newest or most engaged first.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, and_, column, func, or_, select, text
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.enrich.links.queries import resolved_for_posts
from hubbub.listening.models import Topic
from hubbub.listening.query import And, Field, MinFollowers, Near, Node, Not, Or, Text, parse
from hubbub.listening.reference import matches
from hubbub.listening.search_index import (
    AUTHOR_COLUMNS,
    OVERFLOW,
    POST_COLUMNS,
    author_of,
    document_for,
    encode,
    key,
    refresh_search_index,
)
from hubbub.posts.models import Author, Post

Sort = Literal["time", "engagement"]
KEYED_FIELDS = ("hashtag", "mention", "lang", "domain", "source", "is", "has")
MAX_BATCH = 5_000
FEW_CANDIDATES = 2_000

# ---- the prefilter --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A run of index tokens that must be adjacent; the last is a prefix when ``prefix``."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Every:
    """Every part must match."""

    parts: tuple[Pre, ...]


@dataclass(frozen=True, slots=True)
class Either:
    """One of the parts must match."""

    parts: tuple[Pre, ...]


Pre = Term | Every | Either | None  # None: no constraint the index can express


def prefilter(node: Node) -> Pre:
    """A condition on index tokens that every post matching ``node`` satisfies."""
    if isinstance(node, Text):
        return _text(node)
    if isinstance(node, Field):
        return Term((key(node.name, node.value),)) if node.name in KEYED_FIELDS else None
    if isinstance(node, (MinFollowers, Not)):
        return None
    if isinstance(node, Near):
        return _all([_any([_text(t) for t in node.left]), _any([_text(t) for t in node.right])])
    if isinstance(node, And):
        return _all([prefilter(c) for c in node.children])
    if isinstance(node, Or):
        return _any([prefilter(c) for c in node.children])
    raise TypeError(f"not a rule node: {node!r}")


def _text(node: Text) -> Pre:
    *head, last = node.words
    encoded = tuple(encode(w) for w in head)
    if not node.prefix:
        return Term((*encoded, encode(last)))
    # A word starting with ``last`` is stored as itself (ASCII letters and digits) or as
    # x+hex (anything else), whose hex then starts with the hex of ``last``.
    options: list[Pre] = [Term((*encoded, "x" + last.encode().hex()), prefix=True)]
    if last.isascii() and last.isalnum():
        options.insert(0, Term((*encoded, last), prefix=True))
    return _any(options)


def _all(parts: list[Pre]) -> Pre:
    kept = tuple(p for p in parts if p is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Every(kept)


def _any(parts: list[Pre]) -> Pre:
    if any(p is None for p in parts):
        return None
    kept = tuple(dict.fromkeys(parts))
    return kept[0] if len(kept) == 1 else Either(kept)


def fts5_query(pre: Term | Every | Either) -> str:
    """The prefilter as an FTS5 MATCH expression (every token is ``[a-z0-9]+``)."""
    if isinstance(pre, Term):
        return f'"{" ".join(pre.tokens)}"' + (" *" if pre.prefix else "")
    joiner = " AND " if isinstance(pre, Every) else " OR "
    return "(" + joiner.join(fts5_query(p) for p in pre.parts if p is not None) + ")"


def tsquery(pre: Term | Every | Either) -> str:
    """The prefilter as a PostgreSQL tsquery literal (tokens need no quoting)."""
    if isinstance(pre, Term):
        body = " <-> ".join(pre.tokens) + (":*" if pre.prefix else "")
        return f"({body})" if len(pre.tokens) > 1 else body
    joiner = " & " if isinstance(pre, Every) else " | "
    return "(" + joiner.join(tsquery(p) for p in pre.parts if p is not None) + ")"


# ---- exact SQL conditions -------------------------------------------------------------------


def _conjuncts(node: Node) -> list[Node]:
    return list(node.children) if isinstance(node, And) else [node]


def exact_conditions(node: Node, sqlite: bool) -> list[ColumnElement[bool]]:
    """SQL conditions implied by the rule's top-level conjuncts, each a superset of its truth."""
    out: list[ColumnElement[bool]] = []
    for part in _conjuncts(node):
        negated = isinstance(part, Not)
        inner = part.child if isinstance(part, Not) else part
        if isinstance(inner, Field) and inner.name == "is":
            cond = Post.reply_to.is_not(None) if inner.value == "reply" else Post.kind == "reshare"
            out.append(~cond if negated else cond)
        elif isinstance(inner, MinFollowers) and not negated:
            out.append(Author.followers >= inner.count)
        elif isinstance(inner, Field) and inner.name == "author" and not negated:
            out.append(_author_condition(inner.value, sqlite))
    return out


def _author_condition(value: str, sqlite: bool) -> ColumnElement[bool]:
    """Handles equal to ``value`` after folding: plain-ASCII handles compare in SQL, any other
    handle (accents, spaces, other scripts) is left to the re-check."""
    folded = func.lower(func.ltrim(Author.handle, "@"))
    unusual = Author.handle.op("GLOB")("*[^!-~]*") if sqlite else Author.handle.op("~")("[^!-~]")
    return or_(folded == value, unusual)


# ---- paging ---------------------------------------------------------------------------------


def _engagement() -> ColumnElement[int]:
    return (
        func.coalesce(Post.likes, 0)
        + func.coalesce(Post.reshares, 0)
        + func.coalesce(Post.replies, 0)
        + func.coalesce(Post.quotes, 0)
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: strictly after this (sort value, id)."""

    sort: Sort
    value: Any
    post_id: int

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = orjson.dumps([self.sort[0], value, self.post_id])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: Sort) -> Cursor:
        try:
            kind, value, post_id = orjson.loads(
                base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            )
            if kind != sort[0] or not isinstance(post_id, int):
                raise ValueError
            if sort == "time":
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError
            elif not isinstance(value, int):
                raise ValueError
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise Rejected("bad_cursor", f"not a --cursor of a search sorted by {sort}") from None
        return cls(sort, value, post_id)


@dataclass(frozen=True, slots=True)
class Hit:
    """One post found, with what a result list shows."""

    post_id: int
    created_at: datetime
    network: str
    kind: str
    author: str
    text: str
    title: str | None
    url: str | None
    engagement: int
    cursor: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of hits; ``next_cursor`` is set when the page is full (more may follow)."""

    hits: list[Hit]
    next_cursor: str | None
    scanned: int


def topic_rule(session: Session, workspace_id: int, name: str) -> Node:
    """The parsed rule of the workspace's topic called ``name``."""
    rule = session.scalar(
        select(Topic.rule).where(Topic.workspace_id == workspace_id, Topic.name == name)
    )
    if rule is None:
        raise Rejected("unknown_topic", f"no topic named {name!r} in this workspace")
    return parse(rule)


def search_posts(
    session: Session,
    workspace_id: int,
    query: str | Node,
    *,
    topic: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: Sort = "time",
    limit: int = 20,
    cursor: str | None = None,
    refresh: bool = True,
) -> SearchPage:
    """One page of the workspace's posts matching ``query`` (and the topic's rule), newest or
    most engaged first. Raises QueryError for a broken rule, Rejected for an unknown topic or
    a bad cursor. ``refresh`` first brings the index up to date (see refresh_search_index);
    run it at the start of a transaction, or refresh in a transaction of its own."""
    node = parse(query) if isinstance(query, str) else query
    after = Cursor.decode(cursor, sort) if cursor else None
    if refresh:  # first: it writes, and SQLite cannot turn a stale read into a write
        refresh_search_index(session, workspace_id)
    if topic is not None:
        node = And((node, topic_rule(session, workspace_id, topic)))
    sqlite = session.get_bind().dialect.name == "sqlite"
    sort_value: ColumnElement[Any] = Post.created_at.expression if sort == "time" else _engagement()
    base = (
        select(*POST_COLUMNS, *AUTHOR_COLUMNS, sort_value.label("sort_value"))
        .join(Author, Author.id == Post.author_id)
        .where(Post.workspace_id == workspace_id, Post.deleted.is_(False))
        .where(*exact_conditions(node, sqlite))
        .order_by(sort_value.desc(), Post.id.desc())
    )
    conn = session.connection()
    pre = prefilter(node)
    if pre is not None:
        pre = Either((pre, Term((OVERFLOW,))))
        if sqlite:
            found = text(
                "SELECT rowid AS post_id FROM search_fts WHERE search_fts MATCH :q"
            ).bindparams(q=fts5_query(pre))
        else:
            found = text(
                "SELECT post_id FROM search_docs WHERE doc @@ CAST(:q AS tsquery)"
            ).bindparams(q=tsquery(pre))
        # Few candidates: look them up by id. Many: let the ordered scan probe the index, as
        # the first page is then found after a short scan.
        candidates = found.columns(column("post_id")).subquery()
        ids = list(conn.execute(select(candidates.c.post_id).limit(FEW_CANDIDATES + 1)).scalars())
        if not ids:
            return SearchPage([], None, 0)
        if len(ids) <= FEW_CANDIDATES:
            base = base.where(Post.id.in_(ids))
        else:
            base = base.where(Post.id.in_(select(candidates.c.post_id)))
    if since is not None:
        base = base.where(Post.created_at >= since)
    if until is not None:
        base = base.where(Post.created_at < until)

    hits: list[Hit] = []
    scanned = 0
    batch = max(limit + limit // 2, 30)
    while len(hits) < limit:
        page_query = base
        if after is not None:
            page_query = page_query.where(
                or_(
                    sort_value < after.value,
                    and_(sort_value == after.value, Post.id < after.post_id),
                )
            )
        rows = conn.execute(page_query.limit(batch)).all()
        resolved = resolved_for_posts(conn, [row.id for row in rows])
        for row in rows:
            scanned += 1
            value = row.created_at if sort == "time" else int(row.sort_value)
            after = Cursor(sort, value, row.id)
            if matches(node, document_for(row, author_of(row), resolved)):
                hits.append(_hit(row, after))
                if len(hits) == limit:
                    break
        if len(rows) < batch:
            break
        batch = min(batch * 4, MAX_BATCH)
    next_cursor = hits[-1].cursor if len(hits) == limit else None
    return SearchPage(hits, next_cursor, scanned)


def _hit(row: Any, cursor: Cursor) -> Hit:
    return Hit(
        post_id=row.id,
        created_at=row.created_at,
        network=row.network,
        kind="reply" if row.reply_to else row.kind,
        author=row.author_handle or row.author_native_id,
        text=row.text or "",
        title=row.title,
        url=row.url,
        engagement=sum(v or 0 for v in (row.likes, row.reshares, row.replies, row.quotes)),
        cursor=cursor.encode(),
    )
