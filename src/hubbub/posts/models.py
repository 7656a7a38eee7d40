"""One normalised model for every network; network-specific fields stay in ``raw``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime


class Author(Base):
    """An account on one network, keyed by its stable id (DID, account URL, username)."""

    __tablename__ = "authors"
    __table_args__ = (
        # Identity indexes lead with the selective column: PostgreSQL without statistics (every
        # new workspace) otherwise seeks on (workspace, network) and filters ids row by row.
        Index("uq_authors_identity", "native_id", "workspace_id", "network", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(32))
    native_id: Mapped[str] = mapped_column(String(512))
    handle: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(String(2048))
    followers: Mapped[int | None] = mapped_column(Integer)
    following: Mapped[int | None] = mapped_column(Integer)
    posts_count: Mapped[int | None] = mapped_column(Integer)
    account_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthorHandle(Base):
    """Every handle an author has been seen with, so old mentions still resolve."""

    __tablename__ = "author_handles"
    __table_args__ = (Index("uq_author_handles_author_handle", "author_id", "handle", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    handle: Mapped[str] = mapped_column(String(320), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Post(Base):
    """A post, reply, quote or reshare as stored for one workspace.

    References to other posts (``reply_to`` …) are native ids on the same network, so they
    hold even when the other post arrives later or never. ``near_dup_of`` points at the first
    post with the same normalised text from another author or network, which counts instead.
    """

    __tablename__ = "posts"
    __table_args__ = (
        Index("uq_posts_identity", "native_id", "workspace_id", "network", unique=True),
        Index("ix_posts_workspace_created", "workspace_id", "created_at"),
        Index("ix_posts_author", "author_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    network: Mapped[str] = mapped_column(String(32))
    native_id: Mapped[str] = mapped_column(String(1024))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="post")
    text: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    langs: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(2048))
    reply_to: Mapped[str | None] = mapped_column(String(1024))
    thread_root: Mapped[str | None] = mapped_column(String(1024))
    reshare_of: Mapped[str | None] = mapped_column(String(1024))
    quote_of: Mapped[str | None] = mapped_column(String(1024))
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    media: Mapped[list[str]] = mapped_column(JSON, default=list)
    likes: Mapped[int | None] = mapped_column(Integer)
    reshares: Mapped[int | None] = mapped_column(Integer)
    replies: Mapped[int | None] = mapped_column(Integer)
    quotes: Mapped[int | None] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fingerprint: Mapped[int | None] = mapped_column(BigInteger)
    near_dup_of: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    raw: Mapped[str] = mapped_column(Text, default="")

    def as_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}


class PostFingerprint(Base):
    """Posts by fingerprint, for near-duplicate linking; kept off the posts table.

    Entries reach it in sorted bulk from :class:`PostFingerprintTail` (see
    ``hubbub.posts.actions.merge_fingerprint_tail``), so an import rewrites each of its pages
    once per merge, not once per commit. Edits and deletes remove the entry of the text they
    replace; a store written before they did may hold stale ones, so readers check each entry
    against the post's own ``fingerprint``.
    """

    __tablename__ = "post_fingerprints"
    __table_args__ = ({"sqlite_with_rowid": False},)

    fingerprint: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class PostFingerprintTail(Base):
    """Fingerprints of the newest posts, as the write path stores them (SQLite only).

    Small by design: merged into :class:`PostFingerprint` once it holds 10,000 rows, or about
    sqrt(1000 × posts) in a bigger store (``hubbub.posts.actions.fingerprint_merge_rows``),
    so its index costs an import few pages per commit.
    """

    __tablename__ = "post_fingerprint_tail"
    __table_args__ = (Index("ix_post_fingerprint_tail_key", "fingerprint", "workspace_id"),)

    post_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    fingerprint: Mapped[int] = mapped_column(BigInteger)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))


class Interaction(Base):
    """A like or follow: engagement and graph signal without text."""

    __tablename__ = "interactions"
    __table_args__ = (
        Index("uq_interactions_identity", "native_id", "workspace_id", "network", unique=True),
        Index("ix_interactions_target_post", "workspace_id", "target_post"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(32))
    native_id: Mapped[str] = mapped_column(String(1024))
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    target_post: Mapped[str | None] = mapped_column(String(1024))
    target_author: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class Tombstone(Base):
    """A delete seen before (or without) the thing it deletes, so a late copy stays deleted."""

    __tablename__ = "tombstones"
    __table_args__ = (
        Index("uq_tombstones_identity", "native_id", "workspace_id", "network", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(32))
    native_id: Mapped[str] = mapped_column(String(1024))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)
