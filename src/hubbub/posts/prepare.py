"""Storing a batch, part one: all the work that needs no database.

Grouping by identity, merging author references, fingerprints, and each post's column values
already converted for the database driver (by the column types' own bind processors). Being
pure, it can run in another process than the writer (see ``hubbub.sources.pipeline``); so its
result pickles cheaply: a plain post travels as a tuple of strings and numbers, and only the
items the writer must compare with stored values (edits, engagement counts) travel whole.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, cast

from sqlalchemy import Dialect, Table

from hubbub.core.items import AuthorRef, AuthorUpdate, DeleteItem, InteractionItem, Item, PostItem
from hubbub.posts.fingerprint import fingerprint
from hubbub.posts.models import Post
from hubbub.store.bulk import BulkInsert, processed

POSTS = cast(Table, Post.__table__)
# Columns whose values come from the item, converted in ``prepare_items``.
ITEM_COLUMNS = (
    "native_id",
    "kind",
    "text",
    "title",
    "lang",
    "langs",
    "created_at",
    "url",
    "reply_to",
    "thread_root",
    "reshare_of",
    "quote_of",
    "mentions",
    "hashtags",
    "links",
    "media",
    "likes",
    "reshares",
    "replies",
    "quotes",
    "raw",
    "fingerprint",
)
# Columns the writer fills, knowing the store (author id, near-duplicate link) and the batch.
WRITER_COLUMNS = (
    "workspace_id",
    "source_id",
    "network",
    "author_id",
    "received_at",
    "edited_at",
    "deleted",
    "deleted_at",
    "near_dup_of",
)
POST_INSERT = BulkInsert(POSTS, WRITER_COLUMNS + ITEM_COLUMNS)
if {c.name for c in POSTS.columns} != {"id", *WRITER_COLUMNS, *ITEM_COLUMNS}:
    raise RuntimeError("posts columns changed: update ITEM_COLUMNS / WRITER_COLUMNS")


class PreparedPost(NamedTuple):
    native_id: str
    author: str  # the author's native id
    created: float  # POSIX seconds, for the near-duplicate window
    kind: str
    fingerprint: int | None
    values: tuple[Any, ...]  # ITEM_COLUMNS, converted for the driver
    item: PostItem | None  # only for edits and posts with engagement counts


@dataclass
class PreparedGroup:
    """One network's items of a batch, ready for the writer."""

    network: str
    posts: list[PreparedPost] = field(default_factory=list)
    interactions: list[InteractionItem] = field(default_factory=list)
    deletes: dict[str, DeleteItem] = field(default_factory=dict)
    updates: list[AuthorUpdate] = field(default_factory=list)
    # Merged references by native id; None for one that only names the author.
    authors: dict[str, AuthorRef | None] = field(default_factory=dict)


def _bare(ref: AuthorRef) -> bool:
    """A reference that names the author and says nothing else (every Jetstream post)."""
    return (
        ref.handle is None
        and ref.display_name is None
        and ref.followers is None
        and ref.following is None
        and ref.posts_count is None
        and ref.url is None
        and ref.created_at is None
    )


def has_counts(post: PostItem) -> bool:
    return (
        post.likes is not None
        or post.reshares is not None
        or post.replies is not None
        or post.quotes is not None
    )


def prepare_items(
    items: list[Item], network: str, dialect: Dialect, min_chars: int
) -> list[PreparedGroup]:
    """Items grouped by network (items naming their own win over ``network``), prepared."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.network or network].append(item)
    return [_prepare_group(name, group, dialect, min_chars) for name, group in groups.items()]


def _prepare_group(
    network: str, items: list[Item], dialect: Dialect, min_chars: int
) -> PreparedGroup:
    group = PreparedGroup(network)
    posts: dict[str, PostItem] = {}
    interactions: dict[str, InteractionItem] = {}
    for item in items:
        if isinstance(item, PostItem):
            previous = posts.get(item.native_id)
            # An edit later in the batch supersedes the create it follows.
            if previous is None or item.edited or not previous.edited:
                posts[item.native_id] = item
        elif isinstance(item, InteractionItem):
            interactions.setdefault(item.native_id, item)
        elif isinstance(item, DeleteItem):
            group.deletes[item.native_id] = item
        else:
            group.updates.append(item)
    group.interactions = list(interactions.values())
    refs = [p.author for p in posts.values()]
    refs += [i.actor for i in group.interactions]
    refs += [u.author for u in group.updates]
    group.authors = _merged_authors(refs)
    group.posts = _prepared_posts(list(posts.values()), dialect, min_chars)
    return group


def _merged_authors(refs: list[AuthorRef]) -> dict[str, AuthorRef | None]:
    merged: dict[str, AuthorRef] = {}
    copied: set[str] = set()
    for ref in refs:
        known = merged.get(ref.native_id)
        if known is None:
            merged[ref.native_id] = ref
            continue
        if ref.native_id not in copied:  # merge into a copy, never into the caller's item
            known = merged[ref.native_id] = replace(known)
            copied.add(ref.native_id)
        for name in ref.__slots__:
            value = getattr(ref, name)
            if value is not None:
                setattr(known, name, value)
    return {key: None if _bare(ref) else ref for key, ref in merged.items()}


def _prepared_posts(posts: list[PostItem], dialect: Dialect, min_chars: int) -> list[PreparedPost]:
    if not posts:
        return []
    prints = [
        fingerprint(p.text, min_chars) if p.kind == "post" and p.text else None for p in posts
    ]
    processors = POST_INSERT.processors(dialect)
    columns: list[list[Any]] = []
    for name in ITEM_COLUMNS:
        if name == "fingerprint":
            values: list[Any] = prints
        elif name == "lang":
            values = [p.langs[0] if p.langs else None for p in posts]
        else:
            values = [getattr(p, name) for p in posts]
        process = processors[name]
        columns.append(values if process is None else processed(values, process))
    return [
        PreparedPost(
            p.native_id,
            p.author.native_id,
            p.created_at.timestamp(),
            p.kind,
            fp,
            row,
            p if p.edited or has_counts(p) else None,
        )
        for p, fp, row in zip(posts, prints, zip(*columns, strict=True), strict=True)
    ]
