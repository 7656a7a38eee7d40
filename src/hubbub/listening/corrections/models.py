"""Corrections of a post's enrichment, kept as history, and each workspace's calibration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime


class EnrichmentCorrection(Base):
    """One analyst's verdict on a post: the latest per post wins, earlier ones stay as history.

    ``label`` / ``intents`` are None when that part was not corrected. ``model_*`` are what the
    model said: the stored enrichment before any correction rewrote its label (a label
    correction becomes the post's stored sentiment, ``corrections.relabel``); ``model_proba``
    is the uncalibrated default tier's (negative, neutral, positive) probabilities of the
    post's text, what calibration fits on.
    """

    __tablename__ = "enrichment_corrections"
    __table_args__ = (
        Index("ix_enrichment_corrections_workspace", "workspace_id", "id"),
        Index("ix_enrichment_corrections_post", "post_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str | None] = mapped_column(String(16))
    intents: Mapped[list[str] | None] = mapped_column(JSON)
    model_label: Mapped[str] = mapped_column(String(16))
    model_score: Mapped[float] = mapped_column(Float)
    model_intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    model_proba: Mapped[list[float]] = mapped_column(JSON, default=list)


class SentimentCalibration(Base):
    """The workspace's latest fit (``report``: calibration.Report.to_dict()); ``version`` grows
    with every refit so the listening stage reloads it with one indexed lookup."""

    __tablename__ = "sentiment_calibrations"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
