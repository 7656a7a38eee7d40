"""``hubbub bench``: benchmarks that print one JSON object with their figures."""

from __future__ import annotations

import json

import typer

from hubbub.runtime import console, err_console

bench_app = typer.Typer(
    help="Measured benchmarks (figures go to docs/performance.md).", no_args_is_help=True
)


@bench_app.command("ingest")
def bench_ingest(
    events: int = typer.Option(100_000, min=1_000, help="Jetstream post events to store."),
    seed: int = typer.Option(0, help="Workload seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Decode + normalise + store vs. a bare json+sqlite3 baseline, same events, same table."""
    from hubbub.bench.ingest import run

    with err_console.status(f"storing {events:,} events twice: baseline, then Hubbub"):
        report = run(events, seed)
    if as_json:
        print(json.dumps(report))
        return
    ours, base = report["hubbub"], report["baseline"]
    console.print(
        f"hubbub   {ours['events_per_second']:10.0f} events/s, peak {ours['peak_rss_mb']:.0f} MB"
    )
    console.print(
        f"baseline {base['events_per_second']:10.0f} events/s, peak {base['peak_rss_mb']:.0f} MB"
    )
    console.print(
        f"ratio {report['ratio_to_baseline']:.2f}; targets met: {report['targets']['met']}"
    )


def mount(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
