"""The Acme brand's own accounts, posts stored through the real write path, and teammates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import Engine, select

from hubbub.accounts.actions import add_member, create_user
from hubbub.accounts.security import use_hasher
from hubbub.core.clock import utcnow
from hubbub.core.items import AuthorRef, Item, PostItem
from hubbub.inbox import actions
from hubbub.posts.actions import store_items
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.inbox.servers import MastodonServer, mastodon_server
from tests.support.factories import BASE_TIME, PERSONAS, example_author

ACME_DID = "did:plc:acmebrand000000000000000"
ACME_MASTODON = "https://mastodon.example/@acme"
ACME_BSKY = AuthorRef(native_id=ACME_DID, handle="acme.bsky.social", followers=90000)
CHEN_STATUS = "https://mastodon.example/users/chen/statuses/{n}"
COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    previous = use_hasher(PasswordHasher.from_parameters(CHEAPEST))
    yield
    use_hasher(previous)


def bsky(n: int) -> str:
    """Native id of a Bluesky post ``n`` by Amira (the factories' numbering)."""
    return f"at://{PERSONAS['amira']['native_id']}/app.bsky.feed.post/{n:013d}"


def brand_post(n: int, text: str, **changes: object) -> PostItem:
    values: dict[str, object] = {
        "native_id": f"at://{ACME_DID}/app.bsky.feed.post/{n:013d}",
        "author": ACME_BSKY,
        "created_at": BASE_TIME + timedelta(minutes=n),
        "text": text,
        "langs": ("en",),
    }
    values.update(changes)
    return PostItem(**values)  # type: ignore[arg-type]


def chen_status(n: int, text: str, **changes: object) -> PostItem:
    values: dict[str, object] = {
        "native_id": CHEN_STATUS.format(n=n),
        "author": example_author("chen"),
        "created_at": BASE_TIME + timedelta(minutes=n),
        "text": text,
        "langs": ("en",),
    }
    values.update(changes)
    return PostItem(**values)  # type: ignore[arg-type]


def store(engine: Engine, workspace_id: int, network: str, items: list[Item]) -> dict[str, int]:
    """Store items; returns post id by native id."""
    with transaction(engine) as session:
        store_items(session, workspace_id, network, items, received_at=utcnow())
        natives = [item.native_id for item in items if isinstance(item, PostItem)]
        rows = session.execute(
            select(Post.native_id, Post.id).where(
                Post.workspace_id == workspace_id, Post.native_id.in_(natives)
            )
        )
        return dict(rows.all())


@pytest.fixture
def brand(engine: Engine, workspace_id: int, settings: Settings) -> None:
    """Acme's own accounts on Bluesky and Mastodon (no credentials yet)."""
    with transaction(engine) as session:
        actions.add_account(
            session, settings, workspace_id, "bluesky", ACME_DID, "acme.bsky.social"
        )
        actions.add_account(
            session, settings, workspace_id, "mastodon", ACME_MASTODON, "acme@mastodon.example"
        )


def make_user(engine: Engine, workspace_id: int, email: str, role: str = "agent") -> int:
    with transaction(engine) as session:
        user = create_user(session, email, "correct horse battery staple")
        add_member(session, workspace_id, user, role)
        return user.id


def mastodon_conversation(
    engine: Engine, settings: Settings, workspace_id: int, server_base: str, token: str, text: str
) -> int:
    """Our account on a (local) Mastodon server and a conversation about Chen's status 1."""
    with transaction(engine) as session:
        actions.add_account(
            session,
            settings,
            workspace_id,
            "mastodon",
            ACME_MASTODON,
            "acme",
            service_url=server_base,
            secrets={"access_token": token},
        )
    ids = store(engine, workspace_id, "mastodon", [chen_status(1, text)])
    with transaction(engine) as session:
        (found,) = actions.open_conversations_for(session, workspace_id, list(ids.values()))
        return found.id


@contextmanager
def mastodon_complaint(
    engine: Engine, settings: Settings, workspace_id: int, text: str = COMPLAINT
) -> Iterator[tuple[MastodonServer, int]]:
    """A local Mastodon server that knows Chen's status 1, our account on it, and the
    conversation about the status (its id)."""
    with mastodon_server() as server:
        server.know(CHEN_STATUS.format(n=1), "109999")
        yield (
            server,
            mastodon_conversation(engine, settings, workspace_id, server.base, server.token, text),
        )
