"""Ingest runs with fewer cyclic-GC passes, and leaves the process's settings as they were."""

from __future__ import annotations

import gc
import weakref

import pytest

from hubbub.core.collector import INGEST_GEN0_THRESHOLD, fewer_collections


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_the_threshold_is_raised_for_the_duration_and_restored_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], INGEST_GEN0_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        raise RuntimeError("a failed stream")
    assert gc.get_threshold() == before


def test_cycles_are_still_collected_inside() -> None:
    with fewer_collections(gen0=1_000):
        probe = weakref.ref(_Node())
        for _ in range(5_000):  # enough allocations for several passes at 1,000
            _Node()
        assert probe() is None


def test_overlapping_streams_ending_in_either_order_leave_the_setting_as_it_was() -> None:
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
