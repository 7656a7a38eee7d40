"""Every write of goals, the business case and conversions; each writes an audit entry."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import CLI, Actor, record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.listening.actions import get_topic
from hubbub.measure.business import Inputs
from hubbub.measure.conversions import SOURCES, ConversionIn, RecordSummary, checked
from hubbub.measure.forecast import quarter_bounds
from hubbub.measure.kpis import KPIS
from hubbub.measure.models import BusinessCase, Conversion, Goal
from hubbub.store.dialect import chunks, insert_ignoring_conflicts

#: Big enough for any reach or revenue, small enough that nothing overflows a float sum.
MAX_AMOUNT = 1e15
CONVERSIONS = cast(Table, Conversion.__table__)
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
    """A quarterly target; funnel KPIs are per topic, response KPIs per workspace, conversions
    either."""
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
    elif found.source == "conversions":
        topic_id = get_topic(session, workspace_id, topic).id if topic else None
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


def _same(row: Conversion, item: ConversionIn, topic_id: int | None) -> bool:
    """Whether a stored conversion says what ``item`` says (a replay, not a conflict)."""
    return (
        row.occurred_at == item.occurred_at
        # NUMERIC read back as float: equal to the last digit a float holds at 10^12.
        and math.isclose(float(row.value), item.value, rel_tol=1e-12, abs_tol=5e-5)
        and row.currency == item.currency
        and row.topic_id == topic_id
    )


def record_conversions(
    session: Session,
    workspace_id: int,
    items: Sequence[tuple[int, ConversionIn]],
    source: str,
    *,
    actor: Actor = CLI,
    now: datetime | None = None,
) -> RecordSummary:
    """Record conversions keyed by their ``external_id``; each is accepted, a duplicate (the
    same id with the same values, sent again) or rejected with the reason (bad input, unknown
    topic, or the id already recorded with other values). ``items`` are (line, conversion).

    Idempotent: the insert ignores ids another transaction recorded meanwhile, and those count
    as duplicates. One audit entry covers the call when it recorded anything.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown conversion source {source!r}")
    now = now or utcnow()
    summary = RecordSummary()
    topics: dict[str, int | None] = {}
    wanted: dict[str, tuple[int, ConversionIn, int | None]] = {}
    for where, raw in items:
        try:
            item = checked(raw, now)
            topic_id = None
            if item.topic is not None:
                if item.topic not in topics:
                    try:
                        topics[item.topic] = get_topic(session, workspace_id, item.topic).id
                    except Rejected:
                        topics[item.topic] = None
                topic_id = topics[item.topic]
                if topic_id is None:
                    raise Rejected("no_topic", f"no topic named {item.topic!r}")
        except Rejected as exc:
            summary.refuse(where, exc.detail)
            continue
        earlier = wanted.get(item.external_id)
        if earlier is None:
            wanted[item.external_id] = (where, item, topic_id)
        elif earlier[1] == item:
            summary.duplicates += 1
        else:
            summary.conflicts += 1
            summary.refuse(where, f"external_id {item.external_id!r} repeats line {earlier[0]}")
    stored: dict[str, Conversion] = {}
    for keys in chunks(list(wanted)):
        stored.update(
            (row.external_id, row)
            for row in session.scalars(
                select(Conversion).where(
                    Conversion.workspace_id == workspace_id, Conversion.external_id.in_(keys)
                )
            )
        )
    fresh: list[dict[str, object]] = []
    for external_id, (where, item, topic_id) in wanted.items():
        row = stored.get(external_id)
        if row is None:
            fresh.append(
                {
                    "workspace_id": workspace_id,
                    "topic_id": topic_id,
                    "external_id": external_id,
                    "occurred_at": item.occurred_at,
                    "value": item.value,
                    "currency": item.currency,
                    "source": source,
                    "created_by": actor.user_id,
                    "created_at": now,
                }
            )
        elif _same(row, item, topic_id):
            summary.duplicates += 1
        else:
            summary.conflicts += 1
            summary.refuse(
                where, f"external_id {external_id!r} is recorded already with other values"
            )
    for batch in chunks(fresh):
        statement = insert_ignoring_conflicts(session, CONVERSIONS).returning(CONVERSIONS.c.id)
        inserted = list(session.execute(statement, batch).scalars())
        summary.accepted_ids.extend(inserted)
        summary.accepted += len(inserted)
        summary.duplicates += len(batch) - len(inserted)  # recorded meanwhile by another
    if summary.accepted:
        record_audit(
            session,
            "conversion.record",
            actor=actor,
            target=f"workspace:{workspace_id}",
            workspace_id=workspace_id,
            detail={
                "source": source,
                "accepted": summary.accepted,
                "duplicates": summary.duplicates,
                "rejected": summary.rejected,
                "first_ids": summary.accepted_ids[:20],
            },
        )
    return summary
