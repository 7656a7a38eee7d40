"""``hubbub webhooks`` through the real command against a local receiver."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hubbub.cli.app import app
from hubbub.settings import get_settings
from hubbub.store.engine import make_engine, transaction
from hubbub.webhooks.actions import enqueue
from hubbub.workspaces.access import open_store
from tests.webhooks.conftest import Receiver

Invoke = Callable[..., Result]


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    monkeypatch.setenv("HUBBUB_ALLOWED_PRIVATE_HOSTS", '["127.0.0.1"]')
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    invoke("init")
    yield invoke
    get_settings.cache_clear()


def test_add_list_deliver_and_remove(hubbub: Invoke, db_url: str, receiver: Receiver) -> None:
    added = hubbub("webhooks", "add", receiver.url, "-e", "alert.fired", "-w", "default")
    assert "signing secret (shown once): whsec_" in added.output
    webhook_id = re.search(r"webhook (\d+) added", added.output)
    assert webhook_id is not None
    listed = hubbub("webhooks", "list")
    assert receiver.url in listed.output and "whsec_" not in listed.output
    hubbub("webhooks", "add", "gopher://example.com", code=1)

    store = open_store()
    engine = make_engine(db_url)
    with transaction(engine) as session:
        enqueue(session, store.workspace_id("default"), "alert.fired", {"alert": {}})
    engine.dispose()
    assert "delivered 1" in hubbub("webhooks", "deliver").output
    assert len(receiver.requests) == 1
    shown = hubbub("webhooks", "deliveries")
    assert "alert.fired" in shown.output and "delivered" in shown.output
    hubbub("webhooks", "remove", webhook_id.group(1))
    assert receiver.url not in hubbub("webhooks", "list").output
    hubbub("webhooks", "remove", webhook_id.group(1), code=1)
