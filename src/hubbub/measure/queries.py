"""Reads: goals with their progress and forecast, and the business case with its projection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.listening.models import Topic
from hubbub.listening.queries import period_figures
from hubbub.measure.business import Inputs, Projection, project
from hubbub.measure.forecast import Progress, progress, quarter_bounds
from hubbub.measure.kpis import KPIS, kpi_value
from hubbub.measure.models import BusinessCase, Goal


def goals(session: Session, workspace_id: int, quarter: str | None = None) -> list[Goal]:
    query = select(Goal).where(Goal.workspace_id == workspace_id)
    if quarter is not None:
        query = query.where(Goal.quarter == quarter)
    return list(session.scalars(query.order_by(Goal.quarter, Goal.kpi, Goal.id)))


def goal_progress(
    session: Session, workspace_id: int, quarter: str | None = None, as_of: datetime | None = None
) -> list[Progress]:
    """Each goal's KPI over its quarter up to ``as_of`` (default now), with the forecast."""
    as_of = as_of or utcnow()
    found: list[Progress] = []
    for goal in goals(session, workspace_id, quarter):
        kpi = KPIS[goal.kpi]
        topic = session.get(Topic, goal.topic_id) if goal.topic_id is not None else None
        start, end = quarter_bounds(goal.quarter)
        actual = None
        if as_of > start:
            actual = kpi_value(session, workspace_id, kpi, topic, start, min(as_of, end), as_of)
        name = topic.name if topic is not None else None
        found.append(progress(goal.id, kpi, name, goal.quarter, goal.target, actual, as_of))
    return found


@dataclass(frozen=True)
class CaseView:
    """The stored inputs, their projection, and the measured reach of the brand topics."""

    projection: Projection
    measured_reach: int
    reach_start: datetime
    reach_end: datetime
    updated_at: datetime


def business_case(
    session: Session, workspace_id: int, start: datetime, end: datetime
) -> CaseView | None:
    """The workspace's business case; the measured reach is over [start, end)."""
    row = session.get(BusinessCase, workspace_id)
    if row is None:
        return None
    inputs = Inputs(
        costs=row.costs,
        expected_reach=row.expected_reach,
        click_rate=row.click_rate,
        conversion_rate=row.conversion_rate,
        average_order_value=row.average_order_value,
        currency=row.currency,
    )
    brand = session.scalars(
        select(Topic.id).where(Topic.workspace_id == workspace_id, Topic.kind == "brand")
    )
    reach = sum(period_figures(session, topic_id, start, end).potential_reach for topic_id in brand)
    return CaseView(project(inputs), reach, start, end, row.updated_at)
