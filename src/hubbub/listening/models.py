"""Topics a workspace listens for, the posts they matched, what those posts were enriched with,
and hourly rollups that make dashboards independent of history length.

Unique authors cannot be summed across hours (an author active in two hours is one author of
the day), so every rollup cell keeps its author set in ``hourly_rollup_authors``: a cell's
``unique_authors`` is the size of its set, and the unique authors of any period and any slice
(topic, network, sentiment, language) are ``COUNT(DISTINCT author_id)`` over that set's rows
of the period's hours. The set also makes the counter idempotent: only an insert that added a
new (cell, author) row increments it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

TOPIC_KINDS = ("brand", "product", "competitor", "campaign", "other")
UNKNOWN_LANG = "und"  # BCP 47 "undetermined"


class Topic(Base):
    """What a workspace listens for: a named boolean rule (docs/query-language.md)."""

    __tablename__ = "topics"
    __table_args__ = (Index("uq_topics_workspace_name", "workspace_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="other")
    rule: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set when the rule changed: the stored posts wait to be matched again under it
    #: (``listening.actions.rematch_topic``); live matching records nothing for it meanwhile.
    rematch_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How far that re-match has got: NULL while the old matches and rollups are being
    #: removed, then the highest post id matched again.
    rematch_cursor: Mapped[int | None] = mapped_column(BigInteger)


class TopicMatch(Base):
    """A stored post matched a topic; the post's time, network and author are copied so that
    period scans and top authors read this table's indexes alone."""

    __tablename__ = "topic_matches"
    __table_args__ = (
        # (topic, created) scans and top authors, from the index alone.
        Index("ix_topic_matches_topic_created_author", "topic_id", "created_at", "author_id"),
        Index("ix_topic_matches_post", "post_id"),
        Index("ix_topic_matches_workspace_created", "workspace_id", "created_at"),
    )

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    network: Mapped[str] = mapped_column(String(32))
    # Nullable only for rows older than migration 0018, which fills them in.
    author_id: Mapped[int | None] = mapped_column(BigId)
    # The post's sentiment towards this topic when it names two or more of the workspace's
    # brands, products or competitors (listening/aspects.py); NULL: the post's own label.
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)


class PostEnrichment(Base):
    """Language, sentiment, intents and entities of a matched post, computed once; an
    analyst's label correction replaces the sentiment (the correction keeps the model's)."""

    __tablename__ = "post_enrichments"
    __table_args__ = (Index("ix_post_enrichments_workspace", "workspace_id"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(16))
    lang_detected: Mapped[bool] = mapped_column(Boolean, default=False)
    sentiment_score: Mapped[float] = mapped_column(Float)
    sentiment_label: Mapped[str] = mapped_column(String(16))
    #: Which sentiment tier gave the label (``HUBBUB_SENTIMENT_TIER`` when it was stored).
    sentiment_tier: Mapped[str] = mapped_column(
        String(16), default="default", server_default="default"
    )
    intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def match_sentiment() -> ColumnElement[str]:
    """The sentiment label a match counts under: its topic's own verdict if the post had one
    for it, else the post's (a query joining ``topic_matches`` and ``post_enrichments``)."""
    return func.coalesce(TopicMatch.sentiment_label, PostEnrichment.sentiment_label)


class HourlyRollup(Base):
    """Counters of one hour × topic × network × sentiment class × language cell.

    ``potential_reach`` sums the author's follower count at match time over the cell's posts;
    ``engagement`` sums likes + reshares + replies + quotes as the post arrived.
    """

    __tablename__ = "hourly_rollups"
    __table_args__ = (
        Index("ix_hourly_rollups_workspace_hour", "workspace_id", "hour"),
        # Covers the dashboard's sums (volume, splits, share of voice): no table reads.
        Index(
            "ix_hourly_rollups_topic_hour_posts",
            "topic_id",
            "hour",
            "network",
            "sentiment_label",
            "lang",
            "posts",
        ),
    )

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    sentiment_label: Mapped[str] = mapped_column(String(16), primary_key=True)
    lang: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    posts: Mapped[int] = mapped_column(Integer, default=0)
    unique_authors: Mapped[int] = mapped_column(Integer, default=0)
    potential_reach: Mapped[int] = mapped_column(BigInteger, default=0)
    engagement: Mapped[int] = mapped_column(BigInteger, default=0)


class HourlyRollupAuthor(Base):
    """The author set of one rollup cell: period-unique authors are counted from these rows."""

    __tablename__ = "hourly_rollup_authors"

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    sentiment_label: Mapped[str] = mapped_column(String(16), primary_key=True)
    lang: Mapped[str] = mapped_column(String(16), primary_key=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True
    )


class AuthorRollup(Base):
    """Matches per topic × author × UTC day × network: top authors of whole days without
    grouping every match of the period.

    Counts every recorded match, as the hourly rollups do; the matches of posts deleted later
    are taken off at read time (``listening.dashboard.top_authors``), found from the posts'
    partial index of deleted ones. The ``posts`` index lets top authors read only the rows
    large enough to matter. Language and sentiment filters are answered from the matches.
    """

    __tablename__ = "author_rollups"
    __table_args__ = (
        Index("ix_author_rollups_topic_posts", "topic_id", "network", "posts", "day", "author_id"),
        {"sqlite_with_rowid": False},
    )

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    author_id: Mapped[int] = mapped_column(
        ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    posts: Mapped[int] = mapped_column(Integer, default=0)


class TermRollup(Base):
    """Posts containing a term, per day × topic × network × sentiment class × language.

    Daily, not hourly: a term of one hour is mostly seen once, so hourly rows would be ~24 times
    as many and nearly all ones, while top terms are only asked over whole days (24 h to 90 d).
    The cell columns are those of ``HourlyRollup`` so every dashboard filter applies. A closed
    day is compacted (``listening.actions.compact_term_rollups``): per cell only its
    ``TERMS_PER_CELL`` most frequent terms stay, which bounds a day's rows by its cells.
    """

    __tablename__ = "term_rollups"
    __table_args__ = (
        Index("ix_term_rollups_workspace_day", "workspace_id", "day"),
        {"sqlite_with_rowid": False},
    )

    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    sentiment_label: Mapped[str] = mapped_column(String(16), primary_key=True)
    lang: Mapped[str] = mapped_column(String(16), primary_key=True)
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    posts: Mapped[int] = mapped_column(Integer, default=0)
