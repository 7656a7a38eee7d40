"""Top authors of a topic: counted from the author each match carries, deleted posts taken off,
filters and period applied — against a plain count of the stored posts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import DeleteItem
from hubbub.listening.dashboard import Slice, top_authors
from hubbub.listening.models import TopicMatch
from hubbub.posts.actions import store_items
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.listening.ingesting import ingest, native, post, topics
from tests.support.factories import BASE_TIME

pytestmark = pytest.mark.db

START, END = BASE_TIME - timedelta(days=1), BASE_TIME + timedelta(days=1)


def _top(
    engine: Engine, topic_id: int, where: Slice = Slice(), **kw: object
) -> list[tuple[str, int]]:
    with Session(engine) as session:
        rows = top_authors(session, topic_id, START, END, where, **kw)  # type: ignore[arg-type]
        return [(author.handle or author.native_id, count) for author, count, _ in rows]


def test_deleted_posts_are_taken_off_and_ties_break_by_author(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, skates="skates")
    events = [post(n, f"skates number {n}", author="amira") for n in range(4)]
    events += [post(10 + n, f"skates again {n}", author="bruno") for n in range(3)]
    events += [post(20, "skates once", author="chen"), post(21, "no match here", author="chen")]
    ingest(engine, settings, workspace_id, events)
    with Session(engine) as session:
        assert all(m.author_id is not None for m in session.scalars(select(TopicMatch))), (
            "every match carries its post's author"
        )
    before = _top(engine, ids["skates"])
    assert [count for _, count in before] == [4, 3, 1]

    with transaction(engine) as session:  # two of amira's posts are deleted after matching
        store_items(
            session,
            workspace_id,
            "bluesky",
            [DeleteItem(native_id=native(n, "amira"), at=BASE_TIME) for n in (0, 1)],
            received_at=utcnow(),
        )
    after = _top(engine, ids["skates"])
    assert [count for _, count in after] == [3, 2, 1]
    assert after[1][0] == before[0][0]  # amira, now second
    assert _top(engine, ids["skates"], limit=1) == after[:1]
    assert _top(engine, ids["skates"], Slice(network="mastodon")) == []


def test_an_author_whose_posts_were_all_deleted_is_not_listed(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, skates="skates")
    ingest(engine, settings, workspace_id, [post(1, "skates!", author="amira")])
    with transaction(engine) as session:
        store_items(
            session,
            workspace_id,
            "bluesky",
            [DeleteItem(native_id=native(1, "amira"), at=BASE_TIME)],
            received_at=utcnow(),
        )
    assert _top(engine, ids["skates"]) == []
