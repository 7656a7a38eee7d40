"""The page result cache: served while the version holds, recomputed when it changes or
ages out, bounded in size."""

from __future__ import annotations

import time

from hubbub.graph.cache import ResultCache


def test_version_age_and_size() -> None:
    cache = ResultCache(size=2, ttl_seconds=60)
    calls: list[str] = []

    def compute(value: str) -> str:
        calls.append(value)
        return value

    assert cache.get_or_compute("a", 1, lambda: compute("a1")) == "a1"
    assert cache.get_or_compute("a", 1, lambda: compute("again")) == "a1"
    assert cache.get_or_compute("a", 2, lambda: compute("a2")) == "a2"  # new data
    cache.get_or_compute("b", 1, lambda: compute("b1"))
    cache.get_or_compute("a", 2, lambda: compute("unused"))  # a is now the most recent
    cache.get_or_compute("c", 1, lambda: compute("c1"))  # evicts b, the least recent
    assert len(cache) == 2
    assert cache.get_or_compute("b", 1, lambda: compute("b again")) == "b again"
    assert calls == ["a1", "a2", "b1", "c1", "b again"]
    assert (cache.hits, cache.misses) == (2, 5)

    short = ResultCache(ttl_seconds=0.05)
    short.get_or_compute("k", 1, lambda: compute("old"))
    time.sleep(0.06)
    assert short.get_or_compute("k", 1, lambda: compute("new")) == "new"  # aged out
