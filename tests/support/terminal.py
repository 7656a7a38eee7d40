"""A command's output as a user at a terminal of a given width sees it (``hubbub.core.terminal``).

The command runs as its own process: rich reads the width (``COLUMNS``) when a console is made,
and the commands make theirs when their module is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[2]


def at_columns(columns: int, *args: str) -> str:
    """``hubbub *args``'s standard output in a terminal ``columns`` wide (the test's store:
    ``HUBBUB_DATABASE_URL`` and ``HUBBUB_HOME`` come from the environment)."""
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        cwd=ROOT,
        env=dict(os.environ, COLUMNS=str(columns)),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def fits(output: str, columns: int = 80) -> str:
    """``output`` after checking no line of it is wider than ``columns``, no header is cut (the
    columns were not squeezed) and every body row of its table takes one or two lines."""
    assert output.strip(), output
    assert max(cell_len(line) for line in output.splitlines()) <= columns, output
    assert not any(line.startswith("┃") and "…" in line for line in output.splitlines()), output
    rows: list[int] = []
    for line in output.splitlines():
        if line.startswith("│"):
            if line.split("│")[1].strip() or not rows:
                rows.append(1)
            else:
                rows[-1] += 1
    assert rows and max(rows) <= 2, output
    return output
