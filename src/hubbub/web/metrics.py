"""The metrics page: funnel per topic against the previous period, cohort retention, the
inbox's response figures, quarterly goals with forecasts, and the business case with its
actuals; plus its CSV export and the conversions API.

Reading needs ``metrics.read``; adding or removing goals and editing the business case need
``goals.manage``; recording conversions (``POST /api/v1/w/{slug}/conversions``) needs
``conversions.record``. Every change goes through :mod:`hubbub.measure.actions`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.inbox.metrics import ResponseFigures, ResponseMetrics, response_metrics
from hubbub.listening.metrics import FunnelMetrics, funnel
from hubbub.listening.models import Topic
from hubbub.listening.queries import list_topics
from hubbub.measure import actions, queries
from hubbub.measure.business import ACTUALS, Inputs
from hubbub.measure.cohorts import (
    Retention,
    add_months,
    cohort_retention,
    returning_engagers,
    sentiment_by_loyalty,
)
from hubbub.measure.conversions import MAX_EXTERNAL_ID, MAX_VALUE, ConversionIn
from hubbub.measure.forecast import Progress, previous_quarter, quarter_bounds, quarter_of
from hubbub.measure.kpis import KPIS
from hubbub.measure.models import Conversion
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.charts import bar_chart
from hubbub.web.deps import NO_NUL, RequestBody, RowId, SessionDep
from hubbub.web.filters import Unknown, choices, refusal
from hubbub.web.pages import render
from hubbub.web.problems import PROBLEM_RESPONSES, Problem, problem
from hubbub.web.queries import hourly_volume
from hubbub.web.topics import csv_cell

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["metrics"])

ReadMetrics = Annotated[Access, Depends(Permit("metrics.read"))]
ManageGoals = Annotated[Access, Depends(Permit("goals.manage"))]
RecordConversions = Annotated[Access, Depends(Permit("conversions.record"))]

PERIODS = {
    "7": "Last 7 days",
    "30": "Last 30 days",
    "90": "Last 90 days",
    "quarter-to-date": "This quarter so far",
    "quarter": "Last quarter",
}
DEFAULT_PERIOD = "30"
MAX_CUSTOM_DAYS = 400
#: The columns of the all-topics table (one row per topic).
HEADLINE = ("mentions", "unique_authors", "potential_reach", "engagement", "share_of_voice")
FUNNEL_FIELDS = tuple(f.name for f in fields(FunnelMetrics) if f.name not in ("start", "end"))
RESPONSE_FIELDS = ("conversations", "answered", "within_sla", "breached", "withdrawn", "pending")
CSV_HEADER = ("section", "group", "metric", "start", "end", "current", "previous", "change")
RESPONSE_FIGURES = (*RESPONSE_FIELDS, "within_sla_share", "p50_minutes", "p90_minutes")
NO_TOPIC = "(no topic)"  # the group of conversions that name no topic
COHORT_MONTHS = 6


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: datetime
    end: datetime
    previous_start: datetime


def resolve_period(now: datetime, key: str, start: str, end: str) -> Period:
    """The chosen period and the one of equal length before it (a quarter: the one before).

    Rolling periods end with the current hour, as the rollups count whole hours; a custom
    period runs from the start date's midnight to the end of the end date (UTC).
    """
    if key == "quarter-to-date":
        label = quarter_of(now)
        first = quarter_bounds(label)[0]
        last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        # Against the stretch of equal length just before, as for the rolling periods.
        return Period(key, f"{label} so far", first, last, first - (last - first))
    if key == "quarter":
        label = previous_quarter(quarter_of(now))
        first, last = quarter_bounds(label)
        return Period(key, label, first, last, quarter_bounds(previous_quarter(label))[0])
    if key == "custom":
        try:
            first_day, last_day = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            raise Rejected("bad_period", "a custom period needs start and end dates") from None
        if not timedelta(0) <= last_day - first_day < timedelta(days=MAX_CUSTOM_DAYS):
            raise Rejected(
                "bad_period", f"the end date is on or after the start, within {MAX_CUSTOM_DAYS} d"
            )
        first = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
        last = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return Period(key, f"{first_day} to {last_day}", first, last, first - (last - first))
    days = int(key if key in PERIODS else DEFAULT_PERIOD)  # unknown: see unknown_filters
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = hour + timedelta(hours=1)
    span = timedelta(days=days)
    return Period(str(days), PERIODS[str(days)], last - span, last, last - 2 * span)


def change(now: float | None, before: float | None) -> float | None:
    """(now − before) ÷ before; None when before is zero or either is undefined."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / before


