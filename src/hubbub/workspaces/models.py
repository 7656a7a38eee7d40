"""The workspace: one brand (or one agency client) with its own sources and data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.core.clock import utcnow
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkspaceAccount(Base):
    """One of the brand's own accounts on a network: posts mentioning it or replying to it are
    kept (listening) and open conversations (inbox), and replies go out through it.
    ``credentials`` is Fernet-encrypted."""

    __tablename__ = "inbox_accounts"
    __table_args__ = (
        Index(
            "uq_inbox_accounts_identity", "workspace_id", "network", "native_author_id", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(32))
    native_author_id: Mapped[str] = mapped_column(String(512))
    handle: Mapped[str] = mapped_column(String(320))
    service_url: Mapped[str | None] = mapped_column(String(2048))
    credentials: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
