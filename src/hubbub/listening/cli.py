"""``hubbub topic check RULE``: how a rule was understood, or where it is broken."""

from __future__ import annotations

from typing import Annotated

import typer

from hubbub.listening.document import Document
from hubbub.listening.query import QueryError, parse
from hubbub.listening.reference import matches

topic_app = typer.Typer(help="Topic rules: the query language topics listen with.")


@topic_app.callback()
def topic_group() -> None:
    """Topic rules: the query language topics listen with."""


@topic_app.command("check")
def check(
    rule: Annotated[str, typer.Argument(help="The rule, quoted for the shell.")],
    text: Annotated[
        str | None, typer.Option("--text", help="Also say whether this text matches.")
    ] = None,
) -> None:
    """Parse RULE and print how it was understood; exit 1 with the position of any error."""
    try:
        node = parse(rule)
    except QueryError as error:
        typer.echo(error.pointer(), err=True)
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(node))
    if text is not None:
        verdict = matches(node, Document(text=text))
        typer.echo("matches" if verdict else "does not match")
