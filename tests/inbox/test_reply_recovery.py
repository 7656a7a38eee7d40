"""Replies that did not go out: retried now, discarded, or edited and sent again, against a
local server speaking the Mastodon API, and never posted twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from hubbub.accounts.actions import Actor
from hubbub.accounts.models import AuditEntry
from hubbub.core.clock import utcnow
from hubbub.inbox import actions, queries
from hubbub.inbox.delivery import Outcome
from hubbub.inbox.models import OutboundReply
from hubbub.inbox.outbound import SendResult, send_due_replies, send_reply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.inbox.conftest import (
    ACME_MASTODON,
    CHEN_STATUS,
    chen_status,
    make_user,
    mastodon_conversation,
    store,
)
from tests.inbox.servers import MastodonServer, mastodon_server

pytestmark = pytest.mark.db

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"
ANSWER = "So sorry to hear that! We are sending a new pair today."
STATUSES = "/api/v1/statuses"


@pytest.fixture
def quick(settings: Settings) -> Settings:
    """HTTP timeout under the server's hang (see tests/inbox/test_outbound.py)."""
    return settings.model_copy(update={"http_timeout_seconds": 2.0})


@pytest.fixture
def server(engine: Engine, workspace_id: int, settings: Settings) -> Iterator[MastodonServer]:
    """A Mastodon server with our account on it; the conversation is made by :func:`_convo`."""
    with mastodon_server() as running:
        yield running


def _convo(engine: Engine, settings: Settings, workspace_id: int, server: MastodonServer) -> int:
    return mastodon_conversation(
        engine, settings, workspace_id, server.base, server.token, COMPLAINT
    )


def _queue(engine: Engine, workspace_id: int, conversation_id: int, body: str = ANSWER) -> int:
    with transaction(engine) as session:
        found = queries.conversation(session, workspace_id, conversation_id)
        assert found is not None
        return actions.queue_reply(session, found, body).id


def _send(engine: Engine, settings: Settings, reply_id: int, **kw: object) -> OutboundReply:
    return asyncio.run(send_reply(engine, settings, reply_id, **kw))  # type: ignore[arg-type]


def _due(engine: Engine, settings: Settings, workspace_id: int, **kw: object) -> SendResult:
    return asyncio.run(send_due_replies(engine, settings, workspace_id, **kw))  # type: ignore[arg-type]


def _act(
    engine: Engine, workspace_id: int, conversation_id: int, what: str, *args: object, **kw: object
) -> OutboundReply:
    """Run ``actions.<what>_reply`` on the conversation in its own transaction."""
    with transaction(engine) as session:
        found = queries.conversation(session, workspace_id, conversation_id)
        assert found is not None
        done = getattr(actions, f"{what}_reply")(session, found, *args, **kw)
        return done.reply if isinstance(done, actions.QueuedReply) else done  # type: ignore[no-any-return]


def _refused(
    engine: Engine, workspace_id: int, conversation_id: int, what: str, *args: object, **kw: object
) -> actions.InboxError:
    with pytest.raises(actions.InboxError) as refused:
        _act(engine, workspace_id, conversation_id, what, *args, **kw)
    return refused.value


def _state(engine: Engine, reply_id: int) -> OutboundReply:
    with transaction(engine) as session:
        reply = session.get(OutboundReply, reply_id)
        assert reply is not None
        return reply


def test_retry_after_a_timeout_posts_exactly_once(
    engine: Engine, workspace_id: int, settings: Settings, quick: Settings, server: MastodonServer
) -> None:
    """The server made the post but answered too late: the reply waits for its backoff. Retry
    now makes it due at once, and the retry finds the post instead of posting again."""
    server.know(CHEN_STATUS.format(n=1), "109999")
    conversation_id = _convo(engine, settings, workspace_id, server)
    server.faults = ["hang"]
    reply_id = _queue(engine, workspace_id, conversation_id)
    first = _send(engine, quick, reply_id)
    assert first.state == "failed" and first.retry_at is not None and first.retry_at > utcnow()
    assert _due(engine, quick, workspace_id).tried == 0  # not due before its backoff

    retried = _act(engine, workspace_id, conversation_id, "retry", reply_id)
    assert (retried.state, retried.retry_at, retried.attempts) == ("queued", None, 1)
    assert retried.idempotency_key == first.idempotency_key
    twice = _refused(engine, workspace_id, conversation_id, "retry", reply_id)  # a double click
    assert twice.code == "conflict" and "queued already" in twice.detail

    assert _due(engine, quick, workspace_id).sent == 1
    assert _due(engine, quick, workspace_id).tried == 0
    assert len(server.posts("POST", STATUSES)) == 1 and len(server.statuses) == 1
    with transaction(engine) as session:
        outcomes = [a.outcome for a in queries.attempts_of(session, reply_id)]
        audited = list(session.scalars(select(AuditEntry.action)))
    assert outcomes == ["transient", "found_existing"]
    assert "reply.retried" in audited
    sent = _refused(engine, workspace_id, conversation_id, "retry", reply_id)
    assert sent.code == "conflict" and "sent already" in sent.detail


