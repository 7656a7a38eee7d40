"""Where short links lead: one row per short link, shared by every workspace (a redirect's
target is a public fact about the link), and the posts of each workspace that carry it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.core.clock import utcnow
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

#: ``pending`` until tried (and while a transient failure waits its retry); then ``resolved``
#: (redirects ended at a page: ``final_url``), ``refused`` (a hop pointed at a private or
#: loopback address) or ``failed`` (too many hops, a loop, or retries used up).
STATUSES = ("pending", "resolved", "refused", "failed")


class LinkResolution(Base):
    """A short link and where its redirects end."""

    __tablename__ = "link_resolutions"
    __table_args__ = (
        Index("uq_link_resolutions_short_url", "short_url", unique=True),
        Index("ix_link_resolutions_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    short_url: Mapped[str] = mapped_column(String(512))
    shortener: Mapped[str] = mapped_column(String(253))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    final_url: Mapped[str | None] = mapped_column(Text)
    final_domain: Mapped[str | None] = mapped_column(String(253))
    http_status: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkResolutionPost(Base):
    """A workspace's post carrying a short link: whose entities and search entry to refresh
    once the link is resolved."""

    __tablename__ = "link_resolution_posts"
    __table_args__ = (
        Index("ix_link_resolution_posts_post", "post_id"),
        Index("ix_link_resolution_posts_workspace", "workspace_id", "resolution_id"),
    )

    resolution_id: Mapped[int] = mapped_column(
        ForeignKey("link_resolutions.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
