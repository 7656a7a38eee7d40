"""A small conversation stored through the real write path, shared by the graph DB tests."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.items import Item
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post
from hubbub.store.engine import transaction
from tests.support.factories import BASE_TIME, PERSONAS, example_post

AMIRA, BRUNO, CHEN = (PERSONAS[n]["native_id"] for n in ("amira", "bruno", "chen"))
STRANGER = "did:plc:stranger000000000000000"


def native(n: int, author: str = "amira") -> str:
    return str(example_post(n, author).native_id)


def conversation() -> list[Item]:
    """Amira posts; Bruno replies and quotes; Chen reshares; a stranger is mentioned."""
    return [
        example_post(0, "amira", "Acme rocket skates launch today #acme", hashtags=("acme",)),
        example_post(10, "bruno", "Congrats on the launch", reply_to=native(0)),
        example_post(20, "chen", "", kind="reshare", reshare_of=native(0)),
        example_post(
            30,
            "bruno",
            "Look at this, @chen and friend",
            quote_of=native(0),
            mentions=(CHEN, STRANGER),
        ),
        example_post(40, "amira", "More in the thread", reply_to=native(0)),  # self: no edge
        example_post(50, "chen", "Replying to a post we never saw", reply_to="at://gone/1"),
        example_post(60, "chen", "Great skates, thanks @amira", mentions=(AMIRA,)),
    ]


def store(engine: Engine, workspace_id: int, items: list[Item]) -> None:
    with transaction(engine) as session:
        store_items(session, workspace_id, "bluesky", items, received_at=utcnow())


def post_ids(engine: Engine, workspace_id: int, minutes: set[int] | None = None) -> list[int]:
    """Ids of stored posts, optionally only those created at the given minutes past BASE."""
    with Session(engine) as session:
        rows = session.execute(
            select(Post.id, Post.created_at).where(Post.workspace_id == workspace_id)
        ).all()
    return [
        i for i, at in rows
        if minutes is None or any(at == BASE_TIME + timedelta(minutes=m) for m in minutes)
    ]  # fmt: skip
