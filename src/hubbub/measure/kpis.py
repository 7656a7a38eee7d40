"""The KPIs a goal can target: the funnel's fields (per topic), the inbox's response figures,
and recorded conversions (per topic or the whole workspace).

``additive`` KPIs accumulate over a quarter (a count), so their quarter-end forecast is a run
rate; the others are levels (shares, percentiles) that the quarter so far already estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubbub.inbox.metrics import response_metrics
from hubbub.listening.metrics import FunnelMetrics, funnel
from hubbub.listening.models import Topic
from hubbub.measure.models import Conversion


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    source: Literal["funnel", "response", "conversions"]
    better: Literal["higher", "lower"] = "higher"
    additive: bool = True
    percent: bool = False
    unit: str = ""


_FUNNEL = (
    Kpi("mentions", "Mentions", "funnel"),
    Kpi("unique_authors", "Unique authors", "funnel"),
    Kpi("potential_reach", "Potential reach", "funnel"),
    Kpi("share_of_voice", "Share of voice", "funnel", additive=False, percent=True),
    Kpi("engagement", "Engagement", "funnel"),
    Kpi("engagement_per_mention", "Engagement per mention", "funnel", additive=False),
    Kpi("returning_authors", "Returning authors", "funnel"),
    Kpi("new_authors", "New authors", "funnel"),
    Kpi("returning_share", "Returning share", "funnel", additive=False, percent=True),
    Kpi("positive_share", "Positive share", "funnel", additive=False, percent=True),
    Kpi("negative_share", "Negative share", "funnel", "lower", additive=False, percent=True),
)
_RESPONSE = (
    Kpi(
        "first_response_p50",
        "First response, median",
        "response",
        "lower",
        additive=False,
        unit="working min",
    ),
    Kpi(
        "first_response_p90",
        "First response, 90th percentile",
        "response",
        "lower",
        additive=False,
        unit="working min",
    ),
    Kpi("within_sla_share", "Answered within SLA", "response", additive=False, percent=True),
    Kpi("sla_breaches", "SLA breaches", "response", "lower"),
)
_CONVERSIONS = (Kpi("conversions", "Conversions", "conversions"),)
KPIS: dict[str, Kpi] = {kpi.name: kpi for kpi in (*_FUNNEL, *_RESPONSE, *_CONVERSIONS)}

# Every funnel KPI is a field of FunnelMetrics: a renamed field must fail loudly here.
assert {k.name for k in _FUNNEL} <= {f.name for f in fields(FunnelMetrics)}


def kpi_value(
    session: Session,
    workspace_id: int,
    kpi: Kpi,
    topic: Topic | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> float | None:
    """The KPI over [start, end); None when it is undefined there (a ratio of nothing)."""
    if kpi.source == "conversions":
        query = select(func.count()).where(
            Conversion.workspace_id == workspace_id,
            Conversion.occurred_at >= start,
            Conversion.occurred_at < end,
        )
        if topic is not None:
            query = query.where(Conversion.topic_id == topic.id)
        return float(session.scalar(query) or 0)
    if kpi.source == "funnel":
        if topic is None:
            raise ValueError(f"{kpi.name} is measured per topic")
        value = getattr(funnel(session, topic, start, end), kpi.name)
        return None if value is None else float(value)
    figures = response_metrics(session, workspace_id, start, end, now).overall
    found = {
        "first_response_p50": figures.p50_minutes,
        "first_response_p90": figures.p90_minutes,
        "within_sla_share": figures.within_sla_share,
        "sla_breaches": float(figures.breached),
    }[kpi.name]
    return None if found is None else float(found)
