"""``hubbub bench``: benchmarks that print one JSON object with their figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hubbub.runtime import console, err_console, fail

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hubbub.settings import Settings

bench_app = typer.Typer(
    help="Measured benchmarks (figures go to docs/performance.md).", no_args_is_help=True
)


@bench_app.command("ingest")
def bench_ingest(
    events: int = typer.Option(100_000, min=1_000, help="Jetstream post events to store."),
    seed: int = typer.Option(0, help="Workload seed."),
    commit_batches: int | None = typer.Option(
        None,
        min=1,
        max=64,
        help="Batches of 500 per transaction, both sides (default: the ingest setting).",
    ),
    rounds: int = typer.Option(
        3,
        min=1,
        max=15,
        help="Rounds of both sides back to back; the figures are the median round's.",
    ),
    postgres: str | None = typer.Option(
        None,
        metavar="URL",
        help="Store into PostgreSQL instead: a URL on a server whose user may create "
        "databases; each side and round gets a new database there, dropped after it.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Decode + normalise + store vs. a bare json+sqlite3 baseline, same events, same table."""
    from hubbub.bench.ingest import run

    if postgres is not None and not postgres.startswith("postgresql"):
        raise typer.BadParameter("a postgresql:// URL", param_hint="--postgres")
    from sqlalchemy.exc import SQLAlchemyError

    with err_console.status(f"storing {events:,} events, baseline and Hubbub, {rounds} rounds"):
        try:
            report = run(events, seed, commit_batches, rounds, postgres)
        except SQLAlchemyError as exc:
            if postgres is None:  # a SQLite failure is not the server's: shown whole
                raise
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise fail(f"PostgreSQL server of --postgres: {cause}") from None
    if as_json:
        print(json.dumps(report))
        return
    for number, pair in enumerate(report["rounds"], 1):
        console.print(
            f"round {number}: baseline {pair['baseline']['events_per_second']:8.0f}, hubbub "
            f"{pair['hubbub']['events_per_second']:8.0f} events/s, "
            f"ratio {pair['ratio_to_baseline']:.2f}"
        )
    rates, peaks = report["events_per_second_median"], report["peak_rss_mb_max"]
    for side in ("hubbub", "baseline"):
        console.print(f"{side:8s} {rates[side]:10.0f} events/s (median), peak {peaks[side]:.0f} MB")
    met = report["targets"]["met"]
    console.print(
        f"ratio {report['ratio_to_baseline']:.2f} (median round); "
        + (f"targets met: {met}" if met is not None else "targets: set for SQLite only")
    )


