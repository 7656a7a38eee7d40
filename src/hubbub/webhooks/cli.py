"""``hubbub webhooks …``: a workspace's outgoing webhooks from the server's command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from hubbub.core.terminal import Column, ListTable
from hubbub.store.engine import transaction
from hubbub.webhooks import queries
from hubbub.webhooks.actions import EVENTS, WebhookError, add_endpoint, remove_endpoint
from hubbub.webhooks.delivery import deliver_due
from hubbub.workspaces.access import StoreAccess, open_store

webhooks_app = typer.Typer(
    help="Outgoing webhooks: signed HTTP POSTs when conversations and alerts change.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]


def _open(workspace: str) -> tuple[StoreAccess, int]:
    access = open_store()
    return access, access.workspace_id(workspace)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(1)


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="The receiver's http(s) URL.")],
    workspace: WorkspaceOpt = "default",
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help=f"Repeatable; default all: {', '.join(EVENTS)}."),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="A note.")] = "",
) -> None:
    """Add an endpoint and print its signing secret (shown this once)."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            endpoint, secret = add_endpoint(
                session,
                store.settings,
                workspace_id,
                url,
                events=event or [],
                description=description,
            )
            endpoint_id, events = endpoint.id, list(endpoint.events)
    except WebhookError as exc:
        raise _fail(exc.detail) from None
    console.print(f"webhook {endpoint_id} added for {', '.join(events)}", highlight=False)
    console.print(f"signing secret (shown once): {secret}", highlight=False, soft_wrap=True)


@webhooks_app.command("list")
def webhooks_list(workspace: WorkspaceOpt = "default") -> None:
    """The workspace's endpoints (never their secrets)."""
    store, workspace_id = _open(workspace)
    with Session(store.engine) as session:
        found = queries.endpoints(session, workspace_id)
    table = ListTable(
        Column("id", justify="right"),
        Column("url", "label", max_width=40),
        Column("events", "text"),
        "active",
        Column("description", "text"),
    )
    for endpoint in found:
        table.add_row(
            str(endpoint.id),
            endpoint.url,
            ", ".join(endpoint.events),
            "yes" if endpoint.active else "no",
            endpoint.description,
        )
    console.print(table)


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[int, typer.Argument(help="Webhook id.")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Remove an endpoint with its deliveries."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            remove_endpoint(session, workspace_id, webhook_id)
    except WebhookError as exc:
        raise _fail(exc.detail) from None
    console.print(f"webhook {webhook_id} removed")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    workspace: WorkspaceOpt = "default",
    webhook: Annotated[int | None, typer.Option("--webhook", help="Only this endpoint.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="pending, sending, delivered or dead.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """The latest deliveries, newest first, with their last outcome."""
    store, workspace_id = _open(workspace)
    with Session(store.engine) as session:
        rows = queries.deliveries(
            session, workspace_id, endpoint_id=webhook, state=state, limit=limit
        )
    table = ListTable(
        Column("id", justify="right"),
        Column("webhook", justify="right", optional=2),
        Column("event", "label", max_width=30),
        "state",
        Column("attempts", justify="right", optional=3),
        Column("last", "text"),
        Column("next attempt (UTC)", optional=1),
    )
    for row in rows:
        pending = row.state == "pending"
        table.add_row(
            str(row.id),
            str(row.endpoint_id),
            row.event_type,
            row.state,
            str(row.attempts),
            str(row.last_status) if row.last_status else row.last_error or "—",
            row.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if pending else "—",
        )
    console.print(table)


@webhooks_app.command("deliver")
def webhooks_deliver(workspace: WorkspaceOpt = "default") -> None:
    """Send the due deliveries now (the worker does this on every tick)."""
    store, workspace_id = _open(workspace)
    report = deliver_due(store.engine, store.settings, workspace_id=workspace_id)
    console.print(f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}")
