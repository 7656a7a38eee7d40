"""Concurrent transactions storing posts take turns (PostgreSQL: an advisory lock; SQLite: the
write lock, from the start), so the pipeline's jobs, which follow new rows by id, never pass
over a lower id committed after a higher one."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post
from hubbub.store.engine import transaction
from tests.support.factories import example_post


def _new_ids(engine: Engine, workspace_id: int, after: int) -> list[int]:
    """What a pipeline job reads: the workspace's post ids past its cursor."""
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Post.id)
                .where(Post.workspace_id == workspace_id, Post.id > after)
                .order_by(Post.id)
            )
        )


def test_a_second_writer_waits_for_the_first_to_commit(engine: Engine, workspace_id: int) -> None:
    # Two authors, nothing in common: no row lock orders the two; only the turns do.
    first = Session(engine)
    first.begin()
    store_items(first, workspace_id, "bluesky", [example_post(1)], received_at=utcnow())

    second_done = threading.Event()

    def second_writer() -> None:
        with transaction(engine) as session:
            store_items(
                session,
                workspace_id,
                "bluesky",
                [example_post(2, author="bruno")],
                received_at=utcnow(),
            )
        second_done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        # Without turns the second would draw a higher id and commit while the first is open.
        assert not second_done.wait(1.0)
        assert _new_ids(engine, workspace_id, 0) == []
        first.commit()
        seen = _new_ids(engine, workspace_id, 0)  # a job's tick, likely between the commits
        assert seen
        assert second_done.wait(10)
    finally:
        if not second_done.is_set():
            first.rollback()
        thread.join(10)
        first.close()
    later = _new_ids(engine, workspace_id, seen[-1])  # the next tick, from its cursor
    assert sorted(seen + later) == _new_ids(engine, workspace_id, 0)  # nothing passed over
    assert len(seen + later) == 2
