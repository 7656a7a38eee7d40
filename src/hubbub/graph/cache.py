"""A small in-process cache of computed graph results (rankings, community maps, seeding plans),
so that looking at an influence page again costs a few index look-ups instead of a PageRank.

An entry is served only while the data it was computed from is unchanged (the caller passes a
version, see `queries.graph_version`) and for at most ``ttl`` seconds, since decay and account
ages move with the clock; past ``size`` entries the least recently used one goes. Each process
keeps its own cache: several web processes stay correct because every view checks the version.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_SIZE = 64
DEFAULT_TTL_SECONDS = 600.0


@dataclass
class _Entry:
    version: Hashable
    stored_at: float
    value: Any


class ResultCache:
    """Bounded, versioned, time-limited results by key; safe to share between threads."""

    def __init__(self, size: int = DEFAULT_SIZE, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.size = size
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, version: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for ``key`` when it was computed at ``version`` and is fresh enough;
        else compute it (outside the lock: two threads may both compute, the last one stays)."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is not None
                and entry.version == version
                and now - entry.stored_at < self.ttl_seconds
            ):
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.value  # type: ignore[no-any-return]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = _Entry(version, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
