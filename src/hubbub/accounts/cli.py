"""``hubbub user …`` and ``hubbub token …``: accounts from the server's command line.

Commands run as the command line (audit entries without an actor): whoever can run them can
read the database anyway.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from hubbub.accounts.actions import (
    AccountError,
    add_member,
    change_role,
    create_token,
    create_user,
    remove_member,
    revoke_token,
    set_password,
)
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import list_tokens, list_users, memberships_by_user, user_by_email
from hubbub.core.clock import utcnow
from hubbub.core.terminal import Column, ListTable
from hubbub.store.engine import transaction
from hubbub.workspaces.access import StoreAccess, open_store

user_app = typer.Typer(
    help="People who sign in to the web app, and their roles.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens (one workspace, one role each).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _open() -> StoreAccess:
    return open_store()


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(1)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


EmailOpt = Annotated[str, typer.Option("--email", help="The person's e-mail address.")]
WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
RoleOpt = Annotated[
    Role, typer.Option("--role", case_sensitive=False, help="Role in the workspace.")
]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]
OneTimeOpt = Annotated[
    bool,
    typer.Option(
        "--one-time",
        help="The password is one you made up for the person: they must choose their own "
        "after signing in.",
    ),
]


@user_app.command("create")
def user_create(
    email: EmailOpt,
    workspace: WorkspaceOpt,
    role: RoleOpt,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: StdinOpt = False,
    one_time: OneTimeOpt = False,
) -> None:
    """Create a user with a role in a workspace (an existing user just gets the role there)."""
    store = _open()
    workspace_id = store.workspace_id(workspace)
    try:
        with transaction(store.engine) as session:
            user = user_by_email(session, email)
            created = user is None
            if user is None:
                user = create_user(
                    session,
                    email,
                    _read_password(password_stdin),
                    display_name=name,
                    one_time=one_time,
                )
            add_member(session, workspace_id, user, role)
            address = user.email
    except AccountError as exc:
        raise _fail(str(exc)) from None
    what = "created" if created else "exists; added"
    console.print(f"user {escape(address)} {what} as {role.value} of {escape(workspace)}")


@user_app.command("list")
def user_list() -> None:
    """Every user with their role in each workspace."""
    store = _open()
    with Session(store.engine) as session:
        users = list_users(session)
        roles = memberships_by_user(session)
    table = ListTable(
        Column("id", justify="right"),
        Column("email", "label", max_width=32),
        Column("name", "label"),
        "active",
        Column("roles", "text"),
    )
    for user in users:
        table.add_row(
            str(user.id),
            user.email,
            user.display_name,
            "yes" if user.active else "no",
            ", ".join(f"{slug}:{role}" for slug, role in roles.get(user.id, [])) or "—",
        )
    console.print(table)


@user_app.command("role")
def user_role(email: EmailOpt, workspace: WorkspaceOpt, role: RoleOpt) -> None:
    """Change a member's role (a workspace always keeps an owner)."""
    store = _open()
    workspace_id = store.workspace_id(workspace)
    try:
        with transaction(store.engine) as session:
            user = user_by_email(session, email)
            if user is None:
                raise AccountError(f"no user {email}")
            change_role(session, workspace_id, user, role)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    console.print(f"{escape(email)} is now {role.value} of {escape(workspace)}")


@user_app.command("remove")
def user_remove(email: EmailOpt, workspace: WorkspaceOpt) -> None:
    """Take a user's access to a workspace away (the account stays)."""
    store = _open()
    workspace_id = store.workspace_id(workspace)
    try:
        with transaction(store.engine) as session:
            user = user_by_email(session, email)
            if user is None:
                raise AccountError(f"no user {email}")
            remove_member(session, workspace_id, user)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    console.print(f"{escape(email)} removed from {escape(workspace)}")


@user_app.command("set-password")
@user_app.command("password", hidden=True)
def user_password(
    email: EmailOpt, password_stdin: StdinOpt = False, one_time: OneTimeOpt = False
) -> None:
    """Set a new password; the user's browsers are signed out. Without ``--one-time`` it
    counts as the user's own (no request to choose another)."""
    store = _open()
    try:
        with transaction(store.engine) as session:
            user = user_by_email(session, email)
            if user is None:
                raise AccountError(f"no user {email}")
            set_password(session, user, _read_password(password_stdin), one_time=one_time)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    console.print(f"password of {escape(email)} changed")


@token_app.command("create")
def token_create(
    workspace: WorkspaceOpt,
    role: RoleOpt,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
) -> None:
    """Create a token and print it once, alone on stdout (it cannot be shown again)."""
    store = _open()
    workspace_id = store.workspace_id(workspace)
    try:
        with transaction(store.engine) as session:
            token, plaintext = create_token(session, workspace_id, role, name)
            token_id = token.id
    except AccountError as exc:
        raise _fail(str(exc)) from None
    err_console.print(
        f"token {token_id} ({escape(name)}, {role.value} of {escape(workspace)}); "
        "copy it now, it is not shown again:",
        highlight=False,
    )
    sys.stdout.write(plaintext + "\n")


@token_app.command("list")
def token_list(workspace: WorkspaceOpt) -> None:
    """The workspace's tokens (never their secret)."""
    store = _open()
    workspace_id = store.workspace_id(workspace)
    with Session(store.engine) as session:
        tokens = list_tokens(session, workspace_id)
    table = ListTable(
        Column("id", justify="right"),
        Column("name", "label"),
        "role",
        Column("starts with", optional=1),
        Column("created (UTC)", optional=2),
        "last used",
        "revoked",
    )
    for token in tokens:
        table.add_row(
            str(token.id),
            token.name,
            token.role,
            token.prefix + "…",
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "—",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "—",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see `hubbub token list`).")],
    workspace: WorkspaceOpt,
) -> None:
    """Revoke a token; requests using it fail from now on."""
    store = _open()
    workspace_id = store.workspace_id(workspace)
    try:
        with transaction(store.engine) as session:
            revoke_token(session, workspace_id, token_id)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    console.print(f"token {token_id} revoked at {utcnow():%Y-%m-%d %H:%M:%S} UTC")