@bench_app.command("listen")
def bench_listen(
    posts: int = typer.Option(1_000_000, min=10_000, help="Jetstream post events."),
    rules: int = typer.Option(1_000, min=6, help="Topics (one rule each) in the workspace."),
    seed: int = typer.Option(0, help="Workload seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Decode, normalise, match, enrich, store: per stage and end to end (issue #3 targets)."""
    from hubbub.bench.listen import run as run_listen

    with err_console.status(f"{posts:,} posts against {rules:,} topics"):
        report = run_listen(posts, rules, seed)
    if as_json:
        print(json.dumps(report))
        return
    rates = report["stages"]["posts_per_cpu_second"]
    for stage, rate in rates.items():
        console.print(f"{stage:22s} {rate:12,.0f} posts/CPU-s")
    console.print(f"end to end {report['end_to_end']['posts_per_second']:,.0f} posts/s")
    console.print(f"match speed-up over naive {report['match_speedup_over_naive']:.0f}x")
    console.print(f"peak {report['peak_rss_mb']:.0f} MB; targets met: {report['met']}")


@bench_app.command("alerts")
def bench_alerts(
    seconds: float = typer.Option(20.0, min=5.0, help="Seconds of load to run."),
    rate: int = typer.Option(1_000, min=10, help="Posts per second to feed."),
    spikes: int = typer.Option(5, min=1, help="Injected spikes (one alert each)."),
    seed: int = typer.Option(0, help="Workload seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Latency from the post that tips an alert to a local HTTP receiver getting the request."""
    from hubbub.bench.alerts import run as run_alerts

    with err_console.status(f"{rate:,} posts/s for {seconds:g} s with {spikes} spikes"):
        report = run_alerts(seconds=seconds, rate=rate, spikes=spikes, seed=seed)
    if as_json:
        print(json.dumps(report))
        return
    latency = report["latency_seconds"]
    console.print(
        f"alerts {report['alerts_received']}/{report['spikes']}: "
        f"latency p50 {latency['p50']:.3f} s, p95 {latency['p95']:.3f} s, "
        f"max {latency['max']:.3f} s at "
        f"{report['achieved_posts_per_second']:.0f} posts/s; target met: {report['target_met']}"
    )


@bench_app.command("web")
def bench_web(
    posts: int = typer.Option(1_000_000, min=1_000, help="Posts in the store."),
    conversations: int = typer.Option(50_000, min=100, help="Inbox conversations."),
    clients: int = typer.Option(50, min=1, max=500, help="Concurrent API clients."),
    seconds: float = typer.Option(30.0, min=1.0, max=600.0, help="Seconds of API load."),
    reuse: Path | None = typer.Option(
        None, help="Folder of a store to reuse (built there on the first run)."
    ),
    seed: int = typer.Option(0, help="Fixture seed."),
    server_workers: int | None = typer.Option(
        None,
        min=1,
        max=16,
        help="Processes of the server under test (hubbub serve --workers); default: one a core.",
    ),
    rate: float = typer.Option(
        500.0, min=1.0, max=5_000.0, help="Requests/s of the open-loop API phase."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Inbox list/filter API and topic dashboard over HTTP under load (issue #4 targets)."""
    from hubbub.bench.web import run as run_web

    with err_console.status(
        f"{posts:,} posts, {conversations:,} conversations, {clients} clients for {seconds:g} s"
    ):
        report = run_web(posts, conversations, clients, seconds, reuse, seed, server_workers, rate)
    if as_json:
        print(json.dumps(report))
        return
    saturation, api, page = report["saturation"], report["api"], report["dashboard"]
    console.print(
        f"API closed loop {saturation['rps']:,.0f} requests/s; at {api['rps']:,.0f} requests/s "
        f"p50 {api['latency_ms']['p50']} ms, p99 {api['latency_ms']['p99']} ms, "
        f"errors {saturation['errors'] + api['errors']}"
    )
    console.print(
        f"dashboard p95 {page['latency_ms']['p95']} ms, errors {page['errors']}; "
        f"targets met: {report['met']}"
    )


@bench_app.command("dashboard")
def bench_dashboard(
    posts: int = typer.Option(5_000_000, min=1_000, help="Posts over 30 days, three topics."),
    repeat: int = typer.Option(30, min=3, help="Timed repetitions of each question, per side."),
    reuse: Path | None = typer.Option(
        None, help="Folder of a store to reuse (built there on the first run)."
    ),
    seed: int = typer.Option(0, help="Fixture seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Topic dashboard questions on SQLite vs DuckDB scanning the same posts (issue #3)."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        err_console.print("the DuckDB baseline needs duckdb: pip install duckdb")
        raise typer.Exit(2) from None
    from hubbub.bench.dashboard import run as run_dashboard

    with err_console.status(f"{posts:,} posts: building or reusing the store, then timing"):
        report = run_dashboard(posts, seed, repeat, reuse)
    if as_json:
        print(json.dumps(report))
        return
    for name, figures in report["questions"].items():
        console.print(
            f"{name:16s} ours p95 {figures['hubbub']['p95_ms']:9.2f} ms  "
            f"duckdb p95 {figures['duckdb']['p95_ms']:9.2f} ms  "
            f"same answer {figures['same_answer']}  met {figures['met']}"
        )
    console.print(f"peak {report['peak_rss_mb']:.0f} MB; targets met: {report['met']}")


@bench_app.command("influence")
def bench_influence(
    posts: int = typer.Option(100_000, min=100, help="Posts in the demo workspace (at least)."),
    topic: str = typer.Option("lumen", help="Demo topic of the per-topic calls and pages."),
    reuse: Path | None = typer.Option(
        None, help="Folder of a store to reuse (filled there on the first run)."
    ),
    seed: int = typer.Option(7, help="Seed of the first demo added."),
    functions: bool = typer.Option(
        True, "--functions/--pages-only", help="Also time each function once, before the pages."
    ),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="Bring the persisted graph up to date first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Influence functions and pages (first and repeat view) on a demo workspace (issue #5)."""
    from hubbub.bench.influence import run as run_influence
    from hubbub.demo.load import load_demo
    from hubbub.web.app import create_app

    def fill(engine: Engine, settings: Settings, slug: str, demo_seed: int, days: int) -> None:
        load_demo(engine, settings, slug, seed=demo_seed, days=days)

    with err_console.status(f"{posts:,} posts: building or reusing the workspace, then timing"):
        report = run_influence(
            posts,
            fill,
            create_app,
            topic=topic,
            reuse=reuse,
            seed=seed,
            functions=functions,
            refresh=refresh,
        )
    if as_json:
        print(json.dumps(report))
        return
    for name, seconds in (report["functions_seconds"] or {}).items():
        console.print(f"{name:24s} {seconds:8.3f} s")
    for name, views in report["pages_seconds"].items():
        first, repeat = views["first"], views["repeat"]
        console.print(f"page {name:19s} first {first:7.3f} s  repeat {repeat:.3f} s")


def mount(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