def test_needs_credentials_is_requeued_when_the_credentials_are_fixed(
    engine: Engine, workspace_id: int, settings: Settings, quick: Settings, server: MastodonServer
) -> None:
    server.know(CHEN_STATUS.format(n=1), "109999")
    conversation_id = _convo(engine, settings, workspace_id, server)
    server.token = "rotated-token"  # ours no longer works
    reply_id = _queue(engine, workspace_id, conversation_id)
    assert _due(engine, quick, workspace_id).states == {reply_id: "needs_credentials"}
    later = utcnow() + timedelta(days=1)
    assert _due(engine, quick, workspace_id, now=later).tried == 0  # it waits for a person
    with transaction(engine) as session:  # the admin fixes the token …
        actions.add_account(
            session,
            settings,
            workspace_id,
            "mastodon",
            ACME_MASTODON,
            "acme",
            service_url=server.base,
            secrets={"access_token": "rotated-token"},
        )
        audited = session.scalars(select(AuditEntry.detail).order_by(AuditEntry.id.desc())).first()
    assert audited is not None and audited["requeued"] == 1
    fixed = _state(engine, reply_id)  # … which makes the reply due again, with its own key
    assert (fixed.state, fixed.retry_at, fixed.attempts) == ("queued", None, 1)
    assert _due(engine, quick, workspace_id).states == {reply_id: "sent"}
    assert _due(engine, quick, workspace_id, now=later).tried == 0
    assert len(server.posts("POST", STATUSES)) == 1 and len(server.statuses) == 1
    again = _refused(engine, workspace_id, conversation_id, "retry", reply_id)
    assert again.code == "conflict" and "sent already" in again.detail


def test_a_discarded_reply_is_never_claimed(
    engine: Engine, workspace_id: int, settings: Settings, quick: Settings, server: MastodonServer
) -> None:
    server.know(CHEN_STATUS.format(n=1), "109999")
    conversation_id = _convo(engine, settings, workspace_id, server)
    queued = _queue(engine, workspace_id, conversation_id)
    server.faults = ["429"]
    server.limit_headers = {"Retry-After": "60"}
    limited = _queue(engine, workspace_id, conversation_id, "Another answer, rate limited.")
    assert _send(engine, quick, limited).state == "rate_limited"
    posts = len(server.posts("POST", STATUSES))

    for reply_id in (queued, limited):
        gone = _act(engine, workspace_id, conversation_id, "discard", reply_id)
        assert gone.state == "discarded" and gone.retry_at is None
        again = _refused(engine, workspace_id, conversation_id, "discard", reply_id)
        assert again.code == "conflict" and "discarded" in again.detail
        retry = _refused(engine, workspace_id, conversation_id, "retry", reply_id)
        assert retry.code == "conflict"
    later = utcnow() + timedelta(days=1)
    assert _due(engine, quick, workspace_id, now=later).tried == 0
    assert _send(engine, quick, queued, now=later).state == "discarded"  # claim refused
    assert len(server.posts("POST", STATUSES)) == posts == 1  # only the rate-limited try


def test_a_reply_being_sent_is_neither_discarded_nor_retried(
    engine: Engine, workspace_id: int, settings: Settings, server: MastodonServer
) -> None:
    conversation_id = _convo(engine, settings, workspace_id, server)
    reply_id = _queue(engine, workspace_id, conversation_id)
    start = utcnow()
    with transaction(engine) as session:
        first = actions.claim_reply(session, settings, reply_id, start)
    assert first is not None
    for what in ("discard", "retry", "replace"):
        args = ("New text",) if what == "replace" else ()
        busy = _refused(engine, workspace_id, conversation_id, what, reply_id, *args)
        assert busy.code == "conflict" and "being sent right now" in busy.detail

    # That sender stalls past its lease; a second one takes over and fails for a while. A
    # person discards the reply; the stalled sender's late failure must not bring it back.
    later = start + actions.SENDING_LEASE + timedelta(seconds=1)
    with transaction(engine) as session:
        second = actions.claim_reply(session, settings, reply_id, later)
    assert second is not None
    transient = Outcome("failed", "transient", detail="HTTP 502", retry_after=60)
    with transaction(engine) as session:
        actions.finish_reply(session, reply_id, second.attempt, transient, later)
    _act(engine, workspace_id, conversation_id, "discard", reply_id)
    with transaction(engine) as session:
        actions.finish_reply(session, reply_id, first.attempt, transient, later)
    after = _state(engine, reply_id)
    assert (after.state, after.retry_at) == ("discarded", None)
    with transaction(engine) as session:
        due = queries.due_reply_ids(
            session,
            workspace_id,
            later + timedelta(days=1),
            lease=actions.SENDING_LEASE,
            max_attempts=99,
        )
    assert due == []


