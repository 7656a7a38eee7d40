"""A transaction that stores posts looks the store up only once it holds the write lock, so a
write another process commits meanwhile is either seen by its lookups or comes after it."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import DeleteItem
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post, Tombstone
from hubbub.store.engine import transaction
from tests.support.factories import example_post


def test_a_delete_committed_while_a_batch_is_looked_up_still_wins(
    engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:  # the author is known: the batch starts with reads
        store_items(session, workspace_id, "bluesky", [example_post(0)], received_at=utcnow())
    post = example_post(1)
    deleter_done = threading.Event()

    def delete_elsewhere() -> None:
        with transaction(engine) as session:
            store_items(
                session,
                workspace_id,
                "bluesky",
                [DeleteItem(post.native_id, utcnow())],
                received_at=utcnow(),
            )
        deleter_done.set()

    deleter = threading.Thread(target=delete_elsewhere)

    def after_tombstone_lookup(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The batch has checked the tombstones and not yet inserted: another writer's delete
        # of the same post, now. It must wait for this batch, or this batch must see it.
        if "FROM tombstones" in statement and deleter.ident is None:  # once, never started
            deleter.start()
            deleter_done.wait(1.0)

    event.listen(engine, "after_cursor_execute", after_tombstone_lookup)
    try:
        with transaction(engine) as session:
            store_items(session, workspace_id, "bluesky", [post], received_at=utcnow())
    finally:
        event.remove(engine, "after_cursor_execute", after_tombstone_lookup)
        deleter.join(30)
    assert deleter_done.is_set()
    with Session(engine) as session:
        stored = session.execute(
            select(Post.deleted, Post.text).where(Post.native_id == post.native_id)
        ).one()
        tombstones = session.scalars(select(Tombstone.native_id)).all()
        posts = session.scalar(select(func.count()).select_from(Post))
    assert tombstones == [post.native_id]
    assert tuple(stored) == (True, "")  # the text of a deleted post is not kept
    assert posts == 2
