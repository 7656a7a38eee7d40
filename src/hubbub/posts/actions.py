"""Writes on posts, authors and interactions: the one place normalised items are stored.

Every statement is idempotent (keyed by workspace, network and native id), so replaying a
batch after a crash stores nothing twice. Deletes win: a tombstone keeps a late or replayed
copy of a deleted post from coming back.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Dialect,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from hubbub.core.items import AuthorRef, AuthorUpdate, DeleteItem, InteractionItem, Item
from hubbub.posts.models import (
    Author,
    AuthorHandle,
    Interaction,
    Post,
    PostFingerprint,
    PostFingerprintTail,
    Tombstone,
)
from hubbub.posts.prepare import POST_INSERT, PreparedGroup, PreparedPost, prepare_items
from hubbub.store.bulk import BulkInsert
from hubbub.store.dialect import (
    chunks,
    in_keys,
    insert_ignoring_conflicts,
    insert_ignoring_conflicts_on,
    take_turns_storing_posts,
    unindexed,
)

AUTHORS = cast(Table, Author.__table__)
HANDLES = cast(Table, AuthorHandle.__table__)
POSTS = cast(Table, Post.__table__)
INTERACTIONS = cast(Table, Interaction.__table__)
TOMBSTONES = cast(Table, Tombstone.__table__)
FINGERPRINT_TAIL = cast(Table, PostFingerprintTail.__table__)
FINGERPRINT_KEYS = cast(Table, PostFingerprint.__table__)
_LAST_POST_ID = select(func.max(POSTS.c.id))
_TAIL_ROWS = select(func.count()).select_from(FINGERPRINT_TAIL)
AUTHOR_INSERT = BulkInsert(AUTHORS, [c.name for c in AUTHORS.columns if c.name != "id"])
CROSS_NETWORK_WINDOW = timedelta(days=7)
_WINDOW_SECONDS = CROSS_NETWORK_WINDOW.total_seconds()
LAST_SEEN_RESOLUTION = timedelta(hours=1)
_EXISTING_COLUMNS = ("id", "native_id", "deleted", "likes", "reshares", "replies", "quotes")


def defers_fingerprint_keys(dialect: Dialect) -> bool:
    """Whether new posts' fingerprint keys wait in the tail before the key table.

    SQLite writes each page a commit touched to its WAL again, so a random key costs a page
    per commit; the tail turns that into a page per merge. PostgreSQL logs the changed entry
    only, and the tail was just extra work there (15% slower ingest, measured).
    """
    return dialect.name == "sqlite"


@functools.lru_cache(maxsize=64)  # keyed by each engine's dialect: bounded
def _keys_of_new_posts(dialect: Dialect) -> Any:
    """The fingerprint keys of posts above ``after``, into the tail or the key table.

    ``after`` is read inside the transaction, after it took its turn
    (``take_turns_storing_posts``), so the range holds this batch's posts only; conflicts are
    ignored all the same.
    """
    target = FINGERPRINT_TAIL if defers_fingerprint_keys(dialect) else FINGERPRINT_KEYS
    return insert_ignoring_conflicts_on(dialect, target).from_select(
        ["post_id", "fingerprint", "workspace_id"],
        select(POSTS.c.id, POSTS.c.fingerprint, POSTS.c.workspace_id).where(
            POSTS.c.id > bindparam("after"), POSTS.c.fingerprint.is_not(None)
        ),
    )


@functools.lru_cache(maxsize=64)  # keyed by each engine's dialect: bounded
def _by_native_ids(
    model: type[Author] | type[Post] | type[Tombstone], columns: tuple[str, ...], dialect: Dialect
) -> Select[Any]:
    """``columns`` of one workspace and network's rows with the native ids bound as ``keys``.

    Built once per dialect: constructing the statement again for every batch cost the writer
    as much as SQLite running it (~0.3 µs an event for each lookup).
    """
    return select(*(getattr(model, name) for name in columns)).where(
        model.workspace_id == bindparam("workspace_id"),
        model.network == bindparam("network"),
        in_keys(model.native_id, dialect),
    )


@functools.lru_cache(maxsize=64)  # keyed by each engine's dialect: bounded
def _canonical_by_fingerprint(dialect: Dialect) -> Select[Any]:
    """Posts that a new post with one of these fingerprints may be a copy of.

    Edits and deletes remove the keys of the text they replace, but a store written before
    they did may still hold such keys: the post's own fingerprint has the last word.
    """
    listed = [
        select(model.post_id).where(
            model.workspace_id == bindparam("workspace_id"), in_keys(model.fingerprint, dialect)
        )
        for model in (
            (PostFingerprint, PostFingerprintTail)
            if defers_fingerprint_keys(dialect)
            else (PostFingerprint,)
        )
    ]
    columns: tuple[Any, ...] = (
        Post.id,
        Post.fingerprint,
        Post.network,
        Post.author_id,
        Post.created_at,
    )
    return (
        select(*columns)
        .where(
            Post.id.in_(union_all(*listed) if len(listed) > 1 else listed[0]),
            # Not the workspace's index: SQLite would walk every post of the workspace.
            unindexed(Post.workspace_id) == bindparam("workspace_id"),
            in_keys(Post.fingerprint, dialect),
            Post.near_dup_of.is_(None),
        )
        .order_by(Post.id)
    )


#: Rows the fingerprint tail gathers, at least, before they move to the key table in one
#: sorted insert: a merge then rewrites each page of the key table once per ~10,000 posts
#: instead of once per commit.
FINGERPRINT_MERGE_ROWS = 10_000


def fingerprint_merge_rows(posts: int) -> int:
    """How many rows the tail gathers before a merge, in a store of about ``posts`` posts.

    Per post, a merge costs the key table pages it rewrites (~115 keys a page) divided by the
    rows moved, and the tail's own index costs the pages each 500-post commit rewrites (about
    the whole tail index while it is small). The sum is least near sqrt(1000 × keys): 10,000
    rows for 100,000 posts, ~32,000 for 1,000,000 (measured there: 40,000 rows stored 6 %
    more events a second than 10,000).
    """
    return max(FINGERPRINT_MERGE_ROWS, math.isqrt(1000 * max(posts, 0)))


def merge_fingerprint_tail(conn: Connection, min_rows: int = FINGERPRINT_MERGE_ROWS) -> int:
    """Move the tail into ``post_fingerprints`` once it holds ``min_rows``; rows moved.

    Runs in the caller's transaction, which stores posts and so holds SQLite's write lock:
    no one adds to the tail meanwhile. PostgreSQL has no tail (``defers_fingerprint_keys``).
    """
    if not defers_fingerprint_keys(conn.dialect):
        return 0
    tail, keys = FINGERPRINT_TAIL, FINGERPRINT_KEYS
    rows = int(conn.execute(_TAIL_ROWS).scalar_one())
    if rows < max(min_rows, 1):
        return 0
    ordered = select(tail.c.fingerprint, tail.c.workspace_id, tail.c.post_id).order_by(
        tail.c.fingerprint, tail.c.workspace_id, tail.c.post_id
    )
    conn.execute(
        insert_ignoring_conflicts_on(conn.dialect, keys).from_select(
            ["fingerprint", "workspace_id", "post_id"], ordered
        )
    )
    conn.execute(delete(tail))
    return rows


class AuthorState(NamedTuple):
    """What the write path needs to know of a stored author to decide on an update."""

    id: int
    native_id: str
    handle: str | None
    display_name: str | None
    followers: int | None
    following: int | None
    posts_count: int | None
    url: str | None
    active: bool
    last_seen_at: datetime


AuthorKey = tuple[int, str, str]


class AuthorCache:
    """Recently written authors by (workspace, network, native id), so most batches skip the
    author lookup. Filled only from committed transactions (see ``StoreResult.author_states``);
    a rolled-back insert must never leave an id behind. Bounded: cleared when full."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._states: dict[AuthorKey, AuthorState] = {}

    def get(self, key: AuthorKey) -> AuthorState | None:
        return self._states.get(key)

    def lookup(self, keys: list[AuthorKey]) -> list[AuthorState | None]:
        """``get`` of each key, in one call (a batch asks for hundreds)."""
        get = self._states.get
        return [get(key) for key in keys]

    def put_many(self, states: dict[AuthorKey, AuthorState]) -> None:
        if len(self._states) + len(states) > self.max_entries:
            self._states.clear()
        self._states.update(states)

    def clear(self) -> None:
        self._states.clear()

    def layer(self) -> AuthorCacheLayer:
        """A view for one transaction: what its batches wrote reaches this cache on commit."""
        return AuthorCacheLayer(self)


