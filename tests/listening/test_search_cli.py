"""``hubbub search`` as a user runs it: table, JSON lines, paging, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from hubbub.cli.app import app
from hubbub.core.clock import utcnow
from hubbub.listening.models import Topic
from hubbub.listening.search_cli import excerpt
from hubbub.posts.actions import store_items
from hubbub.settings import Settings, get_settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import example_post


@pytest.fixture
def hubbub(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Engine, CliRunner]]:
    monkeypatch.setenv("HUBBUB_HOME", str(settings.home))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    with transaction(engine) as session:
        workspace = ensure_workspace(session, "default").id
        posts = [example_post(n, text=f"acme post {n}", likes=n) for n in range(1, 8)]
        posts.append(example_post(20, text="[bold red]acme[/] \x1b[31mred\x1b[0m injected"))
        posts.append(example_post(21, text="globex only"))
        store_items(session, workspace, "bluesky", posts, received_at=utcnow())
        now = utcnow()
        session.add(
            Topic(workspace_id=workspace, name="fives", rule="5", created_at=now, updated_at=now)
        )
    yield engine, CliRunner()
    get_settings.cache_clear()


def run(hubbub: tuple[Engine, CliRunner], *args: str) -> Result:
    return hubbub[1].invoke(app, ["search", *args], catch_exceptions=False)


def test_table_shows_hits_with_terminal_markup_escaped(hubbub: tuple[Engine, CliRunner]) -> None:
    result = run(hubbub, "acme NOT post")
    assert result.exit_code == 0, result.output
    assert "[bold red]acme[/]" in result.stdout  # shown literally, not as styling
    assert "\x1b" not in result.stdout
    assert "amira.bsky.social" in result.stdout and "bluesky" in result.stdout
    assert "globex" not in result.stdout


def test_json_lines_and_cursor_paging(hubbub: tuple[Engine, CliRunner]) -> None:
    first = run(hubbub, "acme post", "--json", "--limit", "3", "--sort", "engagement")
    assert first.exit_code == 0, first.output
    hits = [json.loads(line) for line in first.stdout.splitlines()]
    assert [h["engagement"] for h in hits] == [7, 6, 5]
    rest = run(
        hubbub, "acme post", "--json", "--sort", "engagement", "--cursor", hits[-1]["cursor"]
    )
    more = [json.loads(line) for line in rest.stdout.splitlines()]
    assert [h["engagement"] for h in more] == [4, 3, 2, 1]
    page2 = run(
        hubbub, "acme post", "--json", "--limit", "3", "--page", "2", "--sort", "engagement"
    )
    assert [json.loads(line)["text"] for line in page2.stdout.splitlines()] == [
        h["text"] for h in more[:3]
    ]
    table = run(hubbub, "acme post", "--limit", "3")
    assert "more: --cursor" in table.stderr


def test_topic_and_time_window(hubbub: tuple[Engine, CliRunner]) -> None:
    result = run(hubbub, "acme", "--topic", "fives", "--json")
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["acme post 5"]
    window = run(
        hubbub, "acme", "--json", "--since", "2026-07-04T12:02:00Z", "--until", "2026-07-04T12:04"
    )
    assert [json.loads(line)["text"] for line in window.stdout.splitlines()] == [
        "acme post 3",
        "acme post 2",
    ]
    unknown = run(hubbub, "acme", "--topic", "nope")
    assert unknown.exit_code == 1
    assert "no topic named 'nope'" in unknown.stderr


def test_broken_rule_points_at_the_error(hubbub: tuple[Engine, CliRunner]) -> None:
    result = run(hubbub, "acme AND (beta OR")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "acme AND (beta OR"
    assert lines[1].index("^") == 17
    assert "error: expected a term, phrase, field or '('" in lines[2]


@pytest.mark.parametrize(
    "args",
    [
        ("acme", "--sort", "likes"),
        ("acme", "--since", "yesterday"),
        ("acme", "--cursor", "zzz"),
        ("acme", "--cursor", "zzz", "--page", "2"),
    ],
)
def test_bad_options_exit_1(hubbub: tuple[Engine, CliRunner], args: tuple[str, ...]) -> None:
    result = run(hubbub, *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error:")


def test_no_hits(hubbub: tuple[Engine, CliRunner]) -> None:
    result = run(hubbub, "initech")
    assert result.exit_code == 0
    assert "no posts match" in result.stdout


def test_excerpt_is_one_safe_line() -> None:
    assert excerpt("a\nb\t\x1b[2J c\u202e") == "a b [2J c"
    assert excerpt("x" * 300, 10) == "x" * 9 + "…"
