"""Settings from the environment as a user writes them: lists with commas or as JSON, and a
value that cannot be read is one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubbub.core.errors import ConfigError
from hubbub.settings import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("127.0.0.1", ["127.0.0.1"]),
        ("127.0.0.1, feeds.lan,", ["127.0.0.1", "feeds.lan"]),
        ('["127.0.0.1", "feeds.lan"]', ["127.0.0.1", "feeds.lan"]),
        ("", []),
    ],
)
def test_lists_take_commas_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, hosts: list[str]
) -> None:
    monkeypatch.setenv("HUBBUB_ALLOWED_PRIVATE_HOSTS", value)
    assert get_settings().allowed_private_hosts == hosts


def test_an_unreadable_list_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBBUB_ALLOWED_HOSTS", '["secret-host')
    with pytest.raises(ConfigError) as refused:
        get_settings()
    assert str(refused.value).startswith("HUBBUB_ALLOWED_HOSTS: ")
    assert "secret-host" not in str(refused.value)


def test_the_command_line_says_it_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, HUBBUB_HOME=str(tmp_path), HUBBUB_ALLOWED_PRIVATE_HOSTS='["oops')
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "posts", "--count"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(
        "error: HUBBUB_ALLOWED_PRIVATE_HOSTS: "
    )
    assert "Traceback" not in done.stderr + done.stdout
