"""Report schedules of a workspace and the run ledger that makes each period go out once.

A run row is keyed by (schedule, period start): the worker claims it before sending, so two
workers, or one re-run after a crash, never mail the same period twice once it is ``sent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.core.clock import utcnow
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

CADENCES = ("week", "month")
#: pending: waiting for its next attempt; sending: claimed by a worker; sent; dead.
RUN_STATES = ("pending", "sending", "sent", "dead")


class ReportSchedule(Base):
    """A weekly or monthly report of chosen sections, mailed to its recipients."""

    __tablename__ = "report_schedules"
    __table_args__ = (
        Index("uq_report_schedules_workspace_name", "workspace_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    cadence: Mapped[str] = mapped_column(String(8))
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)  # names; empty: all
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    send_hour: Mapped[int] = mapped_column(Integer, default=8)  # local hour after period end
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRun(Base):
    """One period of one schedule: its sending state and attempt count."""

    __tablename__ = "report_runs"
    __table_args__ = (
        Index("uq_report_runs_schedule_period", "schedule_id", "period_start", unique=True),
        Index("ix_report_runs_workspace", "workspace_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    schedule_id: Mapped[int] = mapped_column(ForeignKey("report_schedules.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
