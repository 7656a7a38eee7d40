"""``hubbub source``, ``hubbub listen`` and ``hubbub import``."""

from __future__ import annotations

import asyncio
import io
import signal
import time
from pathlib import Path
from typing import cast

import typer
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.connectors import load_ingest_plugins
from hubbub.core.errors import ConfigError
from hubbub.core.terminal import Column, ListTable
from hubbub.runtime import WorkspaceOption, console, fail, runtime
from hubbub.sources.actions import add_source, remove_source
from hubbub.sources.base import connectors, normalisers
from hubbub.sources.importer import STDIN, Input, compression_of, files_below, import_files
from hubbub.sources.ingest import Ingestor, IngestResult, Target
from hubbub.sources.listener import Listener, ListenStats
from hubbub.sources.models import Source
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import DEFAULT_SLUG

source_app = typer.Typer(help="Configure where Hubbub listens.", no_args_is_help=True)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise fail(f"{what} {value!r} is not KEY=VALUE")
        pairs[key.strip()] = rest
    return pairs


@source_app.command("add")
def source_add(
    kind: str = typer.Argument(..., help="Connector: see `hubbub source kinds`."),
    name: str = typer.Argument(..., help="A name for this source, unique in the workspace."),
    settings_: list[str] = typer.Option([], "--set", help="Connector setting KEY=VALUE."),
    secrets: list[str] = typer.Option(
        [], "--secret", help="Credential KEY=VALUE (stored encrypted)."
    ),
    workspace: str = WorkspaceOption,
) -> None:
    """Add a source; its settings are checked now, its credentials stored encrypted."""
    rt = runtime()
    if kind not in connectors:
        raise fail(f"unknown connector {kind!r}; known: {', '.join(connectors.names())}")
    workspace_id = rt.workspace_id(workspace, create=workspace == DEFAULT_SLUG)
    config: dict[str, object] = dict(_pairs(settings_, "setting"))
    try:
        with transaction(rt.engine) as session:
            source = add_source(
                session, rt.settings, workspace_id, kind, name, config, _pairs(secrets, "secret")
            )
            console.print(
                f"added {kind} source {name!r} (id {source.id})", markup=False, highlight=False
            )
    except ConfigError as exc:
        raise fail(str(exc)) from None


@source_app.command("kinds")
def source_kinds() -> None:
    """List the connectors this Hubbub has."""
    runtime()
    for name in connectors.names():
        cls = connectors.get(name)
        fields = ", ".join(cls.Config.model_fields)
        console.print(Text(f"{name}: network {cls.network}; settings: {fields}"))


@source_app.command("list")
def source_list(workspace: str = WorkspaceOption) -> None:
    """Sources with their cursor, counters and last error."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace)
    table = ListTable(
        Column("name", "label"),
        Column("kind", optional=2),
        Column("enabled", optional=1),
        Column("events", justify="right"),
        Column("stored", justify="right", optional=3),
        Column("rejected", justify="right"),
        "last event (UTC)",
        Column("cursor", "label", max_width=20, optional=4),
        Column("last error", "text"),
    )
    with Session(rt.engine) as session:
        for s in session.scalars(
            select(Source).where(Source.workspace_id == workspace_id).order_by(Source.name)
        ):
            table.add_row(
                s.name,
                s.kind,
                "yes" if s.enabled else "no",
                str(s.events_total),
                str(s.stored_total),
                str(s.rejected_total),
                s.last_event_at.strftime("%Y-%m-%d %H:%M") if s.last_event_at else "-",
                s.cursor or "-",
                s.last_error or "",
            )
    console.print(table)


@source_app.command("remove")
def source_remove(name: str, workspace: str = WorkspaceOption) -> None:
    """Remove a source (its stored posts stay)."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace)
    try:
        with transaction(rt.engine) as session:
            remove_source(session, workspace_id, name)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    console.print(f"removed {name!r}", markup=False, highlight=False)


def _status_line(stats: ListenStats) -> Text:
    lag = stats.lag_seconds()
    line = (
        f"{stats.rate():8.1f} events/s | events {stats.events} | accepted {stats.accepted} | "
        f"duplicate {stats.duplicate} | updated {stats.updated} | not kept {stats.dropped} | "
        f"rejected {stats.rejected} | lag {'-' if lag is None else f'{lag:.1f}s'}"
    )
    if stats.errors:
        line += " | errors: " + "; ".join(f"{k}: {v[:60]}" for k, v in stats.errors.items())
    return Text(line)


