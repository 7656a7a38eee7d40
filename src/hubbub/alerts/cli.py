"""Command line for alerts: ``hubbub alerts backtest --higgs DIR --json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hubbub.alerts.backtest import run_higgs
from hubbub.alerts.detectors import SpikeConfig
from hubbub.core.errors import Rejected

alerts_app = typer.Typer(help="Spike alerts: detectors and their backtests.", no_args_is_help=True)

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
