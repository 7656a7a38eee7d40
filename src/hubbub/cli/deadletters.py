"""``hubbub deadletters``: what was refused, why, and replaying it."""

from __future__ import annotations

import sys
from collections import Counter

import typer
from rich.progress import Progress
from rich.text import Text
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hubbub.core.errors import ConfigError
from hubbub.core.terminal import Column, ListTable
from hubbub.runtime import WorkspaceOption, console, err_console, fail, runtime
from hubbub.sources.actions import ALREADY_STORED, REPLAYED, replay_dead_letter
from hubbub.sources.ingest import Ingestor
from hubbub.sources.models import DeadLetter

deadletters_app = typer.Typer(help="Payloads refused with a reason.", no_args_is_help=True)


PENDING = or_(DeadLetter.replay_outcome.is_(None), DeadLetter.replay_outcome != REPLAYED)


@deadletters_app.command("list")
def list_(
    workspace: str = WorkspaceOption,
    reason: str | None = typer.Option(None, help="Only this reason code."),
    limit: int = typer.Option(50, min=1),
    include_replayed: bool = typer.Option(False, "--all", help="Include replayed letters."),
) -> None:
    """Newest dead letters with their reason, plus a count by reason."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace)
    with Session(rt.engine) as session:
        base = select(DeadLetter).where(DeadLetter.workspace_id == workspace_id)
        if not include_replayed:
            base = base.where(PENDING)
        if reason:
            base = base.where(DeadLetter.reason_code == reason)
        counts = session.execute(
            select(DeadLetter.reason_code, func.count())
            .where(DeadLetter.workspace_id == workspace_id, PENDING)
            .group_by(DeadLetter.reason_code)
            .order_by(func.count().desc())
        )
        summary = ", ".join(f"{code}: {n}" for code, n in counts)
        table = ListTable(
            Column("id", justify="right"),
            "received (UTC)",
            Column("format", optional=1),
            "reason",
            Column("size", justify="right", optional=2),
            Column("detail", "text"),
        )
        for letter in session.scalars(base.order_by(DeadLetter.id.desc()).limit(limit)):
            table.add_row(
                str(letter.id),
                letter.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                letter.format,
                letter.reason_code,
                str(letter.payload_size),
                letter.reason,
            )
    console.print(Text(f"pending by reason: {summary or 'none'}"))
    console.print(table)


@deadletters_app.command("show")
def show(
    letter_id: int,
    workspace: str = WorkspaceOption,
    raw: bool = typer.Option(False, "--raw", help="Write the payload bytes to stdout."),
) -> None:
    """One dead letter: reason, metadata and payload."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace)
    with Session(rt.engine) as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None or letter.workspace_id != workspace_id:
            raise fail(f"no dead letter {letter_id} in workspace {workspace!r}")
        if raw:
            sys.stdout.buffer.write(letter.payload)
            return
        for label, value in (
            ("id", letter.id),
            ("received", letter.received_at.isoformat()),
            ("format", letter.format),
            ("reason", f"{letter.reason_code}: {letter.reason}"),
            (
                "size",
                f"{letter.payload_size} bytes{' (cut when stored)' if letter.truncated else ''}",
            ),
            ("sha256", letter.payload_sha256),
            ("meta", letter.meta),
            ("cursor", letter.cursor),
            ("replayed", f"{letter.replayed_at} {letter.replay_outcome or ''}".strip()),
        ):
            console.print(Text(f"{label}: {value}"))
        preview = letter.payload[:2000].decode("utf-8", errors="backslashreplace")
        console.print(Text("payload:\n" + preview))


@deadletters_app.command("replay")
def replay(
    letter_ids: list[int] = typer.Argument(None, help="Ids to replay."),
    every: bool = typer.Option(False, "--all", help="Replay every pending letter."),
    reason: str | None = typer.Option(None, help="With --all: only this reason code."),
    workspace: str = WorkspaceOption,
) -> None:
    """Run letters through today's normalisers and settings; stored ones are marked replayed.

    Exit status 1 when a named id is not a letter of the workspace (the others still run)."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace)
    if not letter_ids and not every:
        raise fail("name dead letter ids or pass --all")
    ids = list(letter_ids or [])
    with Session(rt.engine) as session:
        if every:
            query = select(DeadLetter.id).where(DeadLetter.workspace_id == workspace_id, PENDING)
            if reason:
                query = query.where(DeadLetter.reason_code == reason)
            ids += list(session.scalars(query.order_by(DeadLetter.id)))
        ids = list(dict.fromkeys(ids))  # an id named and also pending runs once
        owned = set(
            session.scalars(
                select(DeadLetter.id).where(
                    DeadLetter.workspace_id == workspace_id, DeadLetter.id.in_(ids or [-1])
                )
            )
        )
    if not ids:
        console.print(Text(f"no pending dead letters{f' with reason {reason}' if reason else ''}"))
        return
    ingestor = Ingestor(rt.engine, rt.settings)
    outcomes: Counter[str] = Counter()
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("replaying", total=len(ids))
        for letter_id in ids:
            progress.advance(task)
            if letter_id not in owned:
                console.print(Text(f"{letter_id}: no such dead letter in workspace {workspace!r}"))
                outcomes["not found"] += 1
                continue
            try:
                outcome, _ = replay_dead_letter(ingestor, letter_id)
            except ConfigError as exc:
                raise fail(str(exc)) from None
            outcomes[outcome if outcome in (REPLAYED, ALREADY_STORED) else "still refused"] += 1
            console.print(Text(f"{letter_id}: {outcome}"))
    tried = len(ids) - outcomes["not found"]
    summary = (
        f"replayed {tried}: stored {outcomes[REPLAYED]}, still refused {outcomes['still refused']}"
    )
    for extra in (ALREADY_STORED, "not found"):
        if outcomes[extra]:
            summary += f", {extra} {outcomes[extra]}"
    console.print(Text(summary))
    if outcomes["not found"]:
        raise typer.Exit(1)


def mount(app: typer.Typer) -> None:
    app.add_typer(deadletters_app, name="deadletters")
