"""``hubbub report …``: render a report to a file, manage schedules, send the due ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from hubbub.accounts.mail import smtp_ready
from hubbub.core.clock import utcnow
from hubbub.core.terminal import Column, ListTable
from hubbub.inbox.queries import policy
from hubbub.reports import queries
from hubbub.reports.actions import ReportsError, add_schedule, remove_schedule
from hubbub.reports.mail import send_due
from hubbub.reports.render import FORMATS, ReportError, build_report, csv_files, render
from hubbub.reports.schedule import PeriodError, explicit_period, last_complete_period, zone
from hubbub.reports.sections import SECTIONS
from hubbub.store.engine import transaction
from hubbub.workspaces.access import StoreAccess, open_store

report_app = typer.Typer(
    help="Reports: sections of a period as PDF, HTML, XLSX or CSV; weekly or monthly by e-mail.",
    no_args_is_help=True,
)
schedule_app = typer.Typer(help="Scheduled reports mailed to recipients.", no_args_is_help=True)
report_app.add_typer(schedule_app, name="schedule")
console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
SectionsOpt = Annotated[
    list[str] | None,
    typer.Option("--sections", "-s", help=f"Repeatable; default all: {', '.join(SECTIONS)}."),
]
TopicsOpt = Annotated[
    list[str] | None, typer.Option("--topic", "-t", help="Repeatable; default all active.")
]


def _open(workspace: str) -> tuple[StoreAccess, int]:
    access = open_store()
    return access, access.workspace_id(workspace)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(1)


def _split(values: list[str] | None) -> list[str]:
    """Repeated options and comma-separated lists both work."""
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@report_app.command("render")
def report_render(
    out: Annotated[Path, typer.Option("--out", "-o", help="File (a folder for csv).")],
    workspace: WorkspaceOpt = "default",
    period: Annotated[
        str, typer.Option("--period", help="week or month: the last complete one.")
    ] = "week",
    since: Annotated[
        str | None, typer.Option("--since", help="First day (YYYY-MM-DD); with --until.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day, inclusive.")] = None,
    sections: SectionsOpt = None,
    topic: TopicsOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=", ".join(FORMATS))] = "pdf",
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Default: the workspace's zone.")
    ] = None,
) -> None:
    """Render one report to a file; csv writes one file per table into the folder ``--out``."""
    store, workspace_id = _open(workspace)
    if fmt not in FORMATS:
        raise _fail(f"--format is one of {', '.join(FORMATS)}")
    with Session(store.engine) as session:
        try:
            tz = zone(timezone or policy(session, workspace_id).schedule.zone.key)
            if since or until:
                if not (since and until):
                    raise _fail("--since and --until go together")
                start, end = explicit_period(
                    date.fromisoformat(since), date.fromisoformat(until), tz
                )
            elif period in ("week", "month"):
                start, end = last_complete_period(period, utcnow(), tz)
            else:
                raise _fail("--period is week or month")
            report = build_report(
                session,
                workspace_id,
                start,
                end,
                sections=_split(sections),
                topics=_split(topic),
                tz=tz,
            )
        except (PeriodError, ReportError, ValueError) as exc:
            raise _fail(str(exc)) from None
    try:
        if fmt == "csv":
            out.mkdir(parents=True, exist_ok=True)
            for name, text in csv_files(report).items():
                (out / name).write_text(text, encoding="utf-8")
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(render(report, fmt))
    except OSError as exc:  # a folder where a file goes, a file where the CSV folder goes …
        why = exc.strerror or str(exc)
        raise _fail(f"cannot write {out}: {why}") from None
    console.print(f"report {escape(report.period)} written to {escape(str(out))}", highlight=False)


@schedule_app.command("add")
def schedule_add(
    name: Annotated[str, typer.Argument(help="A name for the schedule (the mail's title).")],
    to: Annotated[list[str], typer.Option("--to", help="Recipient address; repeatable.")],
    workspace: WorkspaceOpt = "default",
    cadence: Annotated[str, typer.Option("--cadence", help="week or month.")] = "week",
    sections: SectionsOpt = None,
    topic: TopicsOpt = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Default: the workspace's zone.")
    ] = None,
    hour: Annotated[int, typer.Option("--hour", min=0, max=23, help="Local hour it goes out.")] = 8,
) -> None:
    """Mail a report every week (Monday) or month (the 1st) to the recipients."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            found = add_schedule(
                session,
                workspace_id,
                name,
                cadence,
                _split(to),
                sections=_split(sections),
                topics=_split(topic),
                timezone=timezone,
                send_hour=hour,
            )
            schedule_id = found.id
    except ReportsError as exc:
        raise _fail(exc.detail) from None
    console.print(f"report schedule {schedule_id} added", highlight=False)
    if not smtp_ready(store.settings):
        err_console.print("note: SMTP is not configured (HUBBUB_SMTP_HOST): nothing is sent yet")


@schedule_app.command("list")
def schedule_list(workspace: WorkspaceOpt = "default") -> None:
    """The workspace's schedules."""
    store, workspace_id = _open(workspace)
    with Session(store.engine) as session:
        found = queries.schedules(session, workspace_id)
    table = ListTable(
        Column("id", justify="right"),
        Column("name", "label", max_width=40),
        "cadence",
        Column("sections", "text", optional=1),
        Column("topics", "text"),
        Column("recipients", "text"),
        Column("zone", "label", max_width=40, optional=3),
        Column("hour", justify="right", optional=2),
    )
    for row in found:
        table.add_row(
            str(row.id),
            row.name,
            row.cadence,
            ", ".join(row.sections),
            ", ".join(row.topics) or "all",
            ", ".join(row.recipients),
            row.timezone,
            str(row.send_hour),
        )
    console.print(table)


@schedule_app.command("remove")
def schedule_remove(
    schedule_id: Annotated[int, typer.Argument(help="Schedule id.")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Remove a schedule and its run history."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            remove_schedule(session, workspace_id, schedule_id)
    except ReportsError as exc:
        raise _fail(exc.detail) from None
    console.print(f"report schedule {schedule_id} removed")


@report_app.command("send-due")
def report_send_due(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace.")
    ] = None,
) -> None:
    """Send the reports whose period is complete and not yet sent (the worker does this too)."""
    store = open_store()
    if not smtp_ready(store.settings):
        raise _fail("SMTP is not configured: set HUBBUB_SMTP_HOST and HUBBUB_SMTP_FROM")
    workspace_id = store.workspace_id(workspace) if workspace else None
    result = send_due(store.engine, store.settings, workspace_id=workspace_id)
    console.print(f"sent {result.sent}, retrying {result.retrying}, dead {result.dead}")
    for error in result.errors:
        err_console.print(escape(error), highlight=False)
    if result.retrying or result.dead:
        raise typer.Exit(1)
