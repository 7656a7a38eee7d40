"""``hubbub`` commands run in-process against the test's store, as a fixture's body."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hubbub.cli.app import app
from hubbub.settings import get_settings

Invoke = Callable[..., Result]


@contextmanager
def hubbub_cli(
    db_url: str,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    init: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[Invoke]:
    """``invoke(*args, input=None, code=0)`` runs ``hubbub *args`` and checks its exit status
    (``code=None``: any); the store at ``db_url`` is initialised first unless ``init`` is off."""
    monkeypatch.setenv("HUBBUB_HOME", str(home))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, code: int | None = 0) -> Result:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, result.output
        return result

    if init:
        invoke("init")
    try:
        yield invoke
    finally:
        get_settings.cache_clear()