@dataclass(frozen=True)
class Row:
    """A metric in both periods, ready for the page and the CSV."""

    section: str
    group: str
    metric: str
    current: float | None
    previous: float | None
    percent: bool = False
    start: datetime | None = None  # the period the row covers, when not the page's
    end: datetime | None = None

    @property
    def change(self) -> float | None:
        return change(self.current, self.previous)


def _number(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _conversion_rows(
    group: str, now: queries.ConversionTotals | None, before: queries.ConversionTotals | None
) -> list[Row]:
    """Advocacy's recorded conversions and their value, one revenue row per currency."""
    now, before = now or queries.ConversionTotals(), before or queries.ConversionTotals()
    rows = [Row("funnel", group, "conversions", now.conversions, before.conversions)]
    for currency in sorted({*now.revenue, *before.revenue}):
        rows.append(
            Row(
                "funnel",
                group,
                f"revenue_{currency}",
                now.revenue.get(currency, 0.0),
                before.revenue.get(currency, 0.0),
            )
        )
    return rows


def _loyalty_sentiment_rows(session: Session, topic: Topic, period: Period) -> list[Row]:
    """Positive and negative shares of the mentions by returning and by new authors."""
    now = sentiment_by_loyalty(session, topic, period.start, period.end)
    before = sentiment_by_loyalty(session, topic, period.previous_start, period.start)
    return [
        Row(
            "funnel",
            topic.name,
            f"{label}_share_{group}",
            now.share(group, label),
            before.share(group, label),
            percent=True,
        )
        for label in ("positive", "negative")
        for group in ("returning", "new")
    ]


def funnel_rows(
    session: Session, workspace_id: int, topics: list[Topic], period: Period
) -> list[Row]:
    """Each topic's funnel in both periods; with one topic every metric (returning engagers
    after the returning share), with several the headline ones. Conversions and revenue close
    the advocacy stage; with several topics only where a topic has any."""
    rows: list[Row] = []
    converted = queries.conversions_by_topic(session, workspace_id, period.start, period.end)
    earlier = queries.conversions_by_topic(
        session, workspace_id, period.previous_start, period.start
    )
    single = len(topics) == 1
    for topic in topics:
        now = funnel(session, topic, period.start, period.end)
        before = funnel(session, topic, period.previous_start, period.start)
        for name in FUNNEL_FIELDS if single else HEADLINE:
            rows.append(
                Row(
                    "funnel",
                    topic.name,
                    name,
                    _number(getattr(now, name)),
                    _number(getattr(before, name)),
                    percent="share" in name,
                )
            )
            if name == "returning_share":
                rows.append(
                    Row(
                        "funnel",
                        topic.name,
                        "returning_engagers",
                        returning_engagers(session, topic, period.start, period.end),
                        returning_engagers(session, topic, period.previous_start, period.start),
                    )
                )
            if name == "negative_share" and single:
                rows += _loyalty_sentiment_rows(session, topic, period)
        if single or topic.id in converted or topic.id in earlier:
            rows += _conversion_rows(topic.name, converted.get(topic.id), earlier.get(topic.id))
    if not single and (None in converted or None in earlier):
        rows += _conversion_rows(NO_TOPIC, converted.get(None), earlier.get(None))
    return rows


def cohort_tables(session: Session, topics: list[Topic], period: Period) -> list[Retention]:
    """Cohort retention of the chosen topic, or of the brand topics when all are shown."""
    shown = topics if len(topics) == 1 else [t for t in topics if t.kind == "brand"]
    return [cohort_retention(session, topic, period.end, COHORT_MONTHS) for topic in shown]


def cohort_rows(tables: list[Retention]) -> list[Row]:
    """Per topic and cohort month: its size, then the share active k months later."""
    rows: list[Row] = []
    for table in tables:
        for cohort in table.cohorts:
            if not cohort.size:
                continue  # no author first seen that month (often: before listening began)
            first = datetime.combine(cohort.month, datetime.min.time(), tzinfo=UTC)
            label = cohort.month.strftime("%Y-%m")
            rows.append(
                Row(
                    "cohort",
                    table.topic,
                    f"{label} size",
                    cohort.size,
                    None,
                    False,
                    first,
                    add_months(first, 1),
                )
            )
            for k, share in enumerate(cohort.shares):
                if cohort.active[k] is None:
                    continue
                rows.append(
                    Row(
                        "cohort",
                        table.topic,
                        f"{label} +{k}",
                        share,
                        None,
                        True,
                        add_months(first, k),
                        min(add_months(first, k + 1), table.end),
                    )
                )
    return rows


def _figures_rows(section: str, now: ResponseFigures, before: ResponseFigures | None) -> list[Row]:
    return [
        Row(
            section,
            now.label,
            name,
            _number(getattr(now, name)),
            _number(getattr(before, name)) if before is not None else None,
            percent=name.endswith("share"),
        )
        for name in RESPONSE_FIGURES
    ]


def response_rows(now: ResponseMetrics, before: ResponseMetrics) -> list[Row]:
    """Overall, per agent and per queue; a group absent before has no previous figures."""
    rows = _figures_rows("response", now.overall, before.overall)
    for section, current, previous in (
        ("response by agent", now.by_agent, before.by_agent),
        ("response by queue", now.by_queue, before.by_queue),
    ):
        earlier = {figures.label: figures for figures in previous}
        for figures in current:
            rows.extend(_figures_rows(section, figures, earlier.get(figures.label)))
    return rows


def _whole(progress: Progress) -> str:
    """What a goal without a topic measures: the inbox, or all conversions."""
    return "all" if progress.kpi.source == "conversions" else "inbox"


def goal_rows(progress: list[Progress]) -> list[Row]:
    return [
        Row(
            "goal", f"{p.quarter} {p.topic or _whole(p)}", p.kpi.name, p.actual, None, p.kpi.percent
        )
        for p in progress
    ]


def unknown_filters(session: Session, workspace_id: int, period: str, topic: str) -> list[Unknown]:
    """The period and topic given that the page cannot use: it shows the last 30 days and all
    topics instead and says so; the CSV export refuses them."""
    unknown: list[Unknown] = []
    if period and period not in PERIODS and period != "custom":
        known = ", ".join((*PERIODS, "custom"))
        instead = f"the {PERIODS[DEFAULT_PERIOD].lower()}"
        unknown.append(Unknown("period", period, instead, known))
    names = [t.name for t in list_topics(session, workspace_id)]
    if topic and topic not in names:
        unknown.append(Unknown("topic", topic, "all topics", choices(names)))
    return unknown


def _chosen(session: Session, workspace_id: int, topic: str) -> tuple[list[Topic], str]:
    """The topics of the view: the named one, or all (an unknown name means all, with a notice:
    :func:`unknown_filters`)."""
    everything = list_topics(session, workspace_id)
    named = [t for t in everything if t.name == topic]
    return (named, topic) if named else (everything, "")


def _daily(session: Session, topic: Topic, start: datetime, end: datetime) -> list[tuple[str, int]]:
    days: dict[str, int] = {}
    day = start
    while day < end:
        days[day.date().isoformat()] = 0
        day += timedelta(days=1)
    for hour, posts in hourly_volume(session, topic.id, start, end):
        key = hour.astimezone(UTC).date().isoformat()
        days[key] = days.get(key, 0) + posts
    return list(days.items())


def _view(
    session: Session, access: Access, period: Period, topic: str, now: datetime
) -> dict[str, Any]:
    workspace_id = access.ws.id
    topics, chosen = _chosen(session, workspace_id, topic)
    cohorts = cohort_tables(session, topics, period)
    current = response_metrics(session, workspace_id, period.start, period.end, now)
    before = response_metrics(session, workspace_id, period.previous_start, period.start, now)
    quarter = quarter_of(now)
    progress = queries.goal_progress(session, workspace_id, quarter, now)
    q_start, _ = quarter_bounds(quarter)
    return {
        "period": period,
        "topics": list_topics(session, workspace_id),
        "chosen": chosen,
        "funnel": funnel_rows(session, workspace_id, topics, period),
        "cohorts": cohorts,
        "cohort_rows": cohort_rows(cohorts),
        "single": len(topics) == 1,
        "mentions_chart": (
            bar_chart(
                _daily(session, topics[0], period.start, period.end),
                f"Mentions per day of {topics[0].name}",
            )
            if len(topics) == 1
            else None
        ),
        "response": response_rows(current, before),
        "response_clock": current.clock,
        "response_chart": (
            bar_chart(list(current.overall.histogram), "First responses by working time")
            if current.overall.answered
            else None
        ),
        "quarter": quarter,
        "progress": progress,
        "case": queries.business_case(
            session, workspace_id, q_start, now, actuals=(period.start, period.end)
        ),
        "recorded": queries.conversion_totals(session, workspace_id, period.start, period.end),
        "actuals": ACTUALS,
        "kpis": KPIS,
    }


def _page(
    request: Request,
    session: Session,
    access: Access,
    *,
    period: str = DEFAULT_PERIOD,
    topic: str = "",
    start: str = "",
    end: str = "",
    error: Rejected | None = None,
    goal_form: dict[str, str] | None = None,
    case_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    unknown = unknown_filters(session, access.ws.id, period, topic)
    if any(u.what == "period" for u in unknown):
        period = DEFAULT_PERIOD  # the form and the CSV link show what the page shows
    try:
        chosen = resolve_period(now, period, start, end)
    except Rejected as exc:
        error, status_code = exc, 400
        chosen = resolve_period(now, DEFAULT_PERIOD, "", "")
    context = _view(session, access, chosen, topic, now)
    case = context["case"]
    stored = case.projection.inputs if case is not None else None
    context.update(
        {
            "periods": PERIODS,
            "form": {"period": period, "topic": topic, "start": start, "end": end},
            "error": error,
            "unknown_filters": unknown,
            "goal_form": goal_form
            or {"kpi": "mentions", "target": "", "quarter": context["quarter"], "topic": ""},
            "case_form": case_form
            or {
                "costs": f"{stored.costs:g}" if stored else "",
                "expected_reach": f"{stored.expected_reach:g}" if stored else "",
                "click_rate": f"{stored.click_rate:g}" if stored else "",
                "conversion_rate": f"{stored.conversion_rate:g}" if stored else "",
                "average_order_value": f"{stored.average_order_value:g}" if stored else "",
                "currency": stored.currency if stored else "EUR",
            },
        }
    )
    return render(request, session, access, "metrics", context, status_code)


@router.get("/w/{slug}/metrics")
def metrics(
    request: Request,
    session: SessionDep,
    access: ReadMetrics,
    period: str = DEFAULT_PERIOD,
    topic: str = "",
    start: str = "",
    end: str = "",
) -> Response:
    """A period or topic the page cannot use is named in a notice, never silently replaced."""
    return _page(request, session, access, period=period, topic=topic, start=start, end=end)


@router.get("/w/{slug}/metrics.csv")
def metrics_csv(
    session: SessionDep,
    access: ReadMetrics,
    period: str = DEFAULT_PERIOD,
    topic: str = "",
    start: str = "",
    end: str = "",
) -> Response:
    """The page's tables as rows: section, group, metric, current, previous, change. An
    unknown period or topic is a 400: a download never silently holds something else."""
    now = utcnow()
    unknown = unknown_filters(session, access.ws.id, period, topic)
    if unknown:
        return Response(refusal(unknown), status_code=400, media_type="text/plain; charset=utf-8")
    try:
        chosen = resolve_period(now, period, start, end)
    except Rejected as exc:
        return Response(exc.detail, status_code=400, media_type="text/plain; charset=utf-8")
    view = _view(session, access, chosen, topic, now)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    rows = [*view["funnel"], *view["cohort_rows"], *view["response"], *goal_rows(view["progress"])]
    for row in rows:
        writer.writerow(
            [
                row.section,
                csv_cell(row.group),
                row.metric,
                (row.start or chosen.start).isoformat(),
                (row.end or chosen.end).isoformat(),
                "" if row.current is None else f"{row.current:g}",
                "" if row.previous is None else f"{row.previous:g}",
                "" if row.change is None else f"{row.change:.4f}",
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="metrics.csv"'},
    )


@router.post("/w/{slug}/metrics/goals")
def goals_add(
    request: Request,
    session: SessionDep,
    access: ManageGoals,
    kpi: Annotated[str, Form(max_length=64)] = "",
    target: Annotated[str, Form(max_length=32)] = "",
    quarter: Annotated[str, Form(max_length=16)] = "",
    topic: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a goal; a refused one re-renders the page with the input and the reason."""
    form = {"kpi": kpi, "target": target, "quarter": quarter, "topic": topic}
    try:
        try:
            value = float(target)
        except ValueError:
            raise Rejected("bad_target", "the target is a number") from None
        with transaction(request.app.state.engine) as tx:
            actions.add_goal(
                tx,
                access.ws.id,
                kpi,
                quarter or quarter_of(utcnow()),
                value,
                topic or None,
                actor=access.principal.actor,
            )
    except Rejected as exc:
        return _page(request, session, access, error=exc, goal_form=form, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/metrics#goals", status_code=303)


@router.post("/w/{slug}/metrics/goals/{goal_id}/remove")
def goals_remove(request: Request, access: ManageGoals, goal_id: RowId) -> Response:
    """Remove a goal of this workspace; one already gone is not an error (a second click)."""
    with transaction(request.app.state.engine) as tx:
        actions.remove_goal(tx, access.ws.id, goal_id, actor=access.principal.actor)
    return RedirectResponse(f"/w/{access.ws.slug}/metrics#goals", status_code=303)


@router.post("/w/{slug}/metrics/business-case")
def business_case_save(
    request: Request,
    session: SessionDep,
    access: ManageGoals,
    costs: Annotated[str, Form(max_length=32)] = "",
    expected_reach: Annotated[str, Form(max_length=32)] = "",
    click_rate: Annotated[str, Form(max_length=32)] = "",
    conversion_rate: Annotated[str, Form(max_length=32)] = "",
    average_order_value: Annotated[str, Form(max_length=32)] = "",
    currency: Annotated[str, Form(max_length=8)] = "EUR",
) -> Response:
    """Store the business case's inputs; refused input re-renders the form with the reason."""
    form = {
        "costs": costs,
        "expected_reach": expected_reach,
        "click_rate": click_rate,
        "conversion_rate": conversion_rate,
        "average_order_value": average_order_value,
        "currency": currency,
    }
    try:
        numbers: dict[str, float] = {}
        for name in list(form)[:5]:
            try:
                numbers[name] = float(form[name])
            except ValueError:
                raise Rejected("bad_value", f"{name.replace('_', ' ')} is a number") from None
        with transaction(request.app.state.engine) as tx:
            actions.save_business_case(
                tx, access.ws.id, Inputs(**numbers, currency=currency), actor=access.principal.actor
            )
    except Rejected as exc:
        return _page(request, session, access, error=exc, case_form=form, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/metrics#business-case", status_code=303)


class ConversionBody(RequestBody):
    """One conversion; ``external_id`` is your own id for it (an order number), unique in the
    workspace: sending it again records nothing new."""

    external_id: str = Field(
        min_length=1, max_length=MAX_EXTERNAL_ID, pattern=r"^[!-~](?:[ -~]*[!-~])?$"
    )
    occurred_at: AwareDatetime
    value: float = Field(ge=0, le=MAX_VALUE, description="Its value (revenue), not negative.")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code such as EUR.")
    topic: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The topic (a campaign is a topic of kind campaign) it is attributed to.",
    )


class ConversionOut(BaseModel):
    id: int
    external_id: str
    occurred_at: datetime
    value: float
    currency: str
    topic: str | None
    source: str
    created_at: datetime


def _conversion_out(session: Session, workspace_id: int, external_id: str) -> ConversionOut:
    row = session.execute(
        select(Conversion, Topic.name)
        .outerjoin(Topic, Topic.id == Conversion.topic_id)
        .where(Conversion.workspace_id == workspace_id, Conversion.external_id == external_id)
    ).one()
    found, topic = row
    return ConversionOut(
        id=found.id,
        external_id=found.external_id,
        occurred_at=found.occurred_at,
        value=float(found.value),
        currency=found.currency,
        topic=topic,
        source=found.source,
        created_at=found.created_at,
    )


@api.post(
    "/w/{slug}/conversions",
    response_model=ConversionOut,
    status_code=201,
    responses={
        200: {"model": ConversionOut, "description": "Recorded before with the same values."},
        409: {
            "model": Problem,
            "content": {"application/problem+json": {}},
            "description": "The external_id is recorded already with other values.",
        },
    },
)
def api_record_conversion(
    request: Request, body: ConversionBody, access: RecordConversions
) -> Response:
    """Record a conversion (201); the same one sent again answers 200 with the stored record."""
    item = ConversionIn(
        external_id=body.external_id,
        occurred_at=body.occurred_at,
        value=body.value,
        currency=body.currency,
        topic=body.topic,
    )
    with transaction(request.app.state.engine) as tx:
        done = actions.record_conversions(
            tx, access.ws.id, [(1, item)], "api", actor=access.principal.actor
        )
        if done.rejected:
            reason = done.reasons[0][1]
            return problem(409 if done.conflicts else 400, reason)
        out = _conversion_out(tx, access.ws.id, item.external_id.strip())
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if done.accepted else 200)
