"""Fixtures for the Mastodon connector: a scripted local server and a collecting runner."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hubbub.connectors.mastodon.normalise import normalise
from hubbub.connectors.mastodon.source import MastodonSource
from hubbub.core.errors import Rejected
from hubbub.core.items import Item, RawEvent
from hubbub.settings import Settings
from hubbub.sources.base import SourceContext

from .fake_server import MastodonState, running


@pytest.fixture
def mastodon() -> Iterator[tuple[MastodonState, str]]:
    """A fresh fake Mastodon server: (state to script, base URL)."""
    state = MastodonState()
    with running(state) as url:
        yield state, url


def make_source(
    url: str, settings: Settings, token: str | None = None, **config: Any
) -> MastodonSource:
    values: dict[str, Any] = {
        "server": url,
        "retry_base_seconds": 0.05,
        "retry_cap_seconds": 0.5,
        "auth_retry_seconds": 0.3,
        "poll_seconds": 0.05,
        **config,
    }
    ctx = SourceContext(
        settings=settings,
        source_name="test-mastodon",
        credentials={"access_token": token} if token else {},
        log=logging.getLogger("hubbub.sources.test"),
    )
    return MastodonSource(MastodonSource.parse_config(values), ctx)


def outcome(event: RawEvent) -> list[Item] | str:
    """The items of an event, or the code it was rejected with."""
    try:
        return normalise(event)
    except Rejected as exc:
        return exc.code


def entity_id(event: RawEvent) -> str | None:
    """The status/notification id a raw event carries (stream events are unwrapped)."""
    data = json.loads(event.payload)
    if "event" in data:
        if data["event"] == "delete":
            return None
        try:
            data = json.loads(data["payload"])
        except json.JSONDecodeError:
            return None
    value = data.get("id")
    return value if isinstance(value, str) else None


def collect(
    source: MastodonSource,
    cursor: str | None = None,
    *,
    until: Callable[[list[RawEvent]], bool],
    timeout: float = 10.0,
    settle: float = 0.0,
) -> list[RawEvent]:
    """Run ``source.stream`` until ``until(events)`` holds (checked every 20 ms), then ``settle``.

    Raises TimeoutError when the condition never holds within ``timeout``.
    """

    async def run() -> list[RawEvent]:
        events: list[RawEvent] = []
        stream = source.stream(cursor)
        loop = asyncio.get_running_loop()
        pending: asyncio.Future[list[RawEvent]] | None = None
        deadline = loop.time() + timeout
        settle_end: float | None = None
        try:
            while True:
                now = loop.time()
                if settle_end is None and until(events):
                    settle_end = now + settle
                if settle_end is not None and now >= settle_end:
                    return events
                if now > deadline:
                    raise TimeoutError(f"condition not met; {len(events)} events so far")
                if pending is None:
                    pending = asyncio.ensure_future(anext(stream))
                done, _ = await asyncio.wait({pending}, timeout=0.02)
                if done:
                    events.extend(pending.result())
                    pending = None
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await stream.aclose()  # type: ignore[attr-defined]

    return asyncio.run(run())
