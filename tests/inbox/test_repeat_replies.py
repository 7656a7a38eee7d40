"""A second submit of the same reply (a reload gave the form a new key) returns the first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from hubbub.accounts.actions import Actor
from hubbub.inbox import actions
from hubbub.inbox.models import Conversation, OutboundReply
from hubbub.store.engine import transaction
from tests.inbox.conftest import make_user, store
from tests.support.factories import example_post

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("brand")]

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"
ANSWER = "So sorry! A new pair is on its way."
WINDOW = actions.REPEAT_WINDOW


@pytest.fixture
def conversation_id(engine: Engine, workspace_id: int) -> int:
    ids = store(engine, workspace_id, "bluesky", [example_post(1, "amira", COMPLAINT)])
    with transaction(engine) as session:
        (found,) = actions.open_conversations_for(session, workspace_id, list(ids.values()))
        return found.id


def _submit(
    engine: Engine,
    conversation_id: int,
    user_id: int | None,
    body: str = ANSWER,
    *,
    key: str | None = None,
    window: timedelta | None = WINDOW,
) -> actions.QueuedReply:
    with transaction(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return actions.submit_reply(
            session,
            found,
            body,
            idempotency_key=key,
            repeat_window=window,
            actor=Actor(user_id=user_id),
        )


def _count(engine: Engine, conversation_id: int) -> int:
    with transaction(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboundReply)
                .where(OutboundReply.conversation_id == conversation_id)
            )
            or 0
        )


def _set(engine: Engine, reply_id: int, **values: object) -> None:
    with transaction(engine) as session:
        session.execute(update(OutboundReply).where(OutboundReply.id == reply_id).values(values))


def test_the_same_text_again_with_a_new_key_returns_the_queued_reply(
    engine: Engine, workspace_id: int, conversation_id: int
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    first = _submit(engine, conversation_id, ana, key="page-load-1")
    again = _submit(engine, conversation_id, ana, f"  {ANSWER}\n", key="page-load-2")
    assert not first.repeated and again.repeated
    assert again.reply.id == first.reply.id
    assert _count(engine, conversation_id) == 1


@pytest.mark.parametrize(
    ("state", "retry", "repeated"),
    [
        ("sending", False, True),
        ("sent", False, True),
        ("rate_limited", True, True),
        ("failed", True, True),  # retried by the worker: still on its way
        ("failed", False, False),  # refused for good: sending it again is deliberate
    ],
)
def test_a_reply_on_its_way_or_sent_counts_a_refused_one_does_not(
    engine: Engine,
    workspace_id: int,
    conversation_id: int,
    state: str,
    retry: bool,
    repeated: bool,
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    first = _submit(engine, conversation_id, ana)
    when = first.reply.created_at + timedelta(minutes=1)
    _set(engine, first.reply.id, state=state, retry_at=when if retry else None)
    again = _submit(engine, conversation_id, ana)
    assert again.repeated is repeated
    assert (again.reply.id == first.reply.id) is repeated
    assert _count(engine, conversation_id) == (1 if repeated else 2)


def test_different_text_another_person_or_an_old_reply_queue_a_new_one(
    engine: Engine, workspace_id: int, conversation_id: int
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    ben = make_user(engine, workspace_id, "ben@example.com")
    first = _submit(engine, conversation_id, ana)
    assert not _submit(engine, conversation_id, ana, ANSWER + " Tracking follows.").repeated
    assert not _submit(engine, conversation_id, ben).repeated
    assert _count(engine, conversation_id) == 3
    _set(engine, first.reply.id, created_at=first.reply.created_at - WINDOW)
    later = _submit(engine, conversation_id, ana)
    assert _count(engine, conversation_id) == 4
    assert not later.repeated and later.reply.id != first.reply.id


def test_explicit_keys_alone_decide_without_a_window(
    engine: Engine, workspace_id: int, conversation_id: int
) -> None:
    """The API's contract: a new key is a new reply, the same key the same reply."""
    ana = make_user(engine, workspace_id, "ana@example.com")
    one = _submit(engine, conversation_id, ana, key="k1", window=None)
    two = _submit(engine, conversation_id, ana, key="k2", window=None)
    same = _submit(engine, conversation_id, ana, "other text", key="k1", window=None)
    assert one.reply.id != two.reply.id
    assert same.repeated and same.reply.id == one.reply.id
    assert _count(engine, conversation_id) == 2
