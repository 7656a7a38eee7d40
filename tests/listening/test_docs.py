"""docs/query-language.md must not drift: its error table and CLI examples are checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubbub.listening.cli import topic_app
from hubbub.listening.query import QueryError, parse

PAGE = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
ROW = re.compile(r"^\| `(?P<rule>[^`]+)` \| (?P<pos>\d+) \| (?P<message>.+) \|$", re.MULTILINE)


def _rows() -> list[tuple[str, int, str]]:
    return [(m["rule"], int(m["pos"]), m["message"]) for m in ROW.finditer(PAGE.read_text())]


def test_the_page_has_an_error_table() -> None:
    assert len(_rows()) >= 10


@pytest.mark.parametrize(("rule", "position", "message"), _rows())
def test_documented_errors_are_the_real_ones(rule: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(rule)
    assert (caught.value.position, caught.value.message) == (position, message)


def test_documented_cli_examples() -> None:
    blocks = re.findall(r"\$ hubbub topic check (.+)\n((?:[^$`\n].*\n)+)", PAGE.read_text())
    assert len(blocks) == 3
    for command, output in blocks:
        args = re.findall(r"'([^']*)'|--text|\"([^\"]*)\"", command)
        argv = [a or b or "--text" for a, b in args]
        result = CliRunner().invoke(topic_app, ["check", *argv])
        assert (result.stdout + result.stderr).strip("\n") == output.strip("\n"), command
