"""``hubbub posts``: list, filter, count and export stored posts."""

from __future__ import annotations

import sys
from datetime import datetime
from itertools import islice

import typer
from sqlalchemy.orm import Session

from hubbub.connectors.files.formats import export_line
from hubbub.core.clock import parse_timestamp
from hubbub.core.terminal import Column, ListTable
from hubbub.posts.queries import PostFilter, count_posts, iter_posts, list_posts
from hubbub.runtime import WorkspaceOption, console, fail, runtime

TABLE_ROWS = 20


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise fail(f"--{name} {value!r} is not an ISO 8601 date or time") from None


def posts(
    workspace: str = WorkspaceOption,
    network: str | None = typer.Option(None, help="bluesky, mastodon, rss, hackernews …"),
    author: str | None = typer.Option(None, help="Author handle or native id."),
    since: str | None = typer.Option(None, help="Created at or after (ISO 8601, UTC)."),
    until: str | None = typer.Option(None, help="Created before (ISO 8601, UTC)."),
    contains: str | None = typer.Option(None, help="Text contains (case-insensitive)."),
    deleted: bool = typer.Option(False, "--deleted", help="Include deleted posts."),
    unique: bool = typer.Option(False, "--unique", help="Leave out linked near-duplicates."),
    limit: int | None = typer.Option(
        None, min=1, help="Most posts to print (default: 20 in a table, every one in jsonl)."
    ),
    count: bool = typer.Option(False, "--count", help="Print only the number of matching posts."),
    output: str = typer.Option(
        "table", "--format", help="table or jsonl (Hubbub's export format)."
    ),
) -> None:
    """List stored posts, newest first."""
    rt = runtime()
    f = PostFilter(
        workspace_id=rt.workspace_id(workspace),
        network=network,
        author=author,
        since=_time(since, "since"),
        until=_time(until, "until"),
        contains=contains,
        include_deleted=deleted,
        include_near_duplicates=not unique,
    )
    if output not in ("table", "jsonl"):
        raise fail("--format is table or jsonl")
    with Session(rt.engine) as session:
        if count:
            print(count_posts(session, f))
            return
        if output == "jsonl":  # an export: every post unless told otherwise, streamed
            out = sys.stdout.buffer
            for post, author_row in islice(iter_posts(session, f), limit):
                out.write(export_line(post.as_dict(), author_row.__dict__) + b"\n")
            return
        rows = list_posts(session, f, limit=limit or TABLE_ROWS)
    table = ListTable(
        "created (UTC)",
        Column("network", optional=1),
        Column("author", "label"),
        Column("text", "text"),
        "kind",
    )
    for post, author_row in rows:
        text = post.text if not post.deleted else "(deleted)"
        if post.kind == "reshare" and not text:
            text = f"reshare of {post.reshare_of}"
        if post.near_dup_of:
            text = f"[near-duplicate of #{post.near_dup_of}] {text}"
        table.add_row(
            post.created_at.strftime("%Y-%m-%d %H:%M"),
            post.network,
            author_row.handle or author_row.native_id,
            text,
            post.kind if not post.reply_to else "reply",
        )
    console.print(table)


def mount(app: typer.Typer) -> None:
    app.command()(posts)
