"""Tables the command line prints, laid out for the terminal's width when they are printed.

Rich alone shares a narrow terminal out by squeezing every column, so at 80 columns ids and
times wrapped or lost their ends and long text ran to a letter per line. Here each column says
what it holds instead:

* ``fixed`` (ids, times, counts, codes): never wrapped or cut;
* ``label`` (names, handles, e-mails): one line, cut with "…" past its width;
* ``text`` (post text, rules, errors): what width is left, at most two lines, cut with "…".

So a row is one or two lines at any width. Where even that does not fit, columns marked
``optional`` are left out (the highest number first) and the caption names them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Kind = Literal["fixed", "label", "text"]

LABEL_MIN = 12  # a label is cut to no less than this before columns are left out
LABEL_MAX = 20  # ... and grows to no more than this (unless its column says otherwise)
TEXT_MIN = 20  # two lines of this much text before columns are left out
TEXT_LINES = 2


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "fixed"
    justify: Literal["left", "right"] = "left"
    max_width: int | None = None  # a label's widest; LABEL_MAX by default
    optional: int = 0  # > 0: may be left out in a narrow terminal, the highest first


class ListTable:
    """Rows under headers (``add_row``), printed with ``console.print`` like a rich table.

    A ``str`` cell is plain text made one line (:func:`one_line`), never read as rich markup
    (posts and names may hold ``[brackets]``); a ``Text`` cell (for a style) is taken as it is.
    """

    def __init__(self, *columns: Column | str) -> None:
        self.columns = [c if isinstance(c, Column) else Column(c) for c in columns]
        self.rows: list[list[Text]] = []

    def add_row(self, *cells: str | Text) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([c if isinstance(c, Text) else Text(one_line(c)) for c in cells])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.layout(options.max_width)

    def layout(self, width: int) -> Table:
        """The rich table for a terminal ``width`` columns wide."""
        bounds = [
            _bounds(column, max([cell_len(column.header), *(_width(row[i]) for row in self.rows)]))
            for i, column in enumerate(self.columns)
        ]
        kept = list(range(len(self.columns)))
        left_out: list[str] = []
        while _outer(len(kept)) + sum(bounds[i][0] for i in kept) > width:
            droppable = [i for i in kept if self.columns[i].optional]
            if not droppable:
                break  # nothing more to leave out: rich squeezes what is left
            drop = max(droppable, key=lambda i: self.columns[i].optional)
            kept.remove(drop)
            left_out.append(self.columns[drop].header)
        widths = {i: bounds[i][0] for i in kept}
        spare = width - _outer(len(kept)) - sum(widths.values())
        for kind in ("label", "text"):  # what is left: labels first (names whole), then text
            for i in (i for i in kept if self.columns[i].kind == kind):
                grow = max(0, min(spare, bounds[i][1] - widths[i]))
                widths[i] += grow
                spare -= grow
        caption = f"left out at this width: {', '.join(left_out)}" if left_out else None
        table = Table(caption=caption)
        for i in kept:
            column = self.columns[i]
            table.add_column(
                Text(column.header),
                justify=column.justify,
                no_wrap=True,
                overflow="ellipsis",
                width=None if column.kind == "fixed" else widths[i],
            )
        for row in self.rows:
            table.add_row(*(_cell(row[i], self.columns[i].kind) for i in kept))
        return table


def one_line(value: str) -> str:
    """User text made one line safe for a terminal: control and format characters (escape
    sequences, bidi overrides) become spaces, runs of space collapse."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in value)
    return " ".join(cleaned.split())


def _outer(columns: int) -> int:
    """What a table of ``columns`` columns takes besides their cells: rich's default box
    draws a border left of each column and one at the end, with a space of padding each side
    of a cell."""
    return 3 * columns + 1


def _bounds(column: Column, natural: int) -> tuple[int, int]:
    """The narrowest a column gets before columns are left out, and the widest it grows."""
    if column.kind == "label":
        most = min(natural, column.max_width or LABEL_MAX)
        return min(most, LABEL_MIN), most
    if column.kind == "text":
        return min(natural, TEXT_MIN), natural
    return natural, natural


def _width(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.splitlines()), default=0)


def _cell(text: Text, kind: Kind) -> Text | Clamped:
    if kind == "fixed":
        return text
    return Clamped(text, 1 if kind == "label" else TEXT_LINES)


class Clamped:
    """Text wrapped to the cell's width in at most ``lines`` lines, the last cut with "…"."""

    def __init__(self, text: Text, lines: int) -> None:
        self.text = text
        self.lines = lines

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, max(1, _width(self.text)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width)
        rest = self.text
        out: list[Text] = []
        while len(out) < self.lines - 1:
            cut = _line_break(rest.plain, width)
            if cut is None:
                break
            line = rest[:cut]
            line.rstrip()
            out.append(line)
            rest = rest[cut:]
            rest = rest[len(rest.plain) - len(rest.plain.lstrip()) :]
        last = rest.copy()
        if "\n" in last.plain:  # a line break of its own: the rest does not fit
            last = last[: last.plain.index("\n")]
            last.append("…")
        last.truncate(width, overflow="ellipsis")
        out.append(last)
        yield Text("\n").join(out)


def _line_break(plain: str, width: int) -> int | None:
    """Where the first of ``width``-cell lines of ``plain`` ends; None when it all fits.

    At the last space that fills two thirds of the line or more, else mid-word: a long URL
    or handle next should not leave the line nearly empty."""
    used = 0
    for fits, char in enumerate(plain):
        used += cell_len(char)
        if char == "\n":
            return fits
        if used > width:
            break
    else:
        return None
    space = plain.rfind(" ", 0, fits + 1)
    if space > 0 and cell_len(plain[:space]) >= width * 2 // 3:
        return space
    return fits
