"""Stored side of alerts: raised alerts, playbooks, their run log, reply drafts, crisis mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

DRAFT_STATUSES = ("draft", "pending_approval", "approved", "rejected")


class AlertRecord(Base):
    """An alert a detector raised, kept so playbooks can be dry-run against history."""

    __tablename__ = "alert_records"
    __table_args__ = (
        Index("uq_alert_records_workspace_key", "workspace_id", "key", unique=True),
        Index("ix_alert_records_workspace_time", "workspace_id", "time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(400))
    """kind|series|time: the same alert re-delivered is stored once."""
    kind: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Playbook(Base):
    """A manager's rule: when an alert like this fires, do these things (YAML source kept)."""

    __tablename__ = "playbooks"
    __table_args__ = (Index("uq_playbooks_workspace_name", "workspace_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlaybookRun(Base):
    """One run of a playbook for one alert: what each action did, or would have done."""

    __tablename__ = "playbook_runs"
    __table_args__ = (
        Index("ix_playbook_runs_workspace_at", "workspace_id", "at"),
        Index("ix_playbook_runs_playbook", "playbook_id"),
        Index("uq_playbook_runs_dedupe_key", "dedupe_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"))
    playbook_name: Mapped[str] = mapped_column(String(200))
    alert: Mapped[dict[str, Any]] = mapped_column(JSON)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """One entry per action: ``{"action", "outcome", "detail"}``."""
    dry_run: Mapped[bool] = mapped_column(Boolean)
    dedupe_key: Mapped[str | None] = mapped_column(String(500))
    """playbook|alert key for real runs (an alert runs a playbook once); NULL for dry runs."""
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReplyDraft(Base):
    """A reply rendered from an approved template, waiting for people, never sent by itself."""

    __tablename__ = "reply_drafts"
    __table_args__ = (Index("ix_reply_drafts_workspace_status", "workspace_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("playbook_runs.id", ondelete="SET NULL"))
    template: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    approval_chain: Mapped[list[str]] = mapped_column(JSON)
    """Roles that must approve, in order."""
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Who approved (or rejected) which step, and when."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CrisisState(Base):
    """Crisis mode of a workspace: the flag, why, and the holding statement to pin."""

    __tablename__ = "crisis_states"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    active: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    holding_statement: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("playbook_runs.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotifyChannel(Base):
    """A named notification URL (apprise), kept Fernet-encrypted: such URLs carry tokens.

    Playbooks name channels instead of holding the URL, so their YAML, its audit trail and the
    edit page never show a secret. ``target`` is apprise's own masked form, for display.
    """

    __tablename__ = "notify_channels"
    __table_args__ = (
        Index("uq_notify_channels_workspace_name", "workspace_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    url_encrypted: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
