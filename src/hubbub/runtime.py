"""What every entry point (CLI, web, demo, bench) needs: settings, a migrated store, the
loaded connectors, a console."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import typer
from rich.console import Console
from sqlalchemy import Engine

from hubbub.connectors import load_ingest_plugins, load_sources
from hubbub.core.errors import ConfigError
from hubbub.migrations import upgrade
from hubbub.settings import Settings, get_settings
from hubbub.store.engine import engine_for, transaction
from hubbub.workspaces.actions import DEFAULT_SLUG, ensure_workspace, get_workspace

console = Console()
err_console = Console(stderr=True)

WorkspaceOption = typer.Option(DEFAULT_SLUG, "--workspace", "-w", help="Workspace slug.")


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        engine = engine_for(self.settings)
        upgrade(engine)
        return engine

    def workspace_id(self, slug: str, create: bool = False) -> int:
        with transaction(self.engine) as session:
            try:
                workspace = (
                    ensure_workspace(session, slug) if create else get_workspace(session, slug)
                )
            except ConfigError as exc:
                raise fail(str(exc)) from None
            return workspace.id


def load_connectors() -> None:
    """Import every connector package so its registrations run (only entry points do this)."""
    import hubbub.inbox.actions  # noqa: F401 - registers the inbox's case opener

    load_ingest_plugins()
    load_sources()


def runtime() -> Runtime:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    load_connectors()
    return Runtime(get_settings())
