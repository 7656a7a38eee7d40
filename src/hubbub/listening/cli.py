"""``hubbub topic``: check a rule, and manage the topics a workspace listens for.

This module sits in the feature layer, below ``hubbub.runtime``, so it opens the store from the
settings itself and asks for ``hubbub init`` when the schema is not there yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy.orm import Session

from hubbub.core.clock import parse_timestamp, utcnow
from hubbub.core.errors import Rejected
from hubbub.core.terminal import Column, ListTable
from hubbub.listening import actions
from hubbub.listening.corrections.relabel import apply_corrections
from hubbub.listening.document import Document
from hubbub.listening.enrichment import Enrichment
from hubbub.listening.metrics import FunnelMetrics, compare
from hubbub.listening.models import TOPIC_KINDS
from hubbub.listening.queries import list_topics, match_counts
from hubbub.listening.query import QueryError, parse
from hubbub.listening.reference import matches
from hubbub.settings import get_settings
from hubbub.workspaces.access import open_store
from hubbub.workspaces.actions import DEFAULT_SLUG

topic_app = typer.Typer(
    help="Topics: what a workspace listens for, as rules in the query language."
)
console = Console()
err_console = Console(stderr=True)

Workspace = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
Name = Annotated[str, typer.Argument(help="The topic's name (unique in the workspace).")]
Rule = Annotated[str, typer.Argument(help="The rule, quoted for the shell.")]


@topic_app.callback()
def topic_group() -> None:
    """Topics: what a workspace listens for, as rules in the query language."""


def _refuse(error: Rejected) -> typer.Exit:
    """Print an error (with the caret pointer for a broken rule) and exit 1."""
    if isinstance(error, QueryError):
        typer.echo(error.pointer(), err=True)
    typer.echo(f"error: {error.detail}", err=True)
    return typer.Exit(1)


@contextmanager
def _store(workspace: str) -> Iterator[tuple[Session, int]]:
    """A session on the migrated store and the workspace's id; commits on success."""
    access = open_store()
    workspace_id = access.workspace_id(workspace)
    with Session(access.engine, expire_on_commit=False) as session:
        try:
            yield session, workspace_id
        except Rejected as error:
            session.rollback()
            raise _refuse(error) from None
        session.commit()


@topic_app.command("check")
def check(
    rule: Rule,
    text: Annotated[
        str | None, typer.Option("--text", help="Also say whether this text matches.")
    ] = None,
) -> None:
    """Parse RULE and print how it was understood; exit 1 with the position of any error."""
    try:
        node = parse(rule)
    except QueryError as error:
        raise _refuse(error) from None
    typer.echo(str(node))
    if text is not None:
        verdict = matches(node, Document(text=text))
        typer.echo("matches" if verdict else "does not match")


@topic_app.command("add")
def add(
    name: Name,
    rule: Rule,
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(TOPIC_KINDS)}.")] = "other",
    workspace: Workspace = DEFAULT_SLUG,
) -> None:
    """Add a topic and match the stored posts against it at once, as the web app's pipeline
    does (Ctrl-C leaves the rest to the pipeline); new posts are matched as they come."""
    with _store(workspace) as (session, workspace_id):
        topic = actions.add_topic(session, workspace_id, name, rule, kind)
        actions.request_rematch(session, workspace_id, topic.name)
        session.commit()
        typer.echo(f"topic {topic.name!r} added ({topic.kind}): {parse(topic.rule)}")
        _rematch(session, workspace_id, topic.name, done="matched the stored posts")


@topic_app.command("list")
def list_(workspace: Workspace = DEFAULT_SLUG) -> None:
    """The workspace's topics with their stored match counts."""
    with _store(workspace) as (session, workspace_id):
        topics = list_topics(session, workspace_id)
        counts = match_counts(session, workspace_id)
    if not topics:
        typer.echo("no topics; add one with `hubbub topic add NAME RULE`")
        return
    table = ListTable(
        Column("name", "label"),
        "kind",
        "active",
        Column("matches", justify="right"),
        Column("rule", "text"),
    )
    for topic in topics:
        table.add_row(
            topic.name,
            topic.kind,
            "yes" if topic.active else "no",
            str(counts.get(topic.id, 0)),
            topic.rule,
        )
    console.print(table)


@topic_app.command("show")
def show(name: Name, workspace: Workspace = DEFAULT_SLUG) -> None:
    """One topic: its rule as written and as understood, kind, state, times and matches."""
    with _store(workspace) as (session, workspace_id):
        topic = actions.get_topic(session, workspace_id, name)
        count = match_counts(session, workspace_id).get(topic.id, 0)
    try:
        understood = str(parse(topic.rule))
    except QueryError as error:
        understood = f"(no longer parses: {error.detail})"
    for label, value in (
        ("name", topic.name),
        ("kind", topic.kind),
        ("active", "yes" if topic.active else "no"),
        ("rule", topic.rule),
        ("understood", understood),
        ("matches", str(count)),
        ("created", topic.created_at.isoformat()),
        ("updated", topic.updated_at.isoformat()),
    ):
        typer.echo(f"{label:<11}{value}")


