"""``hubbub links resolve``: follow the pending short links now, as the worker does on a timer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from hubbub.core.clock import utcnow
from hubbub.enrich.links.actions import ResolveResult, resolve_due
from hubbub.enrich.links.queries import link_statuses
from hubbub.enrich.links.resolve import HostPacer
from hubbub.enrich.links.shorteners import known_shorteners
from hubbub.listening.links import collect_short_links, refresh_resolved_posts
from hubbub.posts.models import Post
from hubbub.store.engine import transaction
from hubbub.workspaces.access import open_store
from hubbub.workspaces.actions import DEFAULT_SLUG

links_app = typer.Typer(help="Short links (bit.ly, t.co …) and where they lead.")
ROUND = 20  # links claimed at a time, so an interrupted run leaves little leased


@links_app.command("resolve")
def resolve(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Links to follow at most.")] = 100,
    days: Annotated[
        int,
        typer.Option(
            min=0, max=3650, help="Collect short links of posts received this many days back."
        ),
    ] = 7,
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="Workspace slug.")
    ] = DEFAULT_SLUG,
) -> None:
    """Record the short links of recent posts, follow up to LIMIT due ones (politely: each host
    paced), and show the resolved domains in the posts' entities and search."""
    access = open_store()
    engine, workspace_id = access.engine, access.workspace_id(workspace)
    console = Console(stderr=True)
    with transaction(engine) as session:
        first = session.scalar(
            select(func.min(Post.id)).where(
                Post.workspace_id == workspace_id,
                Post.received_at >= utcnow() - timedelta(days=days),
            )
        )
    found = new = 0
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("collecting short links", total=None)
        cursor = (first or 1) - 1
        while first is not None:
            with transaction(engine) as session:
                step = collect_short_links(
                    session,
                    workspace_id,
                    cursor,
                    known=known_shorteners(access.settings.extra_shorteners),
                )
            found, new, cursor = found + step.links, new + step.new, step.last_id
            bar.update(task, advance=step.scanned)
            if step.scanned == 0:
                break
        task = bar.add_task("following short links", total=limit)
        pacer = HostPacer()
        total = ResolveResult()
        while total.tried < limit:
            done = asyncio.run(
                resolve_due(
                    engine,
                    access.settings,
                    limit=min(ROUND, limit - total.tried),
                    workspace_id=workspace_id,
                    pacer=pacer,
                )
            )
            if not done.tried:
                break
            if done.resolved:
                with transaction(engine) as session:
                    refresh_resolved_posts(session, done.resolved)
            total.tried += done.tried
            total.resolved += done.resolved
            for status, n in done.statuses.items():
                total.statuses[status] = total.statuses.get(status, 0) + n
            bar.update(task, completed=total.tried)
    with transaction(engine) as session:
        statuses = link_statuses(session, workspace_id)
    outcome = ", ".join(f"{n} {s}" for s, n in sorted(total.statuses.items())) or "none"
    typer.echo(
        f"{found} short links in recent posts ({new} new); followed {total.tried}: {outcome}. "
        "In this workspace's posts: "
        + (", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none")
    )
