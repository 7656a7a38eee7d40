"""Fewer passes of Python's cyclic garbage collector while a long ingest runs.

Ingest allocates millions of short-lived objects that reference counting frees; with the
default threshold (700 allocations) the cyclic collector still runs every few hundred of them
and walks every tracked object each time a pass reaches the older generations, caches
included. Profiling the prepare step put a third of its CPU and most of the writer's
unpickling time in those passes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

INGEST_GEN0_THRESHOLD = 50_000


@contextmanager
def fewer_collections(gen0: int = INGEST_GEN0_THRESHOLD) -> Iterator[None]:
    """Raise the youngest generation's threshold for the duration; cycles are still found.

    Only the raiser puts it back, and only if nobody changed it meanwhile: two streams that
    overlap in one process, ending in either order, leave the process's own setting behind.
    """
    before = gc.get_threshold()
    raised = (gen0, *before[1:])
    if gen0 <= before[0]:
        yield
        return
    gc.set_threshold(*raised)
    try:
        yield
    finally:
        if gc.get_threshold() == raised:
            gc.set_threshold(*before)


def settle_long_lived() -> None:
    """For a process that has finished starting up: its modules and tables move to the
    permanent generation, which later passes never walk again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(gc.get_threshold()[0], INGEST_GEN0_THRESHOLD), *gc.get_threshold()[1:])