@topic_app.command("metrics")
def metrics(
    name: Name,
    days: Annotated[int, typer.Option(min=1, max=366, help="Length of each period.")] = 7,
    until: Annotated[
        str | None, typer.Option(help="End of the period (ISO 8601, UTC); default now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    workspace: Workspace = DEFAULT_SLUG,
) -> None:
    """Funnel metrics of a topic: this period against the one before (docs/metrics.md)."""
    end = _when(until, "--until") if until else utcnow()
    with _store(workspace) as (session, workspace_id):
        topic = actions.get_topic(session, workspace_id, name)
        current, previous = compare(session, topic, end, days)
    if as_json:
        typer.echo(
            json.dumps(
                {"topic": name, "current": current.as_dict(), "previous": previous.as_dict()}
            )
        )
        return
    table = ListTable(
        Column("metric", "label"),
        Column(f"last {days} d", justify="right"),
        Column(f"{days} d before", justify="right"),
        Column("change", justify="right"),
    )
    for field in fields(FunnelMetrics):
        if field.name in ("start", "end"):
            continue
        now, before = getattr(current, field.name), getattr(previous, field.name)
        change = "" if now is None or before in (None, 0) else f"{(now - before) / before:+.0%}"
        percent = "share" in field.name
        row = (_figure(now, percent), _figure(before, percent), change)
        table.add_row(field.name.replace("_", " "), *row)
    Console().print(table)


def _when(text: str, option: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError:
        typer.echo(f"error: {option} {text!r} is not an ISO date or time", err=True)
        raise typer.Exit(1) from None


def _figure(value: float | None, percent: bool) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1%}" if percent else f"{value:,.2f}"
    return f"{value:,}"


@topic_app.command("edit")
def edit(
    name: Name,
    rule: Annotated[str | None, typer.Argument(help="The new rule (unchanged if omitted).")] = None,
    kind: Annotated[str | None, typer.Option(help="A new kind.")] = None,
    rename: Annotated[str | None, typer.Option(help="A new name.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Listen with it, or pause it.")
    ] = None,
    workspace: Workspace = DEFAULT_SLUG,
) -> None:
    """Change a topic; the ingest stage recompiles it on its next batch, without a restart.
    A changed rule is applied to the stored posts at once (see `topic rematch`)."""
    with _store(workspace) as (session, workspace_id):
        topic = actions.update_topic(
            session, workspace_id, name, rule=rule, kind=kind, active=active, new_name=rename
        )
        pending = topic.rematch_requested_at is not None
        session.commit()
        typer.echo(f"topic {topic.name!r} updated: {parse(topic.rule)}")
        if pending:
            _rematch(session, workspace_id, topic.name)


def _rematch(session: Session, workspace_id: int, name: str, done: str = "re-matched") -> None:
    """Re-match one topic with a progress bar; Ctrl-C leaves the rest to the pipeline."""
    with Progress(
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("matching stored posts under the rule", total=None)
        result = actions.rematch_topic(
            session,
            workspace_id,
            name,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            enrichment=Enrichment.for_tier(get_settings().sentiment_tier),
        )
    if result.superseded:
        typer.echo(f"topic {name!r} was edited meanwhile: run `topic rematch` again", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"topic {name!r} {done}: posts {result.posts}, matched {result.matched_posts}; "
        f"new matches {result.record.matches}, newly enriched {result.record.enriched}"
    )


@topic_app.command("rematch")
def rematch(name: Name, workspace: Workspace = DEFAULT_SLUG) -> None:
    """Match the stored posts against the topic's rule again: its matches and rollups are
    rebuilt (the pipeline does it by itself after a rule changes; this does it now)."""
    with _store(workspace) as (session, workspace_id):
        _rematch(session, workspace_id, name)


@topic_app.command("remove")
def remove(name: Name, workspace: Workspace = DEFAULT_SLUG) -> None:
    """Delete a topic with its matches and rollups."""
    with _store(workspace) as (session, workspace_id):
        actions.remove_topic(session, workspace_id, name)
    typer.echo(f"topic {name!r} removed")


@topic_app.command("backfill")
def backfill(
    since: Annotated[
        str | None, typer.Option(help="Only posts created at or after this ISO date/time (UTC).")
    ] = None,
    terms: Annotated[
        bool,
        typer.Option(
            "--terms",
            help="Also recount the term rollups of matches already stored (after upgrading).",
        ),
    ] = False,
    authors: Annotated[
        bool,
        typer.Option(
            "--authors",
            help="Also recount the author rollups (top authors) from the stored matches.",
        ),
    ] = False,
    workspace: Workspace = DEFAULT_SLUG,
) -> None:
    """Match stored posts against the active topics (idempotent: running it again adds nothing);
    posts an analyst relabelled count under the corrected label first."""
    start = _when(since, "--since") if since is not None else None
    with (
        _store(workspace) as (session, workspace_id),
        Progress(
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        ) as progress,
    ):
        # Corrections recorded before a correction moved the counts are applied first.
        relabelled = apply_corrections(session, workspace_id)
        session.commit()
        task = progress.add_task("matching stored posts", total=None)
        result = actions.backfill(
            session,
            workspace_id,
            since=start,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            enrichment=Enrichment.for_tier(get_settings().sentiment_tier),
        )
        if terms:
            task = progress.add_task("recounting terms of stored matches", total=None)
            actions.rebuild_term_rollups(
                session,
                workspace_id,
                since=start,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
            result.compacted += actions.compact_closed_days(session, workspace_id, start)
            session.commit()
        if authors:
            task = progress.add_task("recounting authors of stored matches", total=None)
            actions.rebuild_author_rollups(
                session,
                workspace_id,
                since=start,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    typer.echo(
        f"posts {result.posts}: matched {result.matched_posts}; new matches "
        f"{result.record.matches}, newly enriched {result.record.enriched}"
    )
    if relabelled:
        typer.echo(f"posts relabelled as analysts corrected them: {relabelled}")
