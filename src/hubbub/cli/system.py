"""``hubbub init``."""

from __future__ import annotations

import typer

from hubbub.runtime import WorkspaceOption, console, runtime
from hubbub.sources.secrets import encrypt_credentials


def init(
    workspace: str = WorkspaceOption,
) -> None:
    """Create the store (migrating it to the newest schema) and a workspace."""
    rt = runtime()
    workspace_id = rt.workspace_id(workspace, create=True)
    encrypt_credentials(rt.settings, {"check": "ok"})  # creates the key file when missing
    url = rt.engine.url.render_as_string(hide_password=True)
    console.print(
        f"store ready at {url}; workspace {workspace!r} (id {workspace_id})",
        markup=False,
        highlight=False,
    )


def mount(app: typer.Typer) -> None:
    app.command()(init)
