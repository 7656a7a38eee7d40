"""``hubbub worker --once``: one pipeline tick from the command line."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Invoke
from tests.support.factories import jsonl_line


def test_worker_once_reports_what_the_tick_did(hubbub: Invoke, tmp_path: Path) -> None:
    hubbub("init")
    assert "indexed 0, conversations 0" in hubbub("worker", "--once").output
    path = tmp_path / "posts.jsonl"
    path.write_bytes(jsonl_line(1, text="How do I reset the rocket skates? Please help") + b"\n")
    hubbub("import", str(path), "--format", "jsonl")
    result = hubbub("worker", "--once")
    assert "indexed 1, conversations 1" in result.output
