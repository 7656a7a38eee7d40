"""The tables commands print, in an 80-column terminal: every row one or two lines, ids and
times whole, long text cut with "…" (``hubbub.core.terminal``)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from hubbub.core.terminal import Column, ListTable
from tests.cli.conftest import Invoke
from tests.connectors.bluesky.events import recorded_path

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = str(recorded_path("expected_v1.jsonl"))  # long posts, CJK, reshares, 3 refused


def _at_80_columns(*args: str) -> str:
    """The command as a user at a normal terminal runs it (rich reads the width at start)."""
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        cwd=ROOT,
        env=dict(os.environ, COLUMNS="80"),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _rows(output: str) -> list[list[str]]:
    """The body rows of the table in ``output``, each as its lines; a row starts where its
    first cell is not blank."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        if line.split("│")[1].strip() or not rows:
            rows.append([line])
        else:
            rows[-1].append(line)
    return rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("│")[1:-1]]


def _readable(output: str, rows: int) -> list[list[str]]:
    assert max(cell_len(line) for line in output.splitlines()) <= 80, output
    found = _rows(output)
    assert len(found) == rows, output
    assert all(len(row) <= 2 for row in found), output
    return found


def test_posts_and_dead_letters_at_80_columns(hubbub: Invoke) -> None:
    hubbub("import", CAPTURE, "--format", "jetstream")
    posts = _at_80_columns("posts")
    for row in _readable(posts, rows=20):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", _cells(row[0])[0]), posts
        assert _cells(row[0])[-1] in ("post", "reply", "reshare", "quote"), posts
    assert "…" in posts  # long texts are cut, not run down the screen

    letters = _at_80_columns("deadletters", "list")
    for row in _readable(letters, rows=3):
        number, received, reason = _cells(row[0])[:3]
        assert number.isdigit() and reason == "unknown_collection", letters
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", received), letters
    assert "left out at this width: size, format" in letters


def test_topics_and_inbox_at_80_columns(hubbub: Invoke) -> None:
    hubbub("import", CAPTURE, "--format", "jetstream")
    hubbub("topic", "add", "competitor-long-name", 'skates AND (wheels OR "ball bearings") ' * 3)
    hubbub("topic", "add", "acme", "bluesky OR politikou OR the", "--kind", "brand")
    topics = _at_80_columns("topic", "list")
    names = [_cells(row[0])[0] for row in _readable(topics, rows=2)]
    assert names == ["acme", "competitor-long-name"], topics

    hubbub("topic", "backfill")
    hubbub("inbox", "scan")
    inbox = _at_80_columns("inbox", "list")
    rows = _readable(inbox, rows=len(_rows(hubbub("inbox", "list").output)))
    assert rows, inbox
    for row in rows:
        number, status, priority, _assignee, due = _cells(row[0])[:5]
        assert number.isdigit() and status == "new" and float(priority) > 0, inbox
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", due), inbox


def test_sources_at_80_columns(hubbub: Invoke) -> None:
    for kind, name, setting in (
        ("bluesky", "firehose", "collections=app.bsky.feed.post"),
        ("rss", "acme-blog", "url=https://blog.example/feed.xml"),
        ("hackernews", "hn", "keywords=acme"),
    ):
        hubbub("source", "add", kind, name, "--set", setting)
    sources = _at_80_columns("source", "list")
    assert "┃ name " in sources and "last event (UTC)" in sources  # headers on one line
    rows = _readable(sources, rows=3)
    assert [_cells(row[0])[0] for row in rows] == ["acme-blog", "firehose", "hn"]


def _render(table: ListTable, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width).print(table)
    return out.getvalue()


def test_a_list_table_cuts_text_and_leaves_out_optional_columns() -> None:
    table = ListTable(
        Column("id", justify="right"),
        Column("who", "label"),
        Column("extra", optional=1),
        Column("text", "text"),
    )
    table.add_row("7", "someone-with-a-long-handle.example", "x" * 30, "word " * 60)
    table.add_row("8", "[bold]not markup[/]", "y", "line\nbreak\x1b[2J and\u202eescape")
    wide = _render(table, 200)
    assert "x" * 30 in wide and "not markup" in wide and "[bold]" in wide
    assert "\x1b[2J" not in wide and "\u202e" not in wide and "line break [2J and escape" in wide
    narrow = _render(table, 60)
    assert "x" * 30 not in narrow and "left out at this width: extra" in narrow
    rows = _rows(narrow)
    assert [len(row) for row in rows] == [2, 1], narrow
    assert rows[0][1].rstrip(" │").endswith("…") and "someone-wi" in rows[0][0]
    assert max(cell_len(line) for line in narrow.splitlines()) <= 60


def test_a_styled_cell_keeps_its_style() -> None:
    table = ListTable("due")
    table.add_row(Text("2026-07-04 10:00", style="red"))
    out = io.StringIO()
    Console(file=out, width=40, force_terminal=True, color_system="standard").print(table)
    assert "\x1b[31m2026-07-04 10:00" in out.getvalue()
