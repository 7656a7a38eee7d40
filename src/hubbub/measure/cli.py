"""``hubbub goals …``, ``hubbub business-case …`` and ``hubbub metrics conversions …``: targets,
the business case and recorded conversions from the server's command line (the command line
acts as the operator, with every right)."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich import progress as bar
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.core.terminal import Column, ListTable
from hubbub.measure import actions, queries
from hubbub.measure.business import ACTUALS, Inputs
from hubbub.measure.conversions import ConversionIn, RecordSummary, decoded_lines, read_csv
from hubbub.measure.forecast import Progress, quarter_bounds, quarter_of
from hubbub.measure.kpis import KPIS
from hubbub.measure.models import BusinessCase
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
metrics_app = typer.Typer(help="Measurement records: conversions.", no_args_is_help=True)
conversions_app = typer.Typer(
    help="Conversions (orders, sign-ups) for the funnel and the business case's actuals.",
    no_args_is_help=True,
)
metrics_app.add_typer(conversions_app, name="conversions")
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
    table = ListTable(
        Column("id", justify="right"),
        Column("quarter", optional=2),
        "kpi",
        Column("topic", "label", max_width=40),
        Column("target", justify="right"),
        Column("so far", justify="right"),
        Column("forecast", justify="right", optional=1),
        "on track",
    )
    for item in found:
        percent = item.kpi.percent
        track = {True: "yes", False: "no", None: "–"}[item.on_track]
        table.add_row(
            str(item.goal_id),
            item.quarter,
            item.kpi.name,
            item.topic or ("(all)" if item.kpi.source == "conversions" else "(inbox)"),
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
    actual = view.actuals
    if as_json:
        values = asdict(projection)
        values["measured_reach_quarter_to_date"] = view.measured_reach
        values["actuals"] = [asdict(actual) for actual in ACTUALS]
        values["actual_quarter_to_date"] = None
        if actual is not None:
            values["actual_quarter_to_date"] = {
                **asdict(actual),
                "start": actual.start.isoformat(),
                "end": actual.end.isoformat(),
            }
        typer.echo(json.dumps(values))
        return
    money = projection.inputs.currency
    table = ListTable("figure", Column("value", justify="right"))
    table.add_row("costs", f"{projection.inputs.costs:,.2f} {money}")
    table.add_row("expected reach", f"{projection.inputs.expected_reach:,.0f}")
    table.add_row("clicks (projected)", f"{projection.clicks:,.0f}")
    table.add_row("conversions (projected)", f"{projection.conversions:,.1f}")
    table.add_row("revenue (projected)", f"{projection.revenue:,.2f} {money}")
    table.add_row("ROI (projected)", figure(projection.roi, percent=True))
    table.add_row("measured potential reach, quarter so far", f"{view.measured_reach:,}")
    if actual is not None:
        table.add_row("conversions (actual, quarter so far)", f"{actual.conversions:,}")
        table.add_row("revenue (actual, quarter so far)", f"{actual.revenue:,.2f} {money}")
        table.add_row("ROI (actual, quarter so far)", figure(actual.roi, percent=True))
        for currency, count in actual.other_currencies.items():
            table.add_row(f"conversions in {currency} (left out)", f"{count:,}")
    console.print(table)
    untracked = ", ".join(a.field for a in ACTUALS if not a.tracked)
    typer.echo(f"not tracked yet (projection only): {untracked}")


IMPORT_BATCH = 1000
SHOWN_REASONS = 50


@conversions_app.command("import")
def conversions_import(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a header line.")
    ],
    currency: Annotated[
        str | None,
        typer.Option(help="For rows without a currency; default the business case's, else EUR."),
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    as_json: AsJson = False,
) -> None:
    """Record conversions from CSV: external_id, occurred_at (ISO 8601 with a zone), value,
    and optionally currency and topic (or campaign). Importing the same file again records
    nothing twice. Exits 1 when any row was rejected."""
    store = open_store()
    workspace_id = store.workspace_id(workspace)
    if currency is None:
        with Session(store.engine) as session:
            case = session.get(BusinessCase, workspace_id)
        currency = case.currency if case is not None else "EUR"
    summary = RecordSummary()
    undecodable: set[int] = set()
    with path.open("rb") as handle:
        try:
            ignored, rows = read_csv(decoded_lines(handle, undecodable), currency, undecodable)
        except Rejected as error:
            raise _fail(error) from None
        with bar.Progress(
            bar.TextColumn("{task.description}"),
            bar.BarColumn(),
            bar.MofNCompleteColumn(),
            console=err_console,
            transient=True,
        ) as progress:
            task = progress.add_task("recording conversions", total=None)
            while batch := list(itertools.islice(rows, IMPORT_BATCH)):
                items: list[tuple[int, ConversionIn]] = []
                for row in batch:
                    if row.item is None:
                        summary.refuse(row.line, row.reason or "unreadable")
                    else:
                        items.append((row.line, row.item))
                with transaction(store.engine) as session:  # one batch, one transaction
                    summary.add(actions.record_conversions(session, workspace_id, items, "csv"))
                progress.advance(task, len(batch))
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "ignored_columns": ignored}))
    else:
        typer.echo(
            f"accepted {summary.accepted}, duplicates {summary.duplicates}, "
            f"rejected {summary.rejected}"
        )
        if ignored:
            typer.echo(f"ignored columns: {', '.join(ignored)}")
        for line, reason in summary.reasons[:SHOWN_REASONS]:
            typer.echo(f"line {line}: {reason}")
        if summary.rejected > SHOWN_REASONS:
            typer.echo(f"… and {summary.rejected - SHOWN_REASONS} more (see --json)")
    if summary.rejected:
        raise typer.Exit(1)
