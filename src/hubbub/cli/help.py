"""What ``--help`` shows beside each option, for the whole command tree at once.

typer 0.29's rich help prints an option's type in its own column for every option, flags
included (``--deleted <bool>``, even ``--help <bool>``): ``TyperOption.display_type_rich``
does not skip flags, while typer's plain help (``TyperOption.get_help_record``) does. A flag
takes no value, so the root group gives every flag an empty placeholder (``metavar``, typer's
own setting for it) once, when typer builds the tree; options that take a value keep theirs
(``<str>``, ``<int range> [x>=1]``), which now marks them apart from the flags.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup, TyperOption

NO_PLACEHOLDER = ""


class HubbubGroup(TyperGroup):
    """The root ``hubbub`` group (``typer.Typer(cls=HubbubGroup)``): it receives every command
    and sub-group already built, and blanks the flags' placeholders of all of them."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        blank_flag_placeholders(self, typer.Context(self, info_name=self.name))


def blank_flag_placeholders(command: Any, ctx: typer.Context) -> None:
    """Give the flags of ``command`` and of every command below it no placeholder.

    ``get_params`` also creates the command's ``--help`` option (click makes it on first use
    and keeps it), so the help option is blanked too; each command gets a context whose parent
    is its group's, as when it runs, so the help option gets the same names then.
    """
    for param in command.get_params(ctx):
        if isinstance(param, TyperOption) and (param.is_flag or param.count):
            param.metavar = NO_PLACEHOLDER
    for name, sub in getattr(command, "commands", {}).items():
        settings = sub.context_settings or {}
        blank_flag_placeholders(sub, typer.Context(sub, info_name=name, parent=ctx, **settings))
