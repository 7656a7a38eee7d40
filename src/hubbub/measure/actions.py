"""Every write of goals and the business case; each one writes an audit entry with it."""

from __future__ import annotations

import math
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import CLI, Actor, record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.listening.actions import get_topic
from hubbub.measure.business import Inputs
from hubbub.measure.forecast import quarter_bounds
from hubbub.measure.kpis import KPIS
from hubbub.measure.models import BusinessCase, Goal

#: Big enough for any reach or revenue, small enough that nothing overflows a float sum.
MAX_AMOUNT = 1e15
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _amount(name: str, value: float, *, fraction: bool = False) -> float:
    if not math.isfinite(value) or value < 0 or value > MAX_AMOUNT:
        raise Rejected("bad_value", f"{name} must be a number from 0 to {MAX_AMOUNT:g}")
    if fraction and value > 1:
        raise Rejected("bad_value", f"{name} is a fraction from 0 to 1 (0.02 is 2 %)")
    return float(value)


def add_goal(
    session: Session,
    workspace_id: int,
    kpi: str,
    quarter: str,
    target: float,
    topic: str | None = None,
    *,
    actor: Actor = CLI,
) -> Goal:
    """A quarterly target; funnel KPIs are per topic, response KPIs per workspace."""
    found = KPIS.get(kpi)
    if found is None:
        raise Rejected("unknown_kpi", f"{kpi!r} is not a KPI; KPIs are {', '.join(KPIS)}")
    quarter = quarter.strip()
    quarter_bounds(quarter)
    limit = 1.0 if found.percent else MAX_AMOUNT
    if not math.isfinite(target) or not 0 <= target <= limit:
        raise Rejected("bad_target", f"the target of {kpi} is a number from 0 to {limit:g}")
    topic_id: int | None = None
    if found.source == "funnel":
        if not topic:
            raise Rejected("topic_needed", f"{kpi} is measured per topic: name one")
        topic_id = get_topic(session, workspace_id, topic).id
    elif topic:
        raise Rejected("no_topic", f"{kpi} is measured for the whole inbox, not per topic")
    same = session.scalar(
        select(Goal.id).where(
            Goal.workspace_id == workspace_id,
            Goal.kpi == kpi,
            Goal.quarter == quarter,
            Goal.topic_id.is_(None) if topic_id is None else Goal.topic_id == topic_id,
        )
    )
    if same is not None:
        raise Rejected("duplicate_goal", f"a goal for {kpi} in {quarter} exists already")
    goal = Goal(
        workspace_id=workspace_id,
        kpi=kpi,
        topic_id=topic_id,
        quarter=quarter,
        target=float(target),
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(goal)
    session.flush()
    record_audit(
        session,
        "goal.add",
        actor=actor,
        target=f"goal:{goal.id}",
        workspace_id=workspace_id,
        detail={"kpi": kpi, "quarter": quarter, "target": goal.target, "topic": topic},
    )
    return goal


def remove_goal(session: Session, workspace_id: int, goal_id: int, *, actor: Actor = CLI) -> bool:
    """Remove the workspace's goal; False when there is none (another workspace's included)."""
    goal = session.scalar(select(Goal).where(Goal.id == goal_id, Goal.workspace_id == workspace_id))
    if goal is None:
        return False
    detail = {"kpi": goal.kpi, "quarter": goal.quarter, "target": goal.target}
    session.delete(goal)
    session.flush()
    record_audit(
        session,
        "goal.remove",
        actor=actor,
        target=f"goal:{goal_id}",
        workspace_id=workspace_id,
        detail=detail,
    )
    return True


def save_business_case(
    session: Session, workspace_id: int, inputs: Inputs, *, actor: Actor = CLI
) -> BusinessCase:
    """Store (or replace) the workspace's business-case inputs, validated first."""
    currency = inputs.currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise Rejected("bad_currency", "the currency is a three-letter code such as EUR")
    values = {
        "costs": _amount("costs", inputs.costs),
        "expected_reach": _amount("expected reach", inputs.expected_reach),
        "click_rate": _amount("click rate", inputs.click_rate, fraction=True),
        "conversion_rate": _amount("conversion rate", inputs.conversion_rate, fraction=True),
        "average_order_value": _amount("average order value", inputs.average_order_value),
    }
    row = session.get(BusinessCase, workspace_id)
    if row is None:
        row = BusinessCase(workspace_id=workspace_id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.currency = currency
    row.updated_by = actor.user_id
    row.updated_at = utcnow()
    session.flush()
    record_audit(
        session,
        "business_case.save",
        actor=actor,
        target=f"workspace:{workspace_id}",
        workspace_id=workspace_id,
        detail={**values, "currency": currency},
    )
    return row
