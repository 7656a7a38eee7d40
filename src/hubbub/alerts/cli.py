"""Command line for alerts: ``hubbub alerts backtest --higgs DIR --json`` and
``hubbub alerts playbook add FILE | list | remove NAME | dry-run NAME [--higgs DIR] | runs``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.alerts import actions, queries
from hubbub.alerts.backtest import run_higgs
from hubbub.alerts.detectors import SpikeConfig
from hubbub.alerts.models import PlaybookRun
from hubbub.core.errors import Rejected
from hubbub.store.engine import transaction
from hubbub.workspaces.access import open_store
from hubbub.workspaces.actions import DEFAULT_SLUG

alerts_app = typer.Typer(help="Spike alerts: detectors and their backtests.", no_args_is_help=True)

TopicNames = Callable[[Session, int], Collection[str]]
_topic_names: list[TopicNames] = []


def check_topics_with(names: TopicNames) -> None:
    """Called once by the main CLI: listening sits beside alerts, so the command tree hands in
    its query and ``playbook add`` refuses a trigger naming no topic, as the web app does."""
    _topic_names[:] = [names]


_DEFAULTS = SpikeConfig()


@alerts_app.callback()
def alerts_group() -> None:
    """Spike alerts: detectors and their backtests."""


@alerts_app.command("backtest")
def backtest(
    *,
    higgs: Annotated[
        Path,
        typer.Option("--higgs", help="SNAP Higgs folder holding higgs-activity_time.txt.gz."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    bucket: Annotated[
        int, typer.Option(min=1, help="Bucket width in seconds.")
    ] = _DEFAULTS.bucket_seconds,
    window: Annotated[
        int, typer.Option(min=3, help="Buckets in the rolling baseline.")
    ] = _DEFAULTS.window,
    threshold: Annotated[
        float, typer.Option(help="Robust z-score needed to alert (sensitivity).")
    ] = _DEFAULTS.threshold,
    min_volume: Annotated[
        int, typer.Option(min=0, help="Fewest events in a bucket that may alert.")
    ] = _DEFAULTS.min_volume,
    cooldown: Annotated[
        int, typer.Option(min=0, help="Seconds between two alerts.")
    ] = _DEFAULTS.cooldown_seconds,
    early: Annotated[
        bool, typer.Option("--early", help="Alert when the open bucket crosses the threshold.")
    ] = False,
) -> None:
    """Replay the Higgs week (1–7 July 2012) through the volume-spike detector."""
    try:
        config = SpikeConfig(
            bucket_seconds=bucket,
            window=window,
            min_history=min(_DEFAULTS.min_history, window),
            threshold=threshold,
            min_volume=min_volume,
            cooldown_seconds=cooldown,
            early=early,
        )
        report = run_higgs(higgs, config)
    except Rejected as exc:
        if as_json:
            typer.echo(json.dumps({"error": {"code": exc.code, "detail": exc.detail}}))
        else:
            typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_readable(report)


def _print_readable(report: dict[str, Any]) -> None:
    """A person's view: the onset, the surge alert and one line per alert."""
    typer.echo(f"events: {report['events']} (late: {report['late_events']})")
    typer.echo(f"surge onset: {report['onset']['time']} (peak {report['onset']['peak']})")
    typer.echo(f"surge alert: {json.dumps(report['surge_alert'])}")
    typer.echo(f"alerts: {report['alert_count']} (other: {report['other_alert_count']})")
    for alert in report["alerts"]:
        typer.echo(f"  {alert['time']} {alert['kind']}: {alert['explanation']['summary']}")


# ---- playbooks --------------------------------------------------------------------------------


def _open(workspace: str) -> tuple[Engine, int]:
    access = open_store()
    return access.engine, access.workspace_id(workspace)


playbook_app = typer.Typer(help="Playbooks: what to do when an alert fires.", no_args_is_help=True)
alerts_app.add_typer(playbook_app, name="playbook")
WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _fail(exc: Rejected, as_json: bool) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"error": {"code": exc.code, "detail": exc.detail}}))
    else:
        typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
    return typer.Exit(code=2)


@playbook_app.command("add")
def playbook_add(
    file: Annotated[Path, typer.Argument(help="The playbook's YAML file.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Update the playbook of the same name.")
    ] = False,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    as_json: JsonOpt = False,
) -> None:
    """Add (or with --replace update) a playbook; problems are listed with their line."""
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(Rejected("bad_file", f"{file}: {exc}"), as_json) from exc
    engine, workspace_id = _open(workspace)
    try:
        with transaction(engine) as session:
            topics = _topic_names[0](session, workspace_id) if _topic_names else None
            found = actions.add_playbook(
                session, workspace_id, source, replace=replace, topics=topics
            )
            result = {"name": found.name, "enabled": found.enabled, "id": found.id}
    except Rejected as exc:
        raise _fail(exc, as_json) from exc
    typer.echo(json.dumps(result) if as_json else f"playbook {result['name']!r} stored")


@playbook_app.command("list")
def playbook_list(workspace: WorkspaceOpt = DEFAULT_SLUG, as_json: JsonOpt = False) -> None:
    """The workspace's playbooks."""
    from hubbub.alerts.playbooks import parse_playbook

    engine, workspace_id = _open(workspace)
    with transaction(engine) as session:
        rows: list[dict[str, Any]] = []
        for found in queries.playbooks(session, workspace_id):
            spec = parse_playbook(found.source)
            kinds = sorted(spec.trigger.kinds) if spec.trigger.kinds is not None else ["any"]
            rows.append(
                {
                    "name": found.name,
                    "enabled": found.enabled,
                    "trigger": kinds,
                    "min_severity": spec.trigger.min_severity,
                    "actions": [a.kind for a in spec.actions],
                }
            )
    if as_json:
        typer.echo(json.dumps({"playbooks": rows}))
        return
    for row in rows:
        state = "on " if row["enabled"] else "off"
        typer.echo(
            f"{state} {row['name']}: {'/'.join(row['trigger'])} ≥ {row['min_severity']} → "
            f"{', '.join(row['actions'])}"
        )