def test_a_refused_reply_is_edited_and_sent_again_as_a_new_reply(
    engine: Engine, workspace_id: int, settings: Settings, quick: Settings, server: MastodonServer
) -> None:
    conversation_id = _convo(engine, settings, workspace_id, server)  # the server can't find it
    reply_id = _queue(engine, workspace_id, conversation_id)
    refused = _send(engine, quick, reply_id)
    assert refused.state == "failed" and refused.retry_at is None
    assert "cannot find the post" in (refused.last_error or "")
    assert server.posts("POST", STATUSES) == []
    retry = _refused(engine, workspace_id, conversation_id, "retry", reply_id)
    assert retry.code == "conflict" and "refused for good" in retry.detail

    edited = "So sorry! A new pair ships today, tracking by DM."
    key = {"idempotency_key": "edit-1"}
    new = _act(engine, workspace_id, conversation_id, "replace", reply_id, edited, **key)
    same = _act(engine, workspace_id, conversation_id, "replace", reply_id, edited, **key)
    assert same.id == new.id != reply_id
    assert (new.state, new.body, new.in_reply_to_post_id) == (
        "queued",
        edited,
        refused.in_reply_to_post_id,
    )
    assert new.idempotency_key != refused.idempotency_key
    assert _state(engine, reply_id).state == "discarded"

    server.know(CHEN_STATUS.format(n=1), "109999")  # the post is found now
    assert _due(engine, quick, workspace_id, now=utcnow() + timedelta(days=1)).states == {
        new.id: "sent"
    }
    (post,) = server.posts("POST", STATUSES)
    assert post.body["status"].endswith(edited)
    with transaction(engine) as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.discarded"))
        )
    assert [e.detail for e in entries] == [
        {"reply": reply_id, "from": "failed", "replaced_by": new.id}
    ]


def test_a_reply_that_may_have_reached_the_network_is_not_edited(
    engine: Engine, workspace_id: int, settings: Settings, quick: Settings, server: MastodonServer
) -> None:
    """A first attempt timed out after the server made the post, then the parent vanished: the
    reply ends refused, but its text is there. A new reply would answer twice."""
    server.know(CHEN_STATUS.format(n=1), "109999")
    conversation_id = _convo(engine, settings, workspace_id, server)
    server.faults = ["hang"]
    reply_id = _queue(engine, workspace_id, conversation_id)
    first = _send(engine, quick, reply_id)
    assert first.retry_at is not None
    server.known.clear()
    refused = _send(engine, quick, reply_id, now=first.retry_at + timedelta(seconds=1))
    assert refused.state == "failed" and refused.retry_at is None
    edit = _refused(engine, workspace_id, conversation_id, "replace", reply_id, "Other text")
    assert edit.code == "conflict" and "may have reached the network" in edit.detail
    assert _state(engine, reply_id).state == "failed"
    assert _act(engine, workspace_id, conversation_id, "discard", reply_id).state == "discarded"


def test_only_agents_and_only_this_conversations_replies(
    engine: Engine, workspace_id: int, settings: Settings, server: MastodonServer
) -> None:
    conversation_id = _convo(engine, settings, workspace_id, server)
    reply_id = _queue(engine, workspace_id, conversation_id)
    viewer = Actor(user_id=make_user(engine, workspace_id, "viewer@acme.example", "viewer"))
    for what in ("retry", "discard"):
        denied = _refused(engine, workspace_id, conversation_id, what, reply_id, actor=viewer)
        assert denied.code == "forbidden"
    ids = store(engine, workspace_id, "mastodon", [chen_status(2, COMPLAINT + " again")])
    with transaction(engine) as session:
        (opened,) = actions.open_conversations_for(session, workspace_id, list(ids.values()))
        other = opened.id
    assert other != conversation_id
    missing = _refused(engine, workspace_id, other, "discard", reply_id)
    assert missing.code == "not_found"
    assert _state(engine, reply_id).state == "queued"


def test_two_retries_at_once_change_the_reply_once(
    engine: Engine, workspace_id: int, settings: Settings, quick: Settings, server: MastodonServer
) -> None:
    """Two clicks arriving together: the conditional update lets exactly one through."""
    server.know(CHEN_STATUS.format(n=1), "109999")
    conversation_id = _convo(engine, settings, workspace_id, server)
    server.token = "rotated-token"
    reply_id = _queue(engine, workspace_id, conversation_id)
    assert _send(engine, quick, reply_id).state == "needs_credentials"
    for _round in range(3):
        start = threading.Barrier(2)

        def click(start: threading.Barrier = start) -> str:
            start.wait()
            try:
                _act(engine, workspace_id, conversation_id, "retry", reply_id)
            except actions.InboxError as exc:
                return exc.code
            return "retried"

        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(lambda _n: click(), range(2)))
        assert results == ["conflict", "retried"]
        assert _send(engine, quick, reply_id).state == "needs_credentials"
    with transaction(engine) as session:
        retried = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "reply.retried")
        )
    assert retried == 3
    assert server.posts("POST", STATUSES) == []
