"""Configured sources with their cursors, and the dead letters of what they sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.core.clock import utcnow
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime


class Source(Base):
    """One configured feed of events (a Jetstream subscription, a Mastodon server, a feed …).

    ``cursor`` is written in the same transaction as the posts of the batch it ends, which is
    what makes a restart resume exactly where the last commit stopped.
    """

    __tablename__ = "sources"
    __table_args__ = (Index("uq_sources_workspace_name", "workspace_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    credentials: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest post time seen: "lag" is how far behind the network's present that is.
    newest_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events_total: Mapped[int] = mapped_column(Integer, default=0)
    stored_total: Mapped[int] = mapped_column(Integer, default=0)
    rejected_total: Mapped[int] = mapped_column(Integer, default=0)


class DeadLetter(Base):
    """A payload refused with a reason, kept so it can be inspected and replayed.

    The same bytes arriving twice (a replay after a crash) are kept once; a connector's report
    of a failed fetch (no bytes) is kept once per URL, error and detail. ``payload_sha256`` is
    that key (``ingest.letter_digest``).
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        Index("uq_dead_letters_payload", "workspace_id", "format", "payload_sha256", unique=True),
        Index("ix_dead_letters_workspace_received", "workspace_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    format: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_size: Mapped[int] = mapped_column(Integer)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    meta: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    cursor: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replay_outcome: Mapped[str | None] = mapped_column(Text)
