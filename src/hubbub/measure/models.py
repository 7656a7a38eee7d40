"""Quarterly goals per KPI, and one business case per workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.core.clock import utcnow
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime


class Goal(Base):
    """A target for one KPI in one calendar quarter (``2026-Q4``), optionally for one topic."""

    __tablename__ = "measure_goals"
    __table_args__ = (Index("ix_measure_goals_workspace_quarter", "workspace_id", "quarter"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kpi: Mapped[str] = mapped_column(String(64))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    quarter: Mapped[str] = mapped_column(String(7))
    target: Mapped[float] = mapped_column(Float)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusinessCase(Base):
    """The inputs of the workspace's business case; rates are fractions (0.02 = 2 %)."""

    __tablename__ = "measure_business_cases"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    costs: Mapped[float] = mapped_column(Float)
    expected_reach: Mapped[float] = mapped_column(Float)
    click_rate: Mapped[float] = mapped_column(Float)
    conversion_rate: Mapped[float] = mapped_column(Float)
    average_order_value: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