def listen(
    workspace: str = WorkspaceOption,
    source: list[str] = typer.Option([], "--source", "-s", help="Only these sources."),
    duration: float = typer.Option(0, "--for", help="Stop after this many seconds (0: never)."),
) -> None:
    """Listen to every enabled source until stopped, with a live status line."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace)
    if source:
        with Session(rt.engine) as session:
            known = set(
                session.scalars(select(Source.name).where(Source.workspace_id == workspace_id))
            )
        unknown = sorted(set(source) - known)
        if unknown:
            raise fail(
                f"no source {', '.join(map(repr, unknown))} in workspace {workspace!r}; "
                "`hubbub source list` shows them"
            )
    listener = Listener(rt.engine, rt.settings, workspace_id, source or None)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration:
            loop.call_later(duration, stop.set)
        runner = asyncio.create_task(listener.run(stop))
        if console.is_terminal:
            with Live(_status_line(listener.stats), console=console, refresh_per_second=2) as live:
                while not runner.done():
                    await asyncio.sleep(0.5)
                    live.update(_status_line(listener.stats))
        else:
            last = time.monotonic()
            while not runner.done():
                await asyncio.sleep(0.5)
                if time.monotonic() - last >= 10:
                    console.print(_status_line(listener.stats))
                    last = time.monotonic()
        await runner
        console.print(_status_line(listener.stats))

    asyncio.run(main())


def _summary(result: IngestResult) -> None:
    store = result.store
    accepted, duplicate, updated = store.outcomes()
    console.print(
        Text(
            f"events {result.events}: accepted {accepted}, duplicate {duplicate}, "
            f"updated {updated}, not kept {result.dropped} (no topic concerns them), "
            f"rejected {result.rejected}"
        )
    )
    console.print(
        Text(
            f"  posts {store.stored} new, {store.duplicates - store.updated} duplicate, "
            f"{store.updated} updated, {store.near_duplicates} near-duplicates linked; "
            f"interactions {store.interactions} new, {store.interaction_duplicates} duplicate; "
            f"deletes {store.deletes} new, {store.delete_duplicates} duplicate; "
            f"profile updates {store.profiles_changed} changed, "
            f"{store.profile_duplicates} duplicate; "
            f"already deleted {store.already_deleted}"
        )
    )
    items = accepted + duplicate + updated + result.dropped + result.rejected
    if items != result.events:  # a feed, a reblog or a notification holds several items
        console.print(Text(f"  (the {result.events} events held {items} items)"))
    for reason, count in result.reasons.most_common():
        console.print(Text(f"  rejected {count} × {reason} (see `hubbub deadletters list`)"))


def import_(
    paths: list[Path] = typer.Argument(
        ...,
        help="Files; folders (every file below one, in name order, hidden ones left out); "
        "- for standard input.",
        show_default=False,
    ),
    format_: str = typer.Option(
        ..., "--format", "-f", help="jetstream, mastodon, feed, jsonl, csv …"
    ),
    workspace: str = WorkspaceOption,
) -> None:
    """Import files (idempotent: the same files again add nothing)."""
    rt = runtime()
    if format_ not in normalisers:
        raise fail(f"unknown format {format_!r}; known: {', '.join(normalisers.names())}")
    sources = _import_sources(paths)
    workspace_id = rt.workspace_id(workspace, create=workspace == DEFAULT_SLUG)
    ingestor = Ingestor(rt.engine, rt.settings, worker_setup=load_ingest_plugins)
    files = [source for source in sources if isinstance(source, Path)]
    if len(sources) > 1:
        name = f"{len(sources)} files"
    else:
        name = files[0].name if files else "standard input"
    with Progress(
        *Progress.get_default_columns()[:1],
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # piped, it would leave an empty line before the summary
    ) as progress:
        total = None if len(files) < len(sources) else sum(p.stat().st_size for p in files)
        task = progress.add_task(f"importing {name}", total=total)
        result = import_files(
            ingestor,
            Target(workspace_id),
            sources,
            format_,
            lambda done: progress.update(task, completed=done),
        )
    if len(sources) > 1:
        console.print(Text(f"files {len(sources)}"))
    _summary(result)


def _stdin() -> io.BufferedReader:
    """Standard input as a buffered stream, whose first bytes can be looked at unread."""
    stream = typer.get_binary_stream("stdin")
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(cast(io.RawIOBase, stream))  # e.g. a test runner's bytes


def _import_sources(paths: list[Path]) -> list[Input]:
    """The files (and standard input) that ``paths`` name, each once, all checked before any
    is read: a refused run has stored nothing."""
    sources: list[Input] = []
    for path in dict.fromkeys(paths):
        if path == STDIN:
            sources.append(_stdin())
        elif not path.exists():
            raise fail(f"{path} does not exist", code=2)
        else:
            sources.extend(found.resolve() for found in files_below(path))
    sources = list(dict.fromkeys(sources))  # a file named and also inside a named folder
    if not sources:
        raise fail(f"no files to import in {', '.join(str(path) for path in paths)}")
    for source in sources:
        try:
            packed = compression_of(source)
        except OSError as exc:
            raise fail(f"cannot read {source}: {exc.strerror}") from None
        if packed is not None:
            shown = "standard input" if not isinstance(source, Path) else str(source)
            raise fail(f"{shown} is {packed}-compressed; decompress it first", code=2)
    return sources


def mount(app: typer.Typer) -> None:
    app.add_typer(source_app, name="source")
    app.command()(listen)
    app.command("import")(import_)