class AuthorCacheLayer(AuthorCache):
    """Authors written by earlier batches of a still-open transaction, over the shared cache.

    A later batch of the same transaction must compare against them, not against the state
    before the transaction (an author's handle changed and changed back would be missed).
    """

    def __init__(self, base: AuthorCache) -> None:
        super().__init__(max_entries=base.max_entries)
        self.base = base

    def get(self, key: AuthorKey) -> AuthorState | None:
        return self._states.get(key) or self.base.get(key)

    def lookup(self, keys: list[AuthorKey]) -> list[AuthorState | None]:
        found = self.base.lookup(keys)
        if self._states:
            own = self._states.get
            found = [own(key) or state for key, state in zip(keys, found, strict=True)]
        return found

    def commit(self) -> None:
        self.base.put_many(self._states)
        self._states = {}


@dataclass
class StoreResult:
    """What one batch changed; ``duplicates`` are posts we already had (``updated`` ones too).

    Every item lands in one count, so an import's summary adds up: posts in ``stored``,
    ``duplicates``; interactions, deletes and profile updates in their new and duplicate
    counts; items a stored delete supersedes in ``already_deleted``.
    """

    stored: int = 0
    duplicates: int = 0
    updated: int = 0
    near_duplicates: int = 0
    interactions: int = 0
    interaction_duplicates: int = 0
    deletes: int = 0
    delete_duplicates: int = 0
    profiles_changed: int = 0
    profile_duplicates: int = 0
    already_deleted: int = 0
    authors_new: int = 0
    authors_updated: int = 0
    author_states: dict[AuthorKey, AuthorState] = field(default_factory=dict)

    def add(self, other: StoreResult) -> None:
        for name in (
            "stored",
            "duplicates",
            "updated",
            "near_duplicates",
            "interactions",
            "interaction_duplicates",
            "deletes",
            "delete_duplicates",
            "profiles_changed",
            "profile_duplicates",
            "already_deleted",
            "authors_new",
            "authors_updated",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.author_states.update(other.author_states)

    def outcomes(self) -> tuple[int, int, int]:
        """Items of every kind that were (accepted, duplicate, updated)."""
        accepted = self.stored + self.interactions + self.deletes
        duplicate = (
            self.duplicates
            - self.updated
            + self.interaction_duplicates
            + self.delete_duplicates
            + self.profile_duplicates
            + self.already_deleted
        )
        return accepted, duplicate, self.updated + self.profiles_changed


def store_items(
    session: Session,
    workspace_id: int,
    network: str,
    items: list[Item],
    *,
    received_at: datetime,
    source_id: int | None = None,
    near_duplicate_min_chars: int = 24,
    author_cache: AuthorCache | None = None,
) -> StoreResult:
    """Store normalised items in the caller's transaction; items carrying their own
    ``network`` (cross-network formats) are grouped by it."""
    groups = prepare_items(items, network, session.get_bind().dialect, near_duplicate_min_chars)
    return store_prepared(
        session,
        workspace_id,
        groups,
        received_at=received_at,
        source_id=source_id,
        author_cache=author_cache,
    )


def store_prepared(
    session: Session,
    workspace_id: int,
    groups: list[PreparedGroup],
    *,
    received_at: datetime,
    source_id: int | None = None,
    author_cache: AuthorCache | None = None,
) -> StoreResult:
    """Store groups made by :func:`hubbub.posts.prepare.prepare_items` (maybe elsewhere)."""
    result = StoreResult()
    for group in groups:
        writer = _BatchWriter(
            session, workspace_id, group.network, received_at, source_id, author_cache
        )
        result.add(writer.write(group))
    return result


class _BatchWriter:
    def __init__(
        self,
        session: Session,
        workspace_id: int,
        network: str,
        received_at: datetime,
        source_id: int | None,
        author_cache: AuthorCache | None = None,
    ) -> None:
        self.author_cache = author_cache
        self.session = session
        self.conn = session.connection()
        self.workspace_id = workspace_id
        self.network = network
        self.received_at = received_at
        self.source_id = source_id
        self.result = StoreResult()
        self.newest_post_id: int | None = None  # read before fingerprinted posts are stored

    def write(self, group: PreparedGroup) -> StoreResult:
        take_turns_storing_posts(self.conn)  # before any id is drawn
        author_ids = self._upsert_authors(group.authors, group.updates)
        self._apply_deletes(group.deletes)
        interactions = group.interactions
        native_ids = [p.native_id for p in group.posts] + [i.native_id for i in interactions]
        tombstoned = self._tombstoned(native_ids) | set(group.deletes)
        posts = [p for p in group.posts if p.native_id not in tombstoned]
        kept = [i for i in interactions if i.native_id not in tombstoned]
        self.result.already_deleted += len(group.posts) - len(posts) + len(interactions) - len(kept)
        self._write_posts(posts, author_ids)
        self._write_interactions(kept, author_ids)
        if self.newest_post_id is not None:  # the tail grew: fingerprinted posts were stored
            merge_fingerprint_tail(self.conn, fingerprint_merge_rows(self.newest_post_id))
        return self.result

    # authors -------------------------------------------------------------------------------

    def _upsert_authors(
        self, given: dict[str, AuthorRef | None], updates: list[AuthorUpdate]
    ) -> dict[str, int]:
        """Ids of the batch's authors, inserting new ones and updating what changed.

        ``given`` holds None for a reference that only names the author (most posts).
        """
        active = {u.author.native_id: u.active for u in updates if u.active is not None}
        if not given:
            return {}
        changed_keys: set[str] = set()  # authors new or changed by this batch
        table = AUTHORS
        existing: dict[str, AuthorState] = {}
        missing: list[str] = []
        known_ids: dict[str, int] = {}
        stale = self.received_at - LAST_SEEN_RESOLUTION
        found = (
            self.author_cache.lookup([self._key(key) for key in given])
            if self.author_cache
            else [None] * len(given)
        )
        for (key, given_ref), cached in zip(given.items(), found, strict=True):
            if cached is None:
                missing.append(key)
            elif given_ref is None and key not in active and cached.last_seen_at >= stale:
                known_ids[key] = cached.id  # nothing new to say about this author
            else:
                existing[key] = cached
        for chunk in chunks(missing):
            rows = self._lookup(Author, AuthorState._fields, chunk)
            existing.update({row.native_id: AuthorState._make(row) for row in rows})

        merged = {
            key: ref or AuthorRef(native_id=key)
            for key, ref in given.items()
            if key not in known_ids
        }
        new_refs = [ref for key, ref in merged.items() if key not in existing]
        if new_refs:
            AUTHOR_INSERT.execute(
                self.conn,
                [
                    {
                        "workspace_id": self.workspace_id,
                        "network": self.network,
                        "native_id": ref.native_id,
                        "handle": ref.handle,
                        "display_name": ref.display_name,
                        "url": ref.url,
                        "followers": ref.followers,
                        "following": ref.following,
                        "posts_count": ref.posts_count,
                        "account_created_at": ref.created_at,
                        "active": active.get(ref.native_id, True) is not False,
                        "first_seen_at": self.received_at,
                        "last_seen_at": self.received_at,
                    }
                    for ref in new_refs
                ],
            )
        ids = {key: row.id for key, row in existing.items()}
        ids.update(known_ids)
        states = self.result.author_states
        if new_refs:
            ids.update(self._ids(Author, [ref.native_id for ref in new_refs]))
            self.result.authors_new += len(new_refs)
            changed_keys.update(ref.native_id for ref in new_refs)
            for ref in new_refs:
                if ref.native_id in ids:
                    states[self._key(ref.native_id)] = AuthorState(
                        ids[ref.native_id],
                        ref.native_id,
                        ref.handle,
                        ref.display_name,
                        ref.followers,
                        ref.following,
                        ref.posts_count,
                        ref.url,
                        active.get(ref.native_id, True) is not False,
                        self.received_at,
                    )

        changed: list[dict[str, Any]] = []
        handles: list[dict[str, Any]] = [
            {
                "author_id": ids[ref.native_id],
                "handle": ref.handle,
                "first_seen_at": self.received_at,
            }
            for ref in new_refs
            if ref.handle and ref.native_id in ids
        ]
        for key, row in existing.items():
            ref = merged[key]
            state = AuthorState(
                id=row.id,
                native_id=key,
                handle=ref.handle or row.handle,
                display_name=ref.display_name if ref.display_name is not None else row.display_name,
                followers=ref.followers if ref.followers is not None else row.followers,
                following=ref.following if ref.following is not None else row.following,
                posts_count=ref.posts_count if ref.posts_count is not None else row.posts_count,
                url=ref.url or row.url,
                active=active.get(key, row.active),
                last_seen_at=row.last_seen_at,
            )
            if state != row:
                changed_keys.add(key)
            if state != row or row.last_seen_at < stale:
                state = state._replace(last_seen_at=self.received_at)
                values = state._asdict()
                del values["id"], values["native_id"]
                changed.append({"b_id": row.id, **values})
            states[self._key(key)] = state
            if ref.handle and ref.handle != row.handle:
                handles.append(
                    {"author_id": row.id, "handle": ref.handle, "first_seen_at": self.received_at}
                )
        if changed:
            self.conn.execute(
                update(table).where(table.c.id == bindparam("b_id")),
                changed,
                execution_options={"synchronize_session": False},
            )
            self.result.authors_updated += len(changed)
        if handles:
            self.conn.execute(insert_ignoring_conflicts(self.session, HANDLES), handles)
        if updates:
            changes = sum(u.author.native_id in changed_keys for u in updates)
            self.result.profiles_changed += changes
            self.result.profile_duplicates += len(updates) - changes
        return ids

    def _key(self, native_id: str) -> AuthorKey:
        return (self.workspace_id, self.network, native_id)

    def _lookup(
        self,
        model: type[Author] | type[Post] | type[Tombstone],
        columns: tuple[str, ...],
        native_ids: list[str],
    ) -> list[Row[Any]]:
        """``columns`` of this workspace and network's rows with these native ids."""
        statement = _by_native_ids(model, columns, self.conn.dialect)
        params = {"workspace_id": self.workspace_id, "network": self.network}
        rows: list[Row[Any]] = []
        for chunk in chunks(native_ids):
            rows.extend(self.conn.execute(statement, {**params, "keys": chunk}))
        return rows

    def _ids(self, model: type[Author] | type[Post], native_ids: list[str]) -> dict[str, int]:
        """Ids of rows just inserted (executemany returns none), by native id."""
        return {
            row.native_id: row.id for row in self._lookup(model, ("id", "native_id"), native_ids)
        }

    # deletes -------------------------------------------------------------------------------

    def _apply_deletes(self, deletes: dict[str, DeleteItem]) -> None:
        if not deletes:
            return
        rows = [{"b_native_id": key, "deleted_at": item.at} for key, item in deletes.items()]
        posts = POSTS
        # The update below clears the fingerprint, so the post's key would match nothing again.
        self._forget_fingerprint_keys(
            [
                (row.id, row.fingerprint)
                for row in self._lookup(Post, ("id", "fingerprint"), list(deletes))
                if row.fingerprint is not None
            ]
        )
        self.conn.execute(
            update(posts)
            .where(
                posts.c.workspace_id == self.workspace_id,
                posts.c.network == self.network,
                posts.c.native_id == bindparam("b_native_id"),
            )
            .values(
                deleted=True,
                deleted_at=bindparam("deleted_at"),
                text="",
                title=None,
                raw="",
                links=[],
                mentions=[],
                hashtags=[],
                fingerprint=None,
            ),
            rows,
            execution_options={"synchronize_session": False},
        )
        interactions = INTERACTIONS
        self.conn.execute(
            update(interactions)
            .where(
                interactions.c.workspace_id == self.workspace_id,
                interactions.c.network == self.network,
                interactions.c.native_id == bindparam("b_native_id"),
            )
            .values(deleted=True),
            [{"b_native_id": key} for key in deletes],
            execution_options={"synchronize_session": False},
        )
        recorded = self.conn.execute(
            insert_ignoring_conflicts(self.session, TOMBSTONES).returning(TOMBSTONES.c.id),
            [
                {
                    "workspace_id": self.workspace_id,
                    "network": self.network,
                    "native_id": key,
                    "deleted_at": item.at,
                }
                for key, item in deletes.items()
            ],
        ).all()
        self.result.deletes += len(recorded)
        self.result.delete_duplicates += len(deletes) - len(recorded)

    def _tombstoned(self, native_ids: list[str]) -> set[str]:
        return {row.native_id for row in self._lookup(Tombstone, ("native_id",), native_ids)}

    # posts ---------------------------------------------------------------------------------

    def _write_posts(self, posts: list[PreparedPost], author_ids: dict[str, int]) -> None:
        if not posts:
            return
        # Plain creates only need to know whether they exist: an index-only lookup. Edits and
        # engagement counts also need the stored values they may change.
        stateful = [p for p in posts if p.item is not None]
        existing = self._existing_posts([p.native_id for p in stateful])
        self._update_existing([p for p in stateful if p.native_id in existing], existing)
        known = set(existing) | self._known_posts([p.native_id for p in posts if p.item is None])
        fresh = [p for p in posts if p.native_id not in known]
        self.result.duplicates += len(posts) - len(fresh)
        if not fresh:
            return
        earlier = self._earlier_by_fingerprint(
            {p.fingerprint for p in fresh if p.fingerprint is not None}
        )
        processors = POST_INSERT.processors(self.conn.dialect)
        received, deleted = (
            value if process is None else process(value)
            for value, process in (
                (self.received_at, processors["received_at"]),
                (False, processors["deleted"]),
            )
        )
        params: list[tuple[Any, ...]] = []
        # Canonical posts of this batch so far, by fingerprint, in order: a later post links to
        # the first of them it qualifies for, by the same rule as for stored posts.
        batch_canonical: dict[int, list[PreparedPost]] = {}
        pending_links: list[tuple[str, str]] = []
        linked = 0
        for p in fresh:
            author_id = author_ids[p.author]
            near = None
            if p.fingerprint is not None:
                near = self._pick_canonical(earlier.get(p.fingerprint, ()), author_id, p.created)
                if near is None:
                    first = next(
                        (
                            q
                            for q in batch_canonical.get(p.fingerprint, ())
                            if self._links(q.author == p.author, False, q.created, p.created)
                        ),
                        None,
                    )
                    if first is None:
                        batch_canonical.setdefault(p.fingerprint, []).append(p)
                    else:
                        pending_links.append((p.native_id, first.native_id))
                else:
                    linked += 1
            edited = received if p.item is not None and p.item.edited else None
            params.append(
                (
                    self.workspace_id,
                    self.source_id,
                    self.network,
                    author_id,
                    received,
                    edited,
                    deleted,
                    None,
                    near,
                    *p.values,
                )
            )
        fingerprinted = any(p.fingerprint is not None for p in fresh)
        if fingerprinted:  # (the newest id is also about the store's size, for the merge)
            self.newest_post_id = self.conn.execute(_LAST_POST_ID).scalar() or 0
        inserted = POST_INSERT.execute_processed(self.conn, params)
        if fingerprinted:
            # Ids are drawn in order, so the new posts are all above the old maximum: read
            # back in a range, no lookup (see _keys_of_new_posts for what else may be there).
            self.conn.execute(_keys_of_new_posts(self.conn.dialect), {"after": self.newest_post_id})
        self.result.stored += inserted
        self.result.duplicates += len(params) - inserted
        self.result.near_duplicates += linked
        new_ids = self._ids(Post, [native_id for pair in pending_links for native_id in pair])
        links = [
            {"b_id": new_ids[dup], "near_dup_of": new_ids[first]}
            for dup, first in pending_links
            if dup in new_ids and first in new_ids
        ]
        if links:
            posts_table = POSTS
            self.conn.execute(
                update(posts_table)
                .where(posts_table.c.id == bindparam("b_id"))
                .values(near_dup_of=bindparam("near_dup_of")),
                links,
                execution_options={"synchronize_session": False},
            )
            self.result.near_duplicates += len(links)

    def _existing_posts(self, native_ids: list[str]) -> dict[str, Any]:
        rows = self._lookup(Post, _EXISTING_COLUMNS, native_ids)
        return {row.native_id: row for row in rows}

    def _known_posts(self, native_ids: list[str]) -> set[str]:
        """Which of these posts are stored, answered from the identity index alone."""
        return {row.native_id for row in self._lookup(Post, ("native_id",), native_ids)}

    def _update_existing(self, posts: list[PreparedPost], existing: dict[str, Any]) -> None:
        edits: list[dict[str, Any]] = []
        counts: list[dict[str, Any]] = []
        items = [(prepared, prepared.item) for prepared in posts if prepared.item is not None]
        current = self._current([existing[p.native_id].id for _, p in items if p.edited])
        stale_keys: list[tuple[int, int]] = []
        for prepared, p in items:
            row = existing[p.native_id]
            post_id = row.id
            if row.deleted:
                continue
            text, title, fingerprint = current.get(post_id, (None, None, None))
            if p.edited and (text, title) != (p.text, p.title):
                if fingerprint is not None and fingerprint != prepared.fingerprint:
                    stale_keys.append((post_id, fingerprint))
                edits.append(
                    {
                        "b_id": post_id,
                        "text": p.text,
                        "title": p.title,
                        "edited_at": self.received_at,
                        "links": p.links,
                        "mentions": p.mentions,
                        "hashtags": p.hashtags,
                        "media": p.media,
                        "raw": p.raw,
                        "fingerprint": prepared.fingerprint,
                    }
                )
            if any(
                _raises(getattr(row, name), value)
                for name, value in (
                    ("likes", p.likes),
                    ("reshares", p.reshares),
                    ("replies", p.replies),
                    ("quotes", p.quotes),
                )
            ):
                counts.append(
                    {
                        "b_id": post_id,
                        "b_likes": p.likes,
                        "b_reshares": p.reshares,
                        "b_replies": p.replies,
                        "b_quotes": p.quotes,
                    }
                )
        table = POSTS
        workspace = self.workspace_id
        options = {"synchronize_session": False}
        if edits:
            self.conn.execute(
                update(table).where(table.c.id == bindparam("b_id")),
                edits,
                execution_options=options,
            )
            # Edits are rare: the old text's key goes, the new one goes straight to the key
            # table (not the tail).
            self._forget_fingerprint_keys(stale_keys)
            keys = [
                {"post_id": e["b_id"], "fingerprint": e["fingerprint"], "workspace_id": workspace}
                for e in edits
                if e["fingerprint"] is not None
            ]
            if keys:
                self.conn.execute(insert_ignoring_conflicts(self.session, FINGERPRINT_KEYS), keys)
        if counts:
            self.conn.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    likes=_greater(table.c.likes, "b_likes"),
                    reshares=_greater(table.c.reshares, "b_reshares"),
                    replies=_greater(table.c.replies, "b_replies"),
                    quotes=_greater(table.c.quotes, "b_quotes"),
                ),
                counts,
                execution_options=options,
            )
        self.result.updated += len({row["b_id"] for row in edits + counts})

    def _current(self, post_ids: list[int]) -> dict[int, tuple[str, str | None, int | None]]:
        """Stored text and fingerprint of posts an edit may change: a replayed edit is not an
        update, and a changed text's old fingerprint key is removed."""
        found: dict[int, tuple[str, str | None, int | None]] = {}
        for chunk in chunks(post_ids):
            rows = self.conn.execute(
                select(Post.id, Post.text, Post.title, Post.fingerprint).where(
                    in_keys(Post.id, self.conn.dialect)
                ),
                {"keys": chunk},
            )
            found.update({row.id: (row.text, row.title, row.fingerprint) for row in rows})
        return found

    def _forget_fingerprint_keys(self, keys: list[tuple[int, int]]) -> None:
        """Remove the fingerprint keys (post id, fingerprint) of posts whose text is going."""
        if not keys:
            return
        table = FINGERPRINT_KEYS
        self.conn.execute(
            delete(table).where(
                table.c.fingerprint == bindparam("b_fingerprint"),
                table.c.workspace_id == self.workspace_id,
                table.c.post_id == bindparam("b_post_id"),
            ),
            [{"b_fingerprint": fingerprint, "b_post_id": post_id} for post_id, fingerprint in keys],
        )
        if defers_fingerprint_keys(self.conn.dialect):  # a post's first key may wait there
            tail = FINGERPRINT_TAIL
            self.conn.execute(
                delete(tail).where(tail.c.post_id == bindparam("b_post_id")),
                [{"b_post_id": post_id} for post_id, _ in keys],
            )

    def _earlier_by_fingerprint(self, prints: set[int]) -> dict[int, list[Any]]:
        found: dict[int, list[Any]] = defaultdict(list)
        statement = _canonical_by_fingerprint(self.conn.dialect)
        for chunk in chunks(sorted(prints)):
            for row in self.conn.execute(
                statement, {"workspace_id": self.workspace_id, "keys": chunk}
            ):
                found[row.fingerprint].append(row)
        return found

    def _pick_canonical(self, candidates: Any, author_id: int, created: float) -> int | None:
        for row in candidates:
            same_author = row.network == self.network and row.author_id == author_id
            first = row.created_at.timestamp()
            if self._links(same_author, row.network != self.network, first, created):
                return int(row.id)
        return None

    @staticmethod
    def _links(same_author: bool, cross_network: bool, first: float, second: float) -> bool:
        """Same author repeating a text, or the same text on another network within a week.

        Different people on one network writing the same words are separate voices (copypasta
        is an authenticity signal, not a duplicate), so they are not linked.
        """
        if same_author:
            return True
        return cross_network and abs(second - first) <= _WINDOW_SECONDS

    # interactions --------------------------------------------------------------------------

    def _write_interactions(self, items: list[InteractionItem], author_ids: dict[str, int]) -> None:
        if not items:
            return
        rows = [
            {
                "workspace_id": self.workspace_id,
                "network": self.network,
                "native_id": i.native_id,
                "kind": i.kind,
                "actor_id": author_ids[i.actor.native_id],
                "target_post": i.target_post,
                "target_author": i.target_author,
                "created_at": i.created_at,
                "received_at": self.received_at,
                "deleted": False,
            }
            for i in items
        ]
        table = INTERACTIONS
        inserted = self.conn.execute(
            insert_ignoring_conflicts(self.session, table).returning(table.c.id), rows
        ).all()
        self.result.interactions += len(inserted)
        self.result.interaction_duplicates += len(rows) - len(inserted)


def _raises(stored: int | None, seen: int | None) -> bool:
    """Whether a capture's count is news: engagement counts only ever grow here, so a capture
    replayed or imported after a newer one (an old export, a late REST page) never winds the
    stored figure back, and the result does not depend on the order captures arrive in."""
    return seen is not None and (stored is None or seen > stored)


def _greater(column: Any, param: str) -> ColumnElement[Any]:
    """The larger of the stored count and the bound one (a NULL on either side loses)."""
    value: BindParameter[int] = bindparam(param, type_=Integer)
    return case(
        (value.is_(None), column),
        (column.is_(None), value),
        (value > column, value),
        else_=column,
    )
