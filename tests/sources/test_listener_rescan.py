"""A running listener follows the sources table: a source added (e.g. from the web app) starts
within a rescan, a paused one stops, a changed one restarts — without restarting the process."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.sources.actions import add_source, remove_source_by_id, set_source_enabled
from hubbub.sources.listener import Listener
from hubbub.sources.models import Source
from hubbub.store.engine import transaction
from tests.support.http import Reply, serve

pytestmark = pytest.mark.db

FEED = (Path(__file__).parents[1] / "connectors" / "rss" / "fixtures" / "blog_v1.xml").read_bytes()


def _posts(engine: Engine, workspace_id: int) -> int:
    with Session(engine) as session:
        return (
            session.scalar(
                select(func.count()).select_from(Post).where(Post.workspace_id == workspace_id)
            )
            or 0
        )


async def _until(condition: object, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_sources_added_paused_and_removed_while_listening(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    settings = settings.model_copy(update={"source_rescan_seconds": 0.1})
    headers = {"Content-Type": "application/rss+xml"}
    with serve({"/feed.xml": Reply(body=FEED, headers=headers)}) as server:

        async def scenario() -> None:
            listener = Listener(engine, settings, workspace_id=None)
            stop = asyncio.Event()
            runner = asyncio.create_task(listener.run(stop))
            await asyncio.sleep(0.3)
            assert listener.running == []

            with transaction(engine) as session:
                source_id = add_source(
                    session,
                    settings,
                    workspace_id,
                    "rss",
                    "blog",
                    {"url": f"{server.base}/feed.xml"},
                    {},
                ).id
            await _until(lambda: listener.running == ["blog"])
            await _until(lambda: _posts(engine, workspace_id) > 0)

            with transaction(engine) as session:
                set_source_enabled(session, workspace_id, source_id, False)
            await _until(lambda: listener.running == [])

            with transaction(engine) as session:
                set_source_enabled(session, workspace_id, source_id, True)
            await _until(lambda: listener.running == ["blog"])
            with transaction(engine) as session:
                remove_source_by_id(session, workspace_id, source_id)
            await _until(lambda: listener.running == [])

            stop.set()
            await asyncio.wait_for(runner, 10)

        asyncio.run(scenario())
    assert any(path.startswith("/feed.xml") for path, _ in server.requests)


def test_a_source_that_keeps_failing_shows_why(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """A feed whose server does not answer fails over and over without ever crashing the
    connector: what it logged becomes the source's last error, for its health."""
    settings = settings.model_copy(update={"source_rescan_seconds": 0.1})
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    with transaction(engine) as session:
        source_id = add_source(
            session,
            settings,
            workspace_id,
            "rss",
            "down",
            {"url": f"http://127.0.0.1:{port}/feed.xml"},
            {},
        ).id

    def last_error() -> str | None:
        with Session(engine) as session:
            return session.get_one(Source, source_id).last_error

    async def scenario() -> None:
        listener = Listener(engine, settings, workspace_id=None)
        stop = asyncio.Event()
        runner = asyncio.create_task(listener.run(stop))
        await _until(lambda: last_error() is not None)
        assert "down" in listener.stats.errors
        stop.set()
        await asyncio.wait_for(runner, 10)

    try:
        asyncio.run(scenario())
    finally:
        closed.close()
    message = last_error()
    assert message is not None and f"127.0.0.1:{port}" in message, message
