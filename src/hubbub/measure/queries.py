"""Reads: goals with their progress and forecast, the business case with its projection and
its actuals, and recorded conversions per topic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.listening.models import Topic
from hubbub.listening.queries import period_figures
from hubbub.measure.business import Inputs, Projection, project
from hubbub.measure.forecast import Progress, progress, quarter_bounds
from hubbub.measure.kpis import KPIS, kpi_value
from hubbub.measure.models import BusinessCase, Conversion, Goal


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
class ConversionTotals:
    """Conversions recorded in a period, and their value per currency."""

    conversions: int = 0
    revenue: dict[str, float] = field(default_factory=dict)

    def plus(self, other: ConversionTotals) -> ConversionTotals:
        revenue = dict(self.revenue)
        for currency, value in other.revenue.items():
            revenue[currency] = revenue.get(currency, 0.0) + value
        return ConversionTotals(self.conversions + other.conversions, revenue)


def conversions_by_topic(
    session: Session, workspace_id: int, start: datetime, end: datetime
) -> dict[int | None, ConversionTotals]:
    """Conversions that occurred in [start, end), per topic (None: attributed to no topic)."""
    found: dict[int | None, ConversionTotals] = {}
    rows = session.execute(
        select(
            Conversion.topic_id,
            Conversion.currency,
            func.count(),
            func.coalesce(func.sum(Conversion.value), 0),
        )
        .where(
            Conversion.workspace_id == workspace_id,
            Conversion.occurred_at >= start,
            Conversion.occurred_at < end,
        )
        .group_by(Conversion.topic_id, Conversion.currency)
    )
    for topic_id, currency, count, value in rows:
        part = ConversionTotals(int(count), {currency: float(value)})
        found[topic_id] = found.get(topic_id, ConversionTotals()).plus(part)
    return found


def conversion_totals(
    session: Session, workspace_id: int, start: datetime, end: datetime
) -> ConversionTotals:
    """All the workspace's conversions in [start, end), whatever topic they name."""
    total = ConversionTotals()
    for part in conversions_by_topic(session, workspace_id, start, end).values():
        total = total.plus(part)
    return total


@dataclass(frozen=True)
class CaseActuals:
    """What the recorded conversions of [start, end) say, in the business case's currency.

    Conversions in other currencies are counted in ``other_currencies`` and left out of the
    figures (no exchange rates are kept). ROI sets the revenue against the case's costs.
    """

    start: datetime
    end: datetime
    conversions: int
    revenue: float
    net: float
    roi: float | None
    average_order_value: float | None
    other_currencies: dict[str, int]


def case_actuals(
    session: Session,
    workspace_id: int,
    inputs: Inputs,
    start: datetime,
    end: datetime,
) -> CaseActuals | None:
    """Actual conversions, revenue and ROI of [start, end); None when none were recorded."""
    rows = session.execute(
        select(Conversion.currency, func.count(), func.coalesce(func.sum(Conversion.value), 0))
        .where(
            Conversion.workspace_id == workspace_id,
            Conversion.occurred_at >= start,
            Conversion.occurred_at < end,
        )
        .group_by(Conversion.currency)
    ).all()
    if not rows:
        return None
    by_currency = {currency: (int(count), float(value)) for currency, count, value in rows}
    count, revenue = by_currency.pop(inputs.currency, (0, 0.0))
    net = revenue - inputs.costs
    return CaseActuals(
        start=start,
        end=end,
        conversions=count,
        revenue=revenue,
        net=net,
        roi=net / inputs.costs if inputs.costs else None,
        average_order_value=revenue / count if count else None,
        other_currencies={currency: n for currency, (n, _value) in sorted(by_currency.items())},
    )


@dataclass(frozen=True)
class CaseView:
    """The stored inputs, their projection, the measured reach of the brand topics, and the
    actuals of the recorded conversions (None when there are none in the period)."""

    projection: Projection
    measured_reach: int
    reach_start: datetime
    reach_end: datetime
    updated_at: datetime
    actuals: CaseActuals | None = None


def business_case(
    session: Session,
    workspace_id: int,
    start: datetime,
    end: datetime,
    actuals: tuple[datetime, datetime] | None = None,
) -> CaseView | None:
    """The workspace's business case; the measured reach is over [start, end), the actuals
    over ``actuals`` (default the same period)."""
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
    actual_start, actual_end = actuals or (start, end)
    found = case_actuals(session, workspace_id, inputs, actual_start, actual_end)
    return CaseView(project(inputs), reach, start, end, row.updated_at, found)
