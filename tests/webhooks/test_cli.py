"""``hubbub webhooks`` through the real command against a local receiver."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubbub.store.engine import make_engine, transaction
from hubbub.webhooks.actions import enqueue
from hubbub.workspaces.access import open_store
from tests.support.cli import Invoke, hubbub_cli
from tests.support.terminal import at_columns, fits
from tests.webhooks.conftest import Receiver


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(
        db_url,
        tmp_path / "home",
        monkeypatch,
        env={"HUBBUB_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]'},
    ) as invoke:
        yield invoke


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


def test_deliveries_fit_80_columns(hubbub: Invoke, db_url: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the attempt is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/acme/a-rather-long-path-for-the-marketing-automation"
    hubbub("webhooks", "add", url, "-e", "alert.fired")
    engine = make_engine(db_url)
    with transaction(engine) as session:
        enqueue(session, open_store().workspace_id("default"), "alert.fired", {"alert": {}})
    engine.dispose()
    assert "retrying 1" in hubbub("webhooks", "deliver").output

    narrow = fits(at_columns(80, "webhooks", "deliveries"))
    assert "alert.fired" in narrow and "pending" in narrow
    assert f"cannot reach {url}" not in narrow.replace("\n", "") and "…" in narrow
    wide = at_columns(250, "webhooks", "deliveries")
    assert f"cannot reach {url}" in wide and "left out" not in wide
    assert re.search(r"│ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d │", wide)  # the next attempt, whole
