"""The ``hubbub`` command: each group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from hubbub.cli import bench, deadletters, posts, sources, system

app = typer.Typer(
    name="hubbub",
    help="Hubbub: listen to the open networks, engage, measure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
system.mount(app)
sources.mount(app)
posts.mount(app)
deadletters.mount(app)
bench.mount(app)


def main() -> None:
    app()
