"""Run the real ``hubbub`` command in-process against the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from hubbub.cli.app import app
from hubbub.settings import get_settings

Invoke = Callable[..., Result]


@pytest.fixture
def hubbub(db_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, input: bytes | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield invoke
    get_settings.cache_clear()
