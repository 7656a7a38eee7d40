"""``--help`` as a user reads it: a flag shows no value placeholder, an option taking one does."""

from __future__ import annotations

import typer
from typer.core import TyperOption
from typer.main import get_command
from typer.testing import CliRunner

from hubbub.cli.app import app


def _row(output: str, option: str) -> str:
    return next(line for line in output.splitlines() if f" {option} " in line)


def test_flags_show_no_placeholder_and_values_keep_theirs() -> None:
    runner = CliRunner()
    posts = runner.invoke(app, ["posts", "--help"]).output
    assert "<bool>" not in posts, posts
    assert "<str>" in _row(posts, "--contains")
    assert "<int range> [x>=1]" in _row(posts, "--limit")
    # Nested groups and commands with arguments too, and the root's own --help.
    for args in (["--help"], ["topic", "list", "--help"], ["deadletters", "replay", "--help"]):
        shown = runner.invoke(app, args).output
        assert "<bool>" not in shown, (args, shown)
        assert _row(shown, "--help").split("--help", 1)[1].split()[0] == "Show"


def test_no_flag_anywhere_in_the_tree_has_a_placeholder() -> None:
    """Every command the tree holds, with the contexts it gets when it runs."""
    flags = 0

    def walk(command: object, ctx: typer.Context) -> None:
        nonlocal flags
        for param in command.get_params(ctx):  # type: ignore[attr-defined]
            if isinstance(param, TyperOption) and param.is_flag:
                flags += 1
                assert not param.display_type_rich(ctx), (ctx.command_path, param.opts)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, typer.Context(sub, info_name=name, parent=ctx))

    root = get_command(app)
    walk(root, typer.Context(root, info_name="hubbub"))
    assert flags > 100  # every command's --help, and the flags
