"""``hubbub inbox …``: triage conversations, write notes and send replies from the shell.

Commands act as the command line (audit entries without an actor), like ``hubbub user``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.accounts.models import User
from hubbub.accounts.queries import user_by_email
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.core.options import finite
from hubbub.core.terminal import Column, ListTable, one_line
from hubbub.inbox import actions, queries
from hubbub.inbox.models import STATUSES, Conversation, OutboundReply, Queue
from hubbub.inbox.outbound import send_reply_now
from hubbub.posts.models import Post
from hubbub.store.engine import transaction
from hubbub.workspaces.access import StoreAccess, open_store

inbox_app = typer.Typer(
    help="Conversations that need an answer: triage, notes, replies.", no_args_is_help=True
)
console = Console()
err_console = Console(stderr=True)


def shown(value: str) -> str:
    """Text a user or a network wrote, for the terminal: one line, control characters (escape
    sequences that could clear or retitle an operator's terminal) gone, rich markup escaped."""
    return escape_markup(one_line(value))


def _open(workspace: str) -> tuple[StoreAccess, int]:
    access = open_store()
    return access, access.workspace_id(workspace)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {shown(message)}", highlight=False)
    return typer.Exit(1)


WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
IdArg = Annotated[int, typer.Argument(help="Conversation id.")]


def _conversation(session: Session, workspace_id: int, conversation_id: int) -> Conversation:
    found = queries.conversation(session, workspace_id, conversation_id)
    if found is None:
        raise _fail(f"no conversation {conversation_id} in this workspace")
    return found


def _user_id(session: Session, who: str) -> int:
    if who.isdigit():
        return int(who)
    user = user_by_email(session, who)
    if user is None:
        raise _fail(f"no user {who}")
    return user.id


def _emails(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()
    return {row.id: row.email for row in rows}


@inbox_app.command("list")
def inbox_list(
    workspace: WorkspaceOpt = "default",
    status: Annotated[str | None, typer.Option("--status", help="new, open, waiting …")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="User e-mail or id.")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Queue name.")] = None,
    breaching: Annotated[
        bool, typer.Option("--breaching", help="Only those past or near an SLA due time.")
    ] = False,
    warn_minutes: Annotated[
        int, typer.Option("--warn-minutes", min=0, max=525_600, help="How near counts as near.")
    ] = 15,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """Conversations, highest priority first."""
    store, workspace_id = _open(workspace)
    if status is not None and status not in STATUSES:
        raise _fail(f"{status!r} is not a status; statuses are {', '.join(STATUSES)}")
    now = utcnow()
    with Session(store.engine) as session:
        queue_id = None
        if queue is not None:
            found_queue = queries.queue_by_name(session, workspace_id, queue)
            if found_queue is None:
                raise _fail(f"no queue {queue!r}")
            queue_id = found_queue.id
        rows = queries.list_conversations(
            session,
            workspace_id,
            status=status,
            assignee_user_id=_user_id(session, assignee) if assignee else None,
            queue_id=queue_id,
            breaching=breaching,
            now=now,
            warn=timedelta(minutes=warn_minutes),
            limit=limit,
        )
        emails = _emails(session, {c.assignee_user_id for c in rows if c.assignee_user_id})
        roots = [c.root_post_id for c in rows]
        texts = {
            row.id: row.text
            for row in session.execute(select(Post.id, Post.text).where(Post.id.in_(roots)))
        }
    table = ListTable(
        Column("id", justify="right"),
        "status",
        Column("priority", justify="right"),
        Column("network", optional=2),
        Column("reason", optional=1),
        Column("assignee", "label"),
        "due (UTC)",
        Column("post", "text"),
    )
    for row in rows:
        due = queries.due_at(row)
        late = due is not None and due <= now
        table.add_row(
            str(row.id),
            row.status,
            f"{row.priority:.1f}",
            row.network,
            row.reason,
            emails.get(row.assignee_user_id or 0, "—"),
            Text(due.strftime("%Y-%m-%d %H:%M") if due else "—", style="red" if late else ""),
            texts.get(row.root_post_id) or "",
        )
    console.print(table)


@inbox_app.command("show")
def inbox_show(conversation_id: IdArg, workspace: WorkspaceOpt = "default") -> None:
    """One conversation: its posts, priority explanation, notes and replies."""
    store, workspace_id = _open(workspace)
    with Session(store.engine) as session:
        found = _conversation(session, workspace_id, conversation_id)
        posts = queries.posts_of(session, found.id)
        notes = queries.notes_of(session, found.id)
        replies = queries.replies_of(session, found.id)
        emails = _emails(
            session,
            {u for u in [found.assignee_user_id, *(n.author_user_id for n in notes)] if u},
        )
        queue = session.get(Queue, found.queue_id) if found.queue_id else None
        customer = next((author for _, author, ours in posts if not ours), None)
        history = (
            [
                c
                for c in queries.author_history(session, workspace_id, customer.id)
                if c.id != found.id
            ]
            if customer is not None
            else []
        )
    due = queries.due_at(found)
    console.print(
        f"conversation {found.id} · {found.network} · [bold]{found.status}[/] · "
        f"priority {found.priority:.1f} · assignee "
        f"{shown(emails.get(found.assignee_user_id or 0, '—'))}"
        f"{' · queue ' + shown(queue.name) if queue else ''}"
        f" · due {due.isoformat() if due else '—'}",
        highlight=False,
    )
    why = ", ".join(
        f"{part['factor']}={part['value']} (+{part['points']})"
        for part in found.priority_explanation
    )
    console.print(f"why: {shown(why)}", highlight=False)
    for post, author, ours in posts:
        who = author.handle or author.native_id
        mark = " (us)" if ours else ""
        console.print(
            f"  [{post.created_at:%Y-%m-%d %H:%M}] {shown(who)}{mark}: {shown(post.text)}",
            highlight=False,
        )
    for note in notes:
        writer = emails.get(note.author_user_id or 0, "command line")
        console.print(f"  note by {shown(writer)}: {shown(note.body)}", highlight=False)
    if history:
        earlier = ", ".join(f"{c.id} ({c.status})" for c in history)
        console.print(f"  the author's other conversations: {earlier}", highlight=False)
    for reply in replies:
        where = f" → {shown(reply.remote_url or reply.remote_id)}" if reply.remote_id else ""
        console.print(
            f"  reply {reply.id} ({reply.state}) attempts {reply.attempts}: "
            f"{shown(reply.body)}{where}",
            highlight=False,
        )


@inbox_app.command("assign")
def inbox_assign(
    conversation_id: IdArg,
    user: Annotated[
        str | None, typer.Argument(help="User e-mail or id; omit with --queue.")
    ] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Round-robin in a queue.")] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Assign by hand, or to a queue whose members take turns."""
    if (user is None) == (queue is None):
        raise _fail("give either a user or --queue")
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            found = _conversation(session, workspace_id, conversation_id)
            if queue is not None:
                actions.assign_to_queue(session, found, queue)
            else:
                assert user is not None
                actions.assign(session, found, _user_id(session, user))
            picked = _emails(session, {found.assignee_user_id} if found.assignee_user_id else set())
            who = picked.get(found.assignee_user_id or 0, "nobody")
    except Rejected as exc:
        raise _fail(exc.detail) from None
    console.print(f"conversation {conversation_id} assigned to {shown(who)}", highlight=False)


@inbox_app.command("status")
def inbox_status(
    conversation_id: IdArg,
    status: Annotated[str, typer.Argument(help=", ".join(STATUSES))],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Change a conversation's status."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            actions.set_status(
                session, _conversation(session, workspace_id, conversation_id), status
            )
    except Rejected as exc:
        raise _fail(exc.detail) from None
    console.print(f"conversation {conversation_id} is {status}")


@inbox_app.command("note")
def inbox_note(
    conversation_id: IdArg,
    text: Annotated[str, typer.Argument(help="The note; @name mentions a teammate.")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Add an internal note (never sent to the network)."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            note = actions.add_note(
                session, _conversation(session, workspace_id, conversation_id), text
            )
            mentioned = sorted(_emails(session, set(note.mentions)).values())
    except Rejected as exc:
        raise _fail(exc.detail) from None
    tail = f"; mentions {shown(', '.join(mentioned))}" if mentioned else ""
    console.print(f"note {note.id} added{tail}", highlight=False)


def _report(reply: OutboundReply) -> None:
    line = f"reply {reply.id}: {reply.state} after {reply.attempts} attempt(s)"
    if reply.remote_url or reply.remote_id:
        line += f" → {reply.remote_url or reply.remote_id}"
    if reply.state != "sent" and reply.last_error:
        line += f" ({reply.last_error})"
    if reply.retry_at is not None and reply.state != "sent":
        line += f"; retry after {reply.retry_at.isoformat()}"
    console.print(shown(line), highlight=False)
    if reply.state != "sent":
        raise typer.Exit(2)


@inbox_app.command("reply")
def inbox_reply(
    conversation_id: IdArg,
    text: Annotated[str | None, typer.Argument(help="The reply's text.")] = None,
    saved: Annotated[str | None, typer.Option("--saved", help="Use this saved reply.")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Idempotency key: the same key never sends twice.")
    ] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Reply on the conversation's network, exactly once (exit 2 when not sent yet)."""
    if (text is None) == (saved is None):
        raise _fail("give either the text or --saved NAME")
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            found = _conversation(session, workspace_id, conversation_id)
            body = (
                text
                if text is not None
                else actions.render_saved_reply(session, found, saved or "")
            )
            reply_id = actions.queue_reply(
                session, found, body, idempotency_key=key, settings=store.settings
            ).id
    except Rejected as exc:
        raise _fail(exc.detail) from None
    _report(send_reply_now(store.engine, store.settings, reply_id))


@inbox_app.command("retry")
def inbox_retry(
    reply_id: Annotated[int, typer.Argument(help="Reply id (see `inbox show`).")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Try a reply again (the network is checked first, so it is never posted twice)."""
    store, workspace_id = _open(workspace)
    with Session(store.engine) as session:
        reply = session.get(OutboundReply, reply_id)
        if reply is None or reply.workspace_id != workspace_id:
            raise _fail(f"no reply {reply_id} in this workspace")
        if reply.state == "discarded":
            raise _fail(f"reply {reply_id} was discarded; it is never sent")
        if reply.state == "failed" and reply.retry_at is None:
            raise _fail(
                f"reply {reply_id} was refused for good ({reply.last_error or 'no detail'}); "
                "the same text would be refused again: edit or discard it on its conversation page"
            )
    _report(send_reply_now(store.engine, store.settings, reply_id))


@inbox_app.command("scan")
def inbox_scan(
    workspace: WorkspaceOpt = "default",
    hours: Annotated[
        float,
        typer.Option(
            "--hours", min=0.01, max=87_840, callback=finite, help="Posts received this recently."
        ),
    ] = 24,
) -> None:
    """Open conversations for recently received posts that need action."""
    store, workspace_id = _open(workspace)
    since = utcnow() - timedelta(hours=hours)
    with transaction(store.engine) as session:
        ids = list(
            session.scalars(
                select(Post.id).where(Post.workspace_id == workspace_id, Post.received_at >= since)
            )
        )
        touched = actions.open_conversations_for(session, workspace_id, ids)
    console.print(f"{len(ids)} posts looked at; {len(touched)} conversations opened or extended")


@inbox_app.command("account")
def inbox_account(
    network: Annotated[str, typer.Argument(help="mastodon or bluesky.")],
    native_id: Annotated[str, typer.Argument(help="Account URL (Mastodon) or DID (Bluesky).")],
    handle: Annotated[str, typer.Argument(help="Handle, e.g. acme@mastodon.social.")],
    server: Annotated[
        str | None, typer.Option("--server", help="Server URL replies are sent through.")
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="access_token=… (Mastodon) or app_password=… (Bluesky)."),
    ] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Record one of the brand's own accounts (secrets are stored encrypted)."""
    store, workspace_id = _open(workspace)
    secrets: dict[str, str] = {}
    for item in secret or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise _fail(f"--secret takes NAME=VALUE, not {name!r}")
        secrets[name.strip()] = value
    try:
        with transaction(store.engine) as session:
            account = actions.add_account(
                session,
                store.settings,
                workspace_id,
                network,
                native_id,
                handle,
                service_url=server,
                secrets=secrets or None,
            )
            account_id = account.id
    except Rejected as exc:
        raise _fail(exc.detail) from None
    console.print(f"account {account_id} ({shown(network)} {shown(handle)}) saved")


@inbox_app.command("saved")
def inbox_saved(
    name: Annotated[str, typer.Argument(help="Name of the saved reply.")],
    body: Annotated[str, typer.Argument(help="Template, e.g. 'Hi {{ author_name }}, …'.")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Add or replace a saved reply."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            actions.save_reply_template(session, workspace_id, name, body)
    except Rejected as exc:
        raise _fail(exc.detail) from None
    console.print(f"saved reply {shown(name)} stored")


@inbox_app.command("queue")
def inbox_queue(
    name: Annotated[str, typer.Argument(help="Queue name.")],
    members: Annotated[list[str], typer.Argument(help="Members' e-mails or ids, in turn order.")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Create a team queue."""
    store, workspace_id = _open(workspace)
    try:
        with transaction(store.engine) as session:
            ids = [_user_id(session, who) for who in members]
            actions.create_queue(session, workspace_id, name, ids)
    except Rejected as exc:
        raise _fail(exc.detail) from None
    console.print(f"queue {shown(name)} created with {len(ids)} member(s)")
