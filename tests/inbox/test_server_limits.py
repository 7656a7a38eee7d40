"""A Mastodon reply is held to its own server's length limit, read from the server over HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from hubbub.core.clock import utcnow
from hubbub.inbox import actions, limits, queries
from hubbub.inbox.models import OutboundReply
from hubbub.inbox.outbound import send_reply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.inbox.conftest import COMPLAINT, mastodon_complaint, mastodon_conversation
from tests.inbox.servers import MastodonServer

#: What Mastodon counts of the "@chen@mastodon.example " the channel puts in front.
MENTION = len("@chen ")


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.model_copy(update={"http_timeout_seconds": 2.0})


@pytest.fixture
def mastodon(
    engine: Engine, workspace_id: int, settings: Settings
) -> Iterator[tuple[MastodonServer, int]]:
    with mastodon_complaint(engine, settings, workspace_id) as found:
        yield found


def _queue(
    engine: Engine, settings: Settings, workspace_id: int, conversation_id: int, body: str
) -> int:
    with transaction(engine) as session:
        found = queries.conversation(session, workspace_id, conversation_id)
        assert found is not None
        return actions.queue_reply(session, found, body, settings=settings).id


def _send(engine: Engine, settings: Settings, reply_id: int, **kw: object) -> OutboundReply:
    return asyncio.run(send_reply(engine, settings, reply_id, **kw))  # type: ignore[arg-type]


def _instance_reads(server: MastodonServer) -> list[str]:
    return [r.path for r in server.requests if r.path.endswith("/instance")]


def test_a_server_allowing_5000_takes_a_reply_of_1000_and_is_asked_once(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    server.max_characters = 5000
    body = "x" * 1000
    first = _queue(engine, quick, workspace_id, conversation_id, body)
    second = _queue(engine, quick, workspace_id, conversation_id, body + " again")
    assert _send(engine, quick, first).state == "sent"
    assert _send(engine, quick, second).state == "sent"
    posted = [p.body["status"] for p in server.posts("POST", "/api/v1/statuses")]
    assert posted == [f"@chen@mastodon.example {body}", f"@chen@mastodon.example {body} again"]
    # Two replies queued and sent: the server was asked once, the answer kept.
    assert _instance_reads(server) == ["/api/v2/instance"]
    assert (
        "Authorization"
        not in next(r for r in server.requests if r.path.endswith("instance")).headers
    )

    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, quick, workspace_id, conversation_id, "y" * (5001 - MENTION))
    assert "at most 5000 characters" in refused.value.detail
    assert "this one has 5001" in refused.value.detail


def test_a_server_allowing_500_refuses_501_saying_whose_limit_it_is(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, quick, workspace_id, conversation_id, "x" * (501 - MENTION))
    assert "at most 500 characters" in refused.value.detail
    assert "this one has 501," in refused.value.detail
    assert refused.value.detail.endswith(
        f"The limit is the server's own, read from {server.base}/api/v2/instance"
    )
    assert _queue(engine, quick, workspace_id, conversation_id, "x" * (500 - MENTION))


def test_the_sender_holds_a_reply_to_the_limit_the_server_has_when_sending(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    server.max_characters = 5000
    reply_id = _queue(engine, quick, workspace_id, conversation_id, "x" * 1000)
    # The admin lowers the limit; a sender that reads it anew (another process) must not post.
    server.max_characters = 500
    limits.forget(server.base)
    refused = _send(engine, quick, reply_id)
    assert refused.state == "failed" and refused.retry_at is None
    assert refused.last_error is not None
    assert "takes 500 (the server's own" in refused.last_error
    assert server.posts("POST", "/api/v1/statuses") == []


def test_a_sender_that_cannot_read_the_limit_tries_again_later_instead_of_refusing(
    engine: Engine, workspace_id: int, quick: Settings
) -> None:
    with mastodon_complaint(engine, quick, workspace_id) as (server, conversation_id):
        server.max_characters = 5000
        reply_id = _queue(engine, quick, workspace_id, conversation_id, "x" * 1000)
    limits.forget(server.base)  # the worker, in a process of its own, has not read it yet
    waiting = _send(engine, quick, reply_id)
    assert waiting.state == "failed" and waiting.retry_at is not None  # transient: retried
    assert "cannot read the server's length limit" in (waiting.last_error or "")


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_unreachable_server_falls_back_to_500_and_says_so(
    engine: Engine, workspace_id: int, quick: Settings
) -> None:
    base = _closed_port()
    limits.forget(base)
    conversation_id = mastodon_conversation(
        engine, quick, workspace_id, base, "good-token", COMPLAINT
    )
    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, quick, workspace_id, conversation_id, "x" * (501 - MENTION))
    assert "at most 500 characters" in refused.value.detail
    assert f"The limit is Mastodon's default: {base} could not be asked (" in refused.value.detail
    assert _queue(engine, quick, workspace_id, conversation_id, "x" * (500 - MENTION))


def test_a_server_that_does_not_answer_is_waited_for_briefly_once(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    timeout = 3.0  # the default (tests otherwise wait longer: a loaded machine is slow)
    impatient = quick.model_copy(update={"mastodon_limits_timeout_seconds": timeout})
    server.instance_delay = timeout + 2
    started = time.monotonic()
    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, impatient, workspace_id, conversation_id, "x" * 600)
    assert time.monotonic() - started < timeout + 1.5
    assert f"{server.base} did not answer within 3 s" in refused.value.detail
    started = time.monotonic()
    assert _queue(engine, impatient, workspace_id, conversation_id, "x" * 100)  # failure kept
    # Not asked again: no second wait for the timeout (a loaded machine may take ~1 s anyway).
    assert time.monotonic() - started < timeout
    assert _instance_reads(server) == ["/api/v2/instance"]


def test_a_server_without_instance_documents_gets_500_and_the_message_says_so(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    server.instance_versions = ()
    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, quick, workspace_id, conversation_id, "x" * (501 - MENTION))
    assert refused.value.detail.endswith(
        f"The limit is Mastodon's default: {server.base} does not say its own "
        "(HTTP 404 from /api/v2/instance, HTTP 404 from /api/v1/instance)"
    )
    assert _instance_reads(server) == ["/api/v2/instance", "/api/v1/instance"]


@pytest.mark.parametrize("old_v1", [False, True], ids=["configuration", "max_toot_chars"])
def test_a_server_older_than_v2_is_read_from_v1(
    engine: Engine,
    workspace_id: int,
    quick: Settings,
    mastodon: tuple[MastodonServer, int],
    old_v1: bool,
) -> None:
    server, conversation_id = mastodon
    server.instance_versions = ("v1",)
    server.old_v1 = old_v1
    server.max_characters = 1000
    reply_id = _queue(engine, quick, workspace_id, conversation_id, "x" * (1000 - MENTION))
    assert _send(engine, quick, reply_id).state == "sent"
    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, quick, workspace_id, conversation_id, "x" * (1001 - MENTION))
    assert refused.value.detail.endswith(f"read from {server.base}/api/v1/instance")
    assert _instance_reads(server) == ["/api/v2/instance", "/api/v1/instance"]


def test_a_link_counts_as_the_server_reserves_for_it(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    server.characters_reserved_per_url = 40
    link = "https://shop.acme.com/returns/" + "r" * 60
    room = 500 - MENTION - 40 - 1
    with pytest.raises(actions.InboxError, match="a link counts as 40") as refused:
        _queue(engine, quick, workspace_id, conversation_id, f"{link} " + "y" * (room + 1))
    assert "this one has 501," in refused.value.detail
    reply_id = _queue(engine, quick, workspace_id, conversation_id, f"{link} " + "y" * room)
    assert _send(engine, quick, reply_id).state == "sent"


def test_the_limit_is_read_again_after_a_day(
    quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, _conversation_id = mastodon
    now = utcnow()
    assert limits.server_limits(quick, server.base, now=now).max_chars == 500
    server.max_characters = 5000
    later = now + limits.FRESH_FOR - timedelta(minutes=1)
    assert limits.server_limits(quick, server.base, now=later).max_chars == 500  # kept
    fresh = limits.server_limits(quick, server.base, now=now + limits.FRESH_FOR)
    assert fresh.max_chars == 5000 and fresh.answered
    assert len(_instance_reads(server)) == 2
    # A failed refresh keeps the last answer for a short while, then asks again.
    server.instance_status = 503  # down for maintenance when the day is over
    refresh = now + 2 * limits.FRESH_FOR
    kept = limits.server_limits(quick, server.base, now=refresh)
    assert kept.max_chars == 5000 and kept.answered
    assert limits.server_limits(quick, server.base, now=refresh + timedelta(minutes=1)) == kept
    server.instance_status = None
    server.max_characters = 800
    again = limits.server_limits(quick, server.base, now=refresh + limits.FAILED_FOR)
    assert again.max_chars == 800
    assert len(_instance_reads(server)) == 4


def test_a_long_reply_to_a_server_on_a_refused_address_is_refused_for_good(
    engine: Engine,
    workspace_id: int,
    quick: Settings,
    mastodon: tuple[MastodonServer, int],
) -> None:
    server, conversation_id = mastodon
    server.max_characters = 5000
    reply_id = _queue(engine, quick, workspace_id, conversation_id, "x" * 1000)
    strict = quick.model_copy(update={"allowed_private_hosts": []})  # no loopback
    limits.forget(server.base)
    refused = _send(engine, strict, reply_id)
    assert refused.state == "failed" and refused.retry_at is None  # asking again won't help
    assert "non-public" in (refused.last_error or "")
    assert server.posts("POST", "/api/v1/statuses") == []
