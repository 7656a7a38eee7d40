"""A fresh local Hacker News server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.hackernews.server import FakeHN


@pytest.fixture
def hn() -> Iterator[FakeHN]:
    server = FakeHN().start()
    try:
        yield server
    finally:
        server.stop()
