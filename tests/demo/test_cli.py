"""``hubbub demo`` through Typer, against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from hubbub.demo.cli import demo
from hubbub.posts.models import Post
from hubbub.settings import get_settings

app = typer.Typer()
app.command()(demo)


@app.callback()
def _group() -> None:
    """Keep ``demo`` a subcommand, as it is under ``hubbub``."""


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _stored(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            return int(session.scalar(select(func.count()).select_from(Post)) or 0)
    finally:
        engine.dispose()


def test_demo_command_loads_summarises_and_is_idempotent(run: CliRunner, db_url: str) -> None:
    first: Result = run.invoke(app, ["demo", "--days", "3"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    stored = _stored(db_url)
    # Three days hold 900-1,200 posts depending on the weekday the demo ends on.
    assert stored > 500
    assert f"{stored:,} new" in first.output
    assert f"posts     {stored:,} by" in first.output
    for network in ("bluesky", "mastodon", "hackernews", "rss"):
        assert network in first.output
    assert "hubbub posts --workspace demo" in first.output
    assert "fictional" in first.output

    second = run.invoke(app, ["demo", "--days", "3"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output
    assert _stored(db_url) == stored


def test_demo_command_refuses_a_bad_slug_and_too_few_days(run: CliRunner, db_url: str) -> None:
    bad = run.invoke(app, ["demo", "--workspace", "Not A Slug", "--days", "3"])
    assert bad.exit_code == 1
    assert "lower-case" in bad.output
    short = run.invoke(app, ["demo", "--days", "1"])
    assert short.exit_code == 2
    assert _stored(db_url) == 0
