"""``hubbub search QUERY``: stored posts matching a rule, as a table or JSON lines.

The store comes from ``hubbub.workspaces.access.open_store`` (the main CLI provides it).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.orm import Session

from hubbub.core.clock import parse_timestamp
from hubbub.core.errors import Rejected
from hubbub.core.terminal import Column, ListTable, one_line
from hubbub.listening.query import Node, QueryError, parse
from hubbub.listening.search import Hit, SearchPage, Sort, search_posts
from hubbub.listening.search_index import refresh_search_index
from hubbub.workspaces.access import open_store
from hubbub.workspaces.actions import DEFAULT_SLUG

EXCERPT_CHARS = 160


def excerpt(value: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of user text safe for a terminal (:func:`one_line`), at most ``limit``
    characters."""
    line = one_line(value)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise _error(f"--{name} {value!r} is not an ISO 8601 date or time") from None


def _json_line(hit: Hit) -> bytes:
    return orjson.dumps(
        {
            "id": hit.post_id,
            "created_at": hit.created_at.isoformat(),
            "network": hit.network,
            "kind": hit.kind,
            "author": hit.author,
            "title": hit.title,
            "text": hit.text,
            "url": hit.url,
            "engagement": hit.engagement,
            "cursor": hit.cursor,
        }
    )


def _table(page: SearchPage, sort: Sort) -> ListTable:
    columns: list[Column | str] = [
        "created (UTC)",
        Column("network", optional=1),
        Column("author", "label"),
        Column("text", "text"),
    ]
    if sort == "engagement":
        columns.append(Column("engagement", justify="right"))
    table = ListTable(*columns)
    for hit in page.hits:
        body = f"{hit.title} — {hit.text}" if hit.title else hit.text
        if not body and hit.kind == "reshare":
            body = "(reshare)"
        cells = [hit.created_at.strftime("%Y-%m-%d %H:%M"), hit.network, hit.author, excerpt(body)]
        if sort == "engagement":
            cells.append(str(hit.engagement))
        table.add_row(*cells)
    return table


def search(
    query: Annotated[str, typer.Argument(help="A rule (docs/query-language.md), quoted.")],
    topic: Annotated[
        str | None, typer.Option(help="Also require this topic's rule (topic name).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Created at or after (ISO 8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Created before (ISO 8601, UTC).")] = None,
    sort: Annotated[
        str, typer.Option(help="time (newest first) or engagement (most first).")
    ] = "time",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Hits per page.")] = 20,
    page: Annotated[int, typer.Option(min=1, help="Page number (walks the pages).")] = 1,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after a hit (its cursor from --json).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="Workspace slug.")
    ] = DEFAULT_SLUG,
) -> None:
    """Find stored posts matching QUERY, newest (or most engaged) first."""
    try:
        node: Node = parse(query)
    except QueryError as error:
        typer.echo(error.pointer(), err=True)
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(1) from None
    if sort not in ("time", "engagement"):
        raise _error("--sort is time or engagement")
    if cursor and page > 1:
        raise _error("give --page or --cursor, not both")
    order: Sort = "time" if sort == "time" else "engagement"
    start, end = _time(since, "since"), _time(until, "until")
    access = open_store()
    engine, workspace_id = access.engine, access.workspace_id(workspace)
    try:
        err = Console(stderr=True)
        bar = Progress(console=err, transient=True, disable=not err.is_terminal)
        task = bar.add_task("indexing new posts", total=None)

        def show(done: int, total: int) -> None:  # started on the first report only
            if not bar.live.is_started:
                bar.start()
            bar.update(task, completed=done, total=total)

        try:
            with Session(engine) as session, session.begin():
                refresh_search_index(session, workspace_id, progress=show)
        finally:
            if bar.live.is_started:
                bar.stop()
        with Session(engine) as session, session.begin():
            result = search_posts(
                session,
                workspace_id,
                node,
                topic=topic,
                since=start,
                until=end,
                sort=order,
                limit=limit,
                cursor=cursor,
                refresh=False,
            )
            for _ in range(page - 1):
                if result.next_cursor is None:
                    result = SearchPage([], None, result.scanned)
                    break
                result = search_posts(
                    session,
                    workspace_id,
                    node,
                    topic=topic,
                    since=start,
                    until=end,
                    sort=order,
                    limit=limit,
                    cursor=result.next_cursor,
                    refresh=False,
                )
    except QueryError as error:  # the topic's stored rule no longer parses
        typer.echo(error.pointer(), err=True)
        raise _error(f"topic {topic!r}: {error.detail}") from None
    except Rejected as error:
        raise _error(error.detail) from None
    if as_json:
        out = sys.stdout.buffer
        for hit in result.hits:
            out.write(_json_line(hit) + b"\n")
        out.flush()
        return
    console = Console()
    if result.hits:
        console.print(_table(result, order))
    else:
        console.print("no posts match", highlight=False)
    if result.next_cursor:
        Console(stderr=True).print(
            f"more: --cursor {result.next_cursor}", highlight=False, markup=False
        )
