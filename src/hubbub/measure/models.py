"""Quarterly goals per KPI, one business case per workspace, and recorded conversions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Numeric, String
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


class Conversion(Base):
    """One conversion (an order, a sign-up) reported by the team: by CSV import or the API.

    ``external_id`` is the reporter's own id (order number) and is unique per workspace, so a
    re-sent file or request records nothing twice. A campaign is a topic of kind ``campaign``;
    a conversion may name any topic, or none. Removing the topic keeps the conversion.
    """

    __tablename__ = "conversions"
    __table_args__ = (
        Index("uq_conversions_workspace_external", "workspace_id", "external_id", unique=True),
        Index("ix_conversions_workspace_occurred", "workspace_id", "occurred_at"),
        Index("ix_conversions_topic_occurred", "topic_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    external_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Exact in PostgreSQL (NUMERIC); read back as float like the business case's figures.
    value: Mapped[float] = mapped_column(Numeric(18, 4, asdecimal=False))
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
