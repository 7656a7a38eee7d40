"""The search index: what is indexed for a post, and the actions that keep the index current.

Words are folded and split by ``normal.tokens`` — the very functions the reference evaluator
uses — and then written so that neither FTS5's tokenizer nor PostgreSQL's parser can split or
change them: a word of ASCII letters and digits as it is, any other word as ``x`` + the hex of
its UTF-8 bytes (emoji, CJK characters, letters Unicode added after FTS5's tables). Field
values the query language compares whole (hashtags, handles, languages, domains, network,
flags) become keys (``qh`` + hex …) in the same text. Every indexed token is then
``[a-z0-9]+``, so an FTS match is a superset of the exact matches; search re-checks every
candidate with the reference evaluator.

Nothing here runs on the ingest path: ``refresh_search_index`` catches up before a search
(new posts by id, edited posts by ``edited_at``, deleted posts leave the index).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session

from hubbub.core.items import AuthorRef, PostItem
from hubbub.enrich.links.queries import resolved_for_posts
from hubbub.listening.document import Document
from hubbub.listening.normal import fold_key, tokens
from hubbub.posts.models import Author, Post
from hubbub.store.dialect import chunks, insert_ignoring_conflicts
from hubbub.store.types import BigId, UTCDateTime

# Tables of migration 0006, described for SQLAlchemy Core only (not ORM models: autogenerate
# cannot compare FTS5 or tsvector, so alembic check leaves them out).
_metadata = MetaData()
SEARCH_DOCS = Table(
    "search_docs",
    _metadata,
    Column("post_id", BigId, primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("body", Text),  # SQLite only; PostgreSQL has ``doc tsvector`` instead
)
SEARCH_STATE = Table(
    "search_state",
    _metadata,
    Column("workspace_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("last_post_id", BigId, nullable=False),
    Column("last_edit_at", UTCDateTime),
    Column("last_delete_at", UTCDateTime),
)

# PostgreSQL keeps word positions up to 16383, 256 positions per word and words up to 2047
# bytes; a post past those limits is indexed with OVERFLOW, which every search query accepts.
MAX_WORDS = 16_000
MAX_REPEATS = 250
MAX_TOKEN_CHARS = 1_000
OVERFLOW = "qoverflow"
FLAG_KEYS = {
    ("is", "reply"): "qisreply",
    ("is", "repost"): "qisrepost",
    ("has", "link"): "qhaslink",
}
# Ids are handed out before commit on PostgreSQL, so a post may become visible after a higher
# id was indexed; the catch-up looks this many ids back. Edits are found by ``edited_at``
# (the receiving batch's time), looked back by EDIT_LOOKBACK for the same reason.
ID_LOOKBACK = 2_000
EDIT_LOOKBACK = timedelta(minutes=30)
DELETE_LOOKBACK = timedelta(days=1)
PROGRESS_STEP = 5_000


def encode(word: str) -> str:
    """One folded word as an index token that no tokenizer splits or alters."""
    if word.isascii() and word.isalnum():
        return word
    return "x" + word.encode().hex()


def key(name: str, value: str) -> str:
    """The index token of a field value (already folded as the parser folds it)."""
    flag = FLAG_KEYS.get((name, value))
    if flag is not None:
        return flag
    return (
        "q"
        + {"hashtag": "h", "mention": "m", "lang": "l", "domain": "d", "source": "s"}[name]
        + value.encode().hex()
    )


def document_keys(doc: Document) -> list[str]:
    """Every key a field filter can look up for this document (see ``reference._field``)."""
    keys = [key("source", fold_key(doc.network))]
    for raw in doc.hashtags:
        keys.append(key("hashtag", fold_key(raw).lstrip("#")))
    for raw in doc.mentions:
        handle = fold_key(raw).lstrip("@")
        keys.append(key("mention", handle))
        keys.append(key("mention", handle.split("@")[0]))
    for raw in doc.langs:
        lang = fold_key(raw)
        keys.append(key("lang", lang))
        keys += [key("lang", lang[:i]) for i, c in enumerate(lang) if c == "-"]
    for raw in doc.link_domains:
        domain = fold_key(raw)
        keys.append(key("domain", domain))
        keys += [key("domain", domain[i + 1 :]) for i, c in enumerate(domain) if c == "."]
    if doc.link_domains:
        keys.append(FLAG_KEYS["has", "link"])
    if doc.is_reply:
        keys.append(FLAG_KEYS["is", "reply"])
    if doc.is_repost:
        keys.append(FLAG_KEYS["is", "repost"])
    return list(dict.fromkeys(keys))


def index_tokens(doc: Document) -> list[str]:
    """The token stream of a document: title words, text words, then its keys."""
    words = tokens(doc.title) + tokens(doc.text) if doc.title else tokens(doc.text)
    joined = " ".join(words)
    if not (joined.isascii() and joined.replace(" ", "").isalnum()):
        words = [encode(w) for w in words]  # the common all-ASCII case skips this
        joined = ""
    keys = document_keys(doc)
    overflow = len(words) + len(keys) > MAX_WORDS
    if overflow or len(joined) > MAX_TOKEN_CHARS or not joined:
        kept = [w for w in words[:MAX_WORDS] if len(w) <= MAX_TOKEN_CHARS]
        overflow = overflow or len(kept) < len(words)
        words = kept
    if len(words) > MAX_REPEATS and Counter(words).most_common(1)[0][1] > MAX_REPEATS:
        overflow = True
    fitting = [k for k in keys if len(k) <= MAX_TOKEN_CHARS]
    room = MAX_WORDS - len(fitting) - 1  # one place for OVERFLOW
    if len(words) > room:
        words, overflow = words[:room], True
    out = words + fitting
    if overflow or len(fitting) < len(keys):
        out.append(OVERFLOW)
    return out


def tsvector_literal(tokens_: list[str]) -> str:
    """A PostgreSQL tsvector literal with 1-based positions; tokens need no quoting."""
    positions: dict[str, list[str]] = {}
    for i, token in enumerate(tokens_, start=1):
        positions.setdefault(token, []).append(str(i))
    return " ".join(f"{t}:{','.join(p)}" for t, p in positions.items())


def document_for(post: Any, author: Any, resolved: Mapping[str, str] | None = None) -> Document:
    """The Document of a stored post, derived exactly as for a post fresh from a connector,
    except that short links already resolved (``resolved``) count with the domain they lead to.

    ``post`` and ``author`` are rows (or models) with the Post and Author columns used here.
    """
    item = PostItem(
        native_id=post.native_id,
        author=AuthorRef(native_id=author.native_id, handle=author.handle),
        created_at=post.created_at,
        text=post.text or "",
        kind=post.kind,
        title=post.title,
        langs=tuple(post.langs or ()),
        reply_to=post.reply_to,
        mentions=tuple(post.mentions or ()),
        hashtags=tuple(post.hashtags or ()),
        links=tuple(post.links or ()),
        network=post.network,
    )
    return Document.from_post(
        item, followers=author.followers, network=post.network, resolved=resolved
    )


# Columns a search reads to build a Document and show a hit.
POST_COLUMNS = (
    Post.id,
    Post.native_id,
    Post.network,
    Post.kind,
    Post.text,
    Post.title,
    Post.langs,
    Post.created_at,
    Post.url,
    Post.reply_to,
    Post.reshare_of,
    Post.mentions,
    Post.hashtags,
    Post.links,
    Post.likes,
    Post.reshares,
    Post.replies,
    Post.quotes,
    Post.deleted,
)
AUTHOR_COLUMNS = (
    Author.native_id.label("author_native_id"),
    Author.handle.label("author_handle"),
    Author.followers.label("author_followers"),
)


@dataclass(frozen=True, slots=True)
class _AuthorView:
    native_id: str
    handle: str | None
    followers: int | None


def author_of(row: Any) -> _AuthorView:
    """The author part of a row selected with AUTHOR_COLUMNS."""
    return _AuthorView(row.author_native_id, row.author_handle, row.author_followers)


@dataclass
class IndexResult:
    """What an index action changed."""

    indexed: int = 0
    removed: int = 0


def index_posts(session: Session, workspace_id: int, post_ids: list[int]) -> IndexResult:
    """(Re)index these posts of the workspace; deleted or missing ones leave the index."""
    result = IndexResult()
    sqlite = session.get_bind().dialect.name == "sqlite"
    conn = session.connection()
    for chunk in chunks(sorted(set(post_ids)), 1000):
        result.removed += _unindex(session, workspace_id, chunk, sqlite)
        rows = conn.execute(
            select(*POST_COLUMNS, *AUTHOR_COLUMNS)
            .join(Author, Author.id == Post.author_id)
            .where(Post.workspace_id == workspace_id, Post.id.in_(chunk), Post.deleted.is_(False))
        ).all()
        resolved = resolved_for_posts(conn, [row.id for row in rows])
        docs = [(row.id, index_tokens(document_for(row, author_of(row), resolved))) for row in rows]
        if not docs:
            continue
        if sqlite:
            bodies = [(post_id, workspace_id, " ".join(toks)) for post_id, toks in docs]
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.executemany(
                "INSERT INTO search_docs (post_id, workspace_id, body) VALUES (?, ?, ?)", bodies
            )
            raw.executemany(
                "INSERT INTO search_fts (rowid, body) VALUES (?, ?)",
                [(post_id, body) for post_id, _, body in bodies],
            )
        else:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(
                "INSERT INTO search_docs (post_id, workspace_id, doc)"
                " VALUES (%s, %s, %s::tsvector)"
                " ON CONFLICT (post_id) DO UPDATE SET doc = EXCLUDED.doc",  # a concurrent indexer
                [(post_id, workspace_id, tsvector_literal(toks)) for post_id, toks in docs],
            )
        result.indexed += len(docs)
    return result


def _unindex(session: Session, workspace_id: int, post_ids: list[int], sqlite: bool) -> int:
    """Remove these posts from the index (FTS5 external content needs the old body back)."""
    conn = session.connection()
    mine = (SEARCH_DOCS.c.workspace_id == workspace_id, SEARCH_DOCS.c.post_id.in_(post_ids))
    if sqlite:
        old = conn.execute(select(SEARCH_DOCS.c.post_id, SEARCH_DOCS.c.body).where(*mine)).all()
        if not old:
            return 0
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.executemany(
            "INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', ?, ?)",
            [(row.post_id, row.body) for row in old],
        )
        conn.execute(delete(SEARCH_DOCS).where(SEARCH_DOCS.c.post_id.in_([r.post_id for r in old])))
        return len(old)
    gone = conn.execute(delete(SEARCH_DOCS).where(*mine))
    return int(gone.rowcount or 0)


Progress = Callable[[int, int], None]
"""Called with (posts indexed so far, posts to index) while a catch-up runs."""


def refresh_search_index(
    session: Session, workspace_id: int, full: bool = False, progress: Progress | None = None
) -> IndexResult:
    """Bring the workspace's index up to date: new posts, edited posts, deleted posts.

    Cheap when nothing changed (a few index lookups), so ``hubbub search`` calls it before
    every query. ``full`` re-checks every post of the workspace (repair after a restore).
    """
    conn = session.connection()
    # Writing first takes SQLite's write lock before anything is read (a read snapshot cannot
    # be upgraded once the listener has committed after it); on PostgreSQL the row lock makes
    # concurrent refreshes of one workspace take turns.
    conn.execute(
        insert_ignoring_conflicts(session, SEARCH_STATE).values(
            workspace_id=workspace_id, last_post_id=0
        )
    )
    state = conn.execute(
        select(SEARCH_STATE).where(SEARCH_STATE.c.workspace_id == workspace_id).with_for_update()
    ).one()
    last_id = 0 if full else state.last_post_id
    last_edit = None if full else state.last_edit_at
    last_delete = None if full else state.last_delete_at
    result = IndexResult()

    # New posts: every id past the mark (and a look-back window) not indexed yet.
    low = max(0, last_id - ID_LOOKBACK)
    rows = conn.execute(
        select(Post.id, Post.deleted, SEARCH_DOCS.c.post_id.label("indexed"))
        .outerjoin(SEARCH_DOCS, SEARCH_DOCS.c.post_id == Post.id)
        # ``+ 0`` keeps SQLite on the id range instead of the whole workspace's index range.
        .where((Post.workspace_id + 0) == workspace_id, Post.id > low)
    ).all()
    todo = [r.id for r in rows if r.indexed is None and not r.deleted]
    high = max([last_id, *(r.id for r in rows)])

    # Edits since the last mark (edited_at is set by the write path when text changes).
    edit_query = select(Post.id, Post.edited_at).where(
        Post.workspace_id == workspace_id, Post.edited_at.is_not(None)
    )
    if last_edit is not None:
        edit_query = edit_query.where(Post.edited_at >= last_edit - EDIT_LOOKBACK)
    edits = conn.execute(edit_query).all()
    todo += [r.id for r in edits]
    edit_mark = max(
        [e for e in [last_edit, *(r.edited_at for r in edits)] if e is not None], default=None
    )
    todo = sorted(set(todo))
    for start in range(0, len(todo), PROGRESS_STEP):
        done = index_posts(session, workspace_id, todo[start : start + PROGRESS_STEP])
        result.indexed += done.indexed
        result.removed += done.removed
        if progress is not None:
            progress(min(start + PROGRESS_STEP, len(todo)), len(todo))

    # Deleted posts still in the index. Search never returns them (it reads posts.deleted);
    # this drops their words from the index too.
    deleted_query = (
        select(Post.id, Post.deleted_at)
        .join(SEARCH_DOCS, SEARCH_DOCS.c.post_id == Post.id)
        .where(Post.workspace_id == workspace_id, Post.deleted == true())
    )
    if last_delete is not None:
        deleted_query = deleted_query.where(
            Post.deleted_at.is_not(None), Post.deleted_at >= last_delete - DELETE_LOOKBACK
        )
    gone = conn.execute(deleted_query).all()
    if gone:
        result.removed += _unindex(
            session, workspace_id, [r.id for r in gone], conn.dialect.name == "sqlite"
        )
    delete_mark = conn.execute(
        select(func.max(Post.deleted_at)).where(
            and_(Post.workspace_id == workspace_id, Post.deleted == true())
        )
    ).scalar()
    values = {
        "last_post_id": high,
        "last_edit_at": edit_mark,
        "last_delete_at": delete_mark or last_delete,
    }
    conn.execute(
        SEARCH_STATE.update().where(SEARCH_STATE.c.workspace_id == workspace_id).values(**values)
    )
    return result


def clear_search_index(session: Session, workspace_id: int) -> int:
    """Drop the workspace's posts from the index and forget its catch-up state, so the next
    refresh rebuilds it from nothing (a repair, and the build benchmark)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    ids = sorted(indexed_ids(session, workspace_id))
    removed = sum(_unindex(session, workspace_id, chunk, sqlite) for chunk in chunks(ids, 1000))
    session.connection().execute(
        delete(SEARCH_STATE).where(SEARCH_STATE.c.workspace_id == workspace_id)
    )
    return removed


def indexed_ids(session: Session, workspace_id: int) -> set[int]:
    """Ids of the workspace's posts in the index (for tests and repair)."""
    rows = session.connection().execute(
        select(SEARCH_DOCS.c.post_id).where(SEARCH_DOCS.c.workspace_id == workspace_id)
    )
    return {int(r[0]) for r in rows}
