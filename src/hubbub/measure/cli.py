"""``hubbub goals …`` and ``hubbub business-case …``: targets and the business case from the
server's command line (the command line acts as the operator, with every right)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.measure import actions, queries
from hubbub.measure.business import ACTUALS, Inputs
from hubbub.measure.forecast import Progress, quarter_bounds, quarter_of
from hubbub.measure.kpis import KPIS
from hubbub.store.engine import transaction
from hubbub.workspaces.access import open_store
from hubbub.workspaces.actions import DEFAULT_SLUG

goals_app = typer.Typer(
    help="Quarterly goals per KPI, with progress and a quarter-end forecast.",
    no_args_is_help=True,
)
business_case_app = typer.Typer(
    help="The business case: costs, reach and rates to projected revenue and ROI.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object.")]


def _fail(error: Rejected) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(error.detail)}", highlight=False)
    return typer.Exit(1)


def figure(value: float | None, percent: bool = False) -> str:
    """A KPI value as people read it: – for none, percent for shares, thousands separated."""
    if value is None:
        return "–"
    if percent:
        return f"{value:.1%}"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def progress_json(item: Progress) -> dict[str, object]:
    return {
        "goal_id": item.goal_id,
        "kpi": item.kpi.name,
        "topic": item.topic,
        "quarter": item.quarter,
        "target": item.target,
        "actual": item.actual,
        "forecast": item.forecast,
        "share": item.share,
        "on_track": item.on_track,
        "as_of": item.as_of.isoformat(),
    }


@goals_app.command("add")
def goals_add(
    kpi: Annotated[str, typer.Argument(help=f"One of: {', '.join(KPIS)}.")],
    target: Annotated[float, typer.Argument(help="The target; shares as fractions (0.4).")],
    quarter: Annotated[
        str | None, typer.Option(help="Quarter like 2026-Q4; default the current one.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="The topic (funnel KPIs).")] = None,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
) -> None:
    """Add a quarterly goal."""
    store = open_store()
    workspace_id = store.workspace_id(workspace)
    try:
        with transaction(store.engine) as session:
            goal = actions.add_goal(
                session, workspace_id, kpi, quarter or quarter_of(utcnow()), target, topic
            )
            goal_id, label = goal.id, goal.quarter
    except Rejected as error:
        raise _fail(error) from None
    typer.echo(f"goal {goal_id}: {kpi} {target:g} in {label}")


@goals_app.command("list")
def goals_list(
    quarter: Annotated[str | None, typer.Option(help="Only this quarter (2026-Q4).")] = None,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    as_json: AsJson = False,
) -> None:
    """Goals with the KPI so far, the quarter-end forecast and whether it is on track."""
    store = open_store()
    workspace_id = store.workspace_id(workspace)
    try:
        if quarter is not None:
            quarter_bounds(quarter)
        with Session(store.engine) as session:
            found = queries.goal_progress(session, workspace_id, quarter)
    except Rejected as error:
        raise _fail(error) from None
    if as_json:
        typer.echo(json.dumps({"goals": [progress_json(item) for item in found]}))
        return
    table = Table("id", "quarter", "kpi", "topic", "target", "so far", "forecast", "on track")
    for item in found:
        percent = item.kpi.percent
        track = {True: "yes", False: "no", None: "–"}[item.on_track]
        table.add_row(
            str(item.goal_id),
            item.quarter,
            item.kpi.name,
            escape(item.topic or "(inbox)"),
            figure(item.target, percent),
            figure(item.actual, percent),
            figure(item.forecast, percent),
            track,
        )
    console.print(table)


@goals_app.command("remove")
def goals_remove(
    goal_id: Annotated[int, typer.Argument(help="The goal's id (see `goals list`).")],
    workspace: WorkspaceOpt = DEFAULT_SLUG,
) -> None:
    """Remove a goal."""
    store = open_store()
    workspace_id = store.workspace_id(workspace)
    with transaction(store.engine) as session:
        removed = actions.remove_goal(session, workspace_id, goal_id)
    if not removed:
        raise _fail(Rejected("no_goal", f"no goal {goal_id} in this workspace"))
    typer.echo(f"removed goal {goal_id}")


@business_case_app.command("set")
def business_case_set(
    costs: Annotated[float, typer.Option(help="Total costs.")],
    reach: Annotated[float, typer.Option(help="Expected reach (people).")],
    click_rate: Annotated[float, typer.Option(help="Clicks per person reached (0.02).")],
    conversion_rate: Annotated[float, typer.Option(help="Conversions per click (0.03).")],
    order_value: Annotated[float, typer.Option(help="Average order value.")],
    currency: Annotated[str, typer.Option(help="Three-letter currency code.")] = "EUR",
    workspace: WorkspaceOpt = DEFAULT_SLUG,
) -> None:
    """Store the business case's inputs (replacing earlier ones)."""
    store = open_store()
    workspace_id = store.workspace_id(workspace)
    inputs = Inputs(costs, reach, click_rate, conversion_rate, order_value, currency)
    try:
        with transaction(store.engine) as session:
            actions.save_business_case(session, workspace_id, inputs)
    except Rejected as error:
        raise _fail(error) from None
    typer.echo("business case saved")


@business_case_app.command("show")
def business_case_show(workspace: WorkspaceOpt = DEFAULT_SLUG, as_json: AsJson = False) -> None:
    """The projection: clicks, conversions, revenue and ROI from the planned inputs."""
    store = open_store()
    workspace_id = store.workspace_id(workspace)
    start, _ = quarter_bounds(quarter_of(utcnow()))
    with Session(store.engine) as session:
        view = queries.business_case(session, workspace_id, start, utcnow())
    if view is None:
        raise _fail(Rejected("no_case", "no business case yet: `hubbub business-case set …`"))
    projection = view.projection
    if as_json:
        values = asdict(projection)
        values["measured_reach_quarter_to_date"] = view.measured_reach
        values["actuals"] = [asdict(actual) for actual in ACTUALS]
        typer.echo(json.dumps(values))
        return
    money = projection.inputs.currency
    table = Table("figure", "value")
    table.add_row("costs", f"{projection.inputs.costs:,.2f} {money}")
    table.add_row("expected reach", f"{projection.inputs.expected_reach:,.0f}")
    table.add_row("clicks (projected)", f"{projection.clicks:,.0f}")
    table.add_row("conversions (projected)", f"{projection.conversions:,.1f}")
    table.add_row("revenue (projected)", f"{projection.revenue:,.2f} {money}")
    table.add_row("ROI (projected)", figure(projection.roi, percent=True))
    table.add_row("measured potential reach, quarter so far", f"{view.measured_reach:,}")
    console.print(table)
    untracked = ", ".join(a.field for a in ACTUALS if not a.tracked)
    typer.echo(f"not tracked yet (projection only): {untracked}")
