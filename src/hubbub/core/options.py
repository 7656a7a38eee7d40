"""Checks shared by the command groups' options (typer callbacks)."""

from __future__ import annotations

import math

import typer


def finite(value: float) -> float:
    """A float option's callback: nan passes every range check (``min``/``max``), so it is
    refused here; give the option a ``max`` too and infinity is refused by that."""
    if math.isnan(value):
        raise typer.BadParameter("must be a number, not nan")
    return value
