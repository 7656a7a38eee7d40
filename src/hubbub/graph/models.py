"""Graph tables: author marks (what the team knows about an author that the data cannot say)
and the incrementally maintained interaction graph."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import BigInteger, Boolean, Double, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

MarkKind = Literal["advocate", "employee", "partner", "competitor", "blocked"]
MARK_KINDS: tuple[str, ...] = get_args(MarkKind)


class AuthorMark(Base):
    """One mark on one author of a workspace; an author may carry several (employee and
    advocate). ``blocked`` authors are left out of rankings."""

    __tablename__ = "author_marks"
    __table_args__ = (
        Index("uq_author_marks_author_mark", "author_id", "mark", unique=True),
        Index("ix_author_marks_workspace", "workspace_id", "mark"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    mark: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InteractionEdge(Base):
    """Persisted interactions of one author with another, of one kind, in the whole workspace
    (``topic_id`` 0) or among one topic's posts. The target is keyed by its network identity so
    a mentioned account never seen keeps its edge when its author row appears later.

    ``weight_ref`` is Σ kind weight × 2^((created_at − DECAY_EPOCH) / half-life): the decayed
    weight at any time t is ``weight_ref × 2^((DECAY_EPOCH − t) / half-life)``."""

    __tablename__ = "interaction_edges"
    __table_args__ = (
        Index(
            "uq_interaction_edges_key",
            "workspace_id",
            "topic_id",
            "source_author_id",
            "target_network",
            "target_native_id",
            "kind",
            unique=True,
        ),
        Index("ix_interaction_edges_source", "source_author_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(BigInteger)
    source_author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    target_network: Mapped[str] = mapped_column(String(32))
    target_native_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(8))
    count: Mapped[int] = mapped_column(Integer)
    weight_ref: Mapped[float] = mapped_column(Double)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InteractionRef(Base):
    """A reply, reshare or quote of a processed post, kept to find who referenced a post that
    arrives later (``pending``) or gets deleted."""

    __tablename__ = "interaction_refs"
    __table_args__ = (
        Index("uq_interaction_refs_post_kind", "post_id", "kind", unique=True),
        Index("ix_interaction_refs_target", "target_native_id", "workspace_id", "network"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    network: Mapped[str] = mapped_column(String(32))
    target_native_id: Mapped[str] = mapped_column(String(1024))
    pending: Mapped[bool] = mapped_column(Boolean)


class GraphState(Base):
    """How far the persisted graph of a workspace (``topic_id`` 0) or topic has got: the last
    post and tombstone processed, and for a topic the matches it was built from."""

    __tablename__ = "graph_state"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_post_id: Mapped[int] = mapped_column(BigInteger)
    last_tombstone_id: Mapped[int] = mapped_column(BigInteger)
    matches: Mapped[int] = mapped_column(BigInteger)
    half_life_seconds: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