@playbook_app.command("remove")
def playbook_remove(name: str, workspace: WorkspaceOpt = DEFAULT_SLUG) -> None:
    """Delete a playbook and its run log."""
    engine, workspace_id = _open(workspace)
    try:
        with transaction(engine) as session:
            actions.remove_playbook(session, workspace_id, name)
    except Rejected as exc:
        raise _fail(exc, False) from exc
    typer.echo(f"playbook {name!r} removed")


def _run_dict(run: PlaybookRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "playbook": run.playbook_name,
        "at": run.at.isoformat().replace("+00:00", "Z"),
        "dry_run": run.dry_run,
        "alert": {k: run.alert.get(k) for k in ("time", "kind", "series", "severity")},
        "actions": run.actions,
    }


@playbook_app.command("dry-run")
def playbook_dry_run(
    name: str,
    higgs: Annotated[
        Path | None,
        typer.Option("--higgs", help="Replay the Higgs week instead of the stored alerts."),
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    as_json: JsonOpt = False,
) -> None:
    """What the playbook would have done for past alerts (stored ones, or a Higgs backtest)."""
    engine, workspace_id = _open(workspace)
    try:
        if higgs is not None:
            alerts: list[dict[str, Any]] = run_higgs(higgs)["alerts"]
        else:
            with transaction(engine) as session:
                alerts = queries.stored_alerts(session, workspace_id)
        with transaction(engine) as session:
            done = [
                _run_dict(r) for r in actions.dry_run_playbook(session, workspace_id, name, alerts)
            ]
    except Rejected as exc:
        raise _fail(exc, as_json) from exc
    if as_json:
        typer.echo(json.dumps({"alerts": len(alerts), "matched": len(done), "runs": done}))
        return
    typer.echo(f"{len(alerts)} alerts, {len(done)} would run {name!r}")
    for run in done:
        alert = run["alert"]
        typer.echo(f"  {alert['time']} {alert['kind']} ({alert['severity']})")
        for entry in run["actions"]:
            typer.echo(f"    {entry['action']}: {entry['outcome']}: {entry['detail']}")


@playbook_app.command("runs")
def playbook_runs(
    name: Annotated[str | None, typer.Argument(help="Only this playbook's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
) -> None:
    """The run log, newest first, as JSON lines."""
    engine, workspace_id = _open(workspace)
    with transaction(engine) as session:
        playbook_id = None
        if name is not None:
            found = queries.playbook(session, workspace_id, name)
            if found is None:
                raise _fail(Rejected("not_found", f"no playbook {name!r}"), False)
            playbook_id = found.id
        for run in queries.runs(session, workspace_id, playbook_id, limit):
            typer.echo(json.dumps(_run_dict(run)))


# ---- notification channels ----------------------------------------------------------------

channel_app = typer.Typer(
    help="Notification channels: named, encrypted apprise URLs that playbooks notify.",
    no_args_is_help=True,
)
alerts_app.add_typer(channel_app, name="channel")


@channel_app.command("set")
def channel_set(
    name: Annotated[str, typer.Argument(help="Channel name, e.g. ops-slack.")],
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    as_json: JsonOpt = False,
) -> None:
    """Add or replace a channel. The URL is read from standard input or a hidden prompt,
    never from the command line, where other users of the machine could see it."""
    if sys.stdin.isatty():
        url = typer.prompt("Notification URL", hide_input=True)
    else:
        url = sys.stdin.readline()
    access = open_store()
    engine, workspace_id = access.engine, access.workspace_id(workspace)
    try:
        with transaction(engine) as session:
            found = actions.set_channel(session, access.settings, workspace_id, name, url)
            result = {"name": found.name, "target": found.target, "id": found.id}
    except Rejected as exc:
        raise _fail(exc, as_json) from exc
    typer.echo(
        json.dumps(result) if as_json else f"channel {found.name!r} stored: {result['target']}"
    )


@channel_app.command("list")
def channel_list(workspace: WorkspaceOpt = DEFAULT_SLUG, as_json: JsonOpt = False) -> None:
    """Channels with their masked targets (the URLs themselves are never printed)."""
    engine, workspace_id = _open(workspace)
    with transaction(engine) as session:
        rows = [
            {"name": c.name, "target": c.target, "updated_at": c.updated_at.isoformat()}
            for c in queries.channels(session, workspace_id)
        ]
    if as_json:
        typer.echo(json.dumps({"channels": rows}))
        return
    for row in rows:
        typer.echo(f"{row['name']}\t{row['target']}\t{row['updated_at']}")


@channel_app.command("remove")
def channel_remove(name: str, workspace: WorkspaceOpt = DEFAULT_SLUG) -> None:
    """Remove a channel (playbooks that name it log a failed notify until edited)."""
    engine, workspace_id = _open(workspace)
    with transaction(engine) as session:
        removed = actions.remove_channel(session, workspace_id, name)
    if not removed:
        typer.echo(f"error: not_found: no channel {name!r}", err=True)
        raise typer.Exit(code=2)
    typer.echo(f"channel {name!r} removed")
