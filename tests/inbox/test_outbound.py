"""Replies reach local servers speaking the Mastodon and Bluesky APIs, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from hubbub.core.clock import utcnow
from hubbub.core.items import AuthorRef
from hubbub.inbox import actions, queries
from hubbub.inbox.models import Conversation, OutboundReply
from hubbub.inbox.outbound import comparable, record_key, send_due_replies, send_reply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.inbox.conftest import (
    ACME_DID,
    ACME_MASTODON,
    CHEN_STATUS,
    brand_post,
    bsky,
    chen_status,
    mastodon_complaint,
    store,
)
from tests.inbox.servers import BlueskyServer, MastodonServer, bluesky_server
from tests.support.factories import example_post

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"
ANSWER = "So sorry to hear that! We are sending a new pair today."


@pytest.fixture
def quick(settings: Settings) -> Settings:
    """The test settings (loopback allowed) with an HTTP timeout well under the servers'
    hang, and well over a request's time on a loaded CI machine (0.5 s was not)."""
    return settings.model_copy(update={"http_timeout_seconds": 2.0})


@pytest.fixture
def mastodon(engine: Engine, workspace_id: int, settings: Settings) -> tuple[MastodonServer, int]:
    """A Mastodon server, our account on it, and a conversation about Chen's complaint."""
    with mastodon_complaint(engine, settings, workspace_id, COMPLAINT) as found:
        yield found  # type: ignore[misc]


def _queue(
    engine: Engine, workspace_id: int, conversation_id: int, body: str = ANSWER, **kw: object
) -> int:
    with transaction(engine) as session:
        found = queries.conversation(session, workspace_id, conversation_id)
        assert found is not None
        return actions.queue_reply(session, found, body, **kw).id  # type: ignore[arg-type]


def _send(engine: Engine, settings: Settings, reply_id: int, **kw: object) -> OutboundReply:
    return asyncio.run(send_reply(engine, settings, reply_id, **kw))  # type: ignore[arg-type]


def _outcomes(engine: Engine, reply_id: int) -> list[str]:
    with transaction(engine) as session:
        return [a.outcome for a in queries.attempts_of(session, reply_id)]


def test_mastodon_reply_is_posted_once_when_the_first_answer_times_out(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    server.faults = ["hang"]  # the server makes the post, then answers after the client gave up
    reply_id = _queue(engine, workspace_id, conversation_id)

    first = _send(engine, quick, reply_id)
    assert first.state == "failed" and first.attempts == 1 and first.retry_at is not None
    assert len(server.posts("POST", "/api/v1/statuses")) == 1 and len(server.statuses) == 1

    second = _send(engine, quick, reply_id, now=first.retry_at + timedelta(seconds=1))
    assert second.state == "sent" and second.attempts == 2
    assert second.remote_id == server.statuses[0]["id"]
    assert second.remote_url == server.statuses[0]["url"]
    assert len(server.posts("POST", "/api/v1/statuses")) == 1  # the retry found it, posted nothing
    assert _outcomes(engine, reply_id) == ["transient", "found_existing"]

    (post,) = server.posts("POST", "/api/v1/statuses")
    assert post.headers["Idempotency-Key"] == second.idempotency_key
    assert post.body == {"status": f"@chen@mastodon.example {ANSWER}", "in_reply_to_id": "109999"}

    before = len(server.requests)
    assert _send(engine, quick, reply_id, now=utcnow() + timedelta(days=1)).state == "sent"
    assert len(server.requests) == before  # a sent reply is never tried again
    with transaction(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None and found.first_responded_at is not None
        assert found.status == "waiting"


def test_mastodon_rate_limit_becomes_rate_limited_with_its_retry_time(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    reset = (utcnow() + timedelta(minutes=5)).replace(microsecond=0)
    server.faults = ["429"]
    server.limit_headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
    }
    reply_id = _queue(engine, workspace_id, conversation_id)

    limited = _send(engine, quick, reply_id)
    assert limited.state == "rate_limited"
    assert limited.retry_at is not None and abs((limited.retry_at - reset).total_seconds()) < 5
    posts = len(server.posts("POST", "/api/v1/statuses"))
    assert _send(engine, quick, reply_id).state == "rate_limited"  # not due yet: nothing sent
    assert len(server.posts("POST", "/api/v1/statuses")) == posts

    sent = _send(engine, quick, reply_id, now=reset + timedelta(seconds=1))
    assert sent.state == "sent" and len(server.statuses) == 1
    assert _outcomes(engine, reply_id) == ["rate_limited", "created"]


def test_mastodon_refused_token_becomes_needs_credentials_until_fixed(
    engine: Engine,
    workspace_id: int,
    quick: Settings,
    settings: Settings,
    mastodon: tuple[MastodonServer, int],
) -> None:
    server, conversation_id = mastodon
    server.token = "rotated-token"  # ours no longer works
    reply_id = _queue(engine, workspace_id, conversation_id)
    refused = _send(engine, quick, reply_id)
    assert refused.state == "needs_credentials"
    assert (
        refused.last_error and "401" in refused.last_error and "rotated" not in refused.last_error
    )

    with transaction(engine) as session:
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
    fixed = _send(engine, quick, reply_id)
    assert fixed.state == "sent" and len(server.statuses) == 1


def test_no_reply_to_our_own_post(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    acme = AuthorRef(native_id=ACME_MASTODON, handle="acme")
    ours = store(
        engine,
        workspace_id,
        "mastodon",
        [chen_status(5, "We are on it", author=acme, reply_to=CHEN_STATUS.format(n=1))],
    )
    with transaction(engine) as session:
        actions.open_conversations_for(session, workspace_id, list(ours.values()))
    reply_id = _queue(
        engine, workspace_id, conversation_id, in_reply_to_post_id=next(iter(ours.values()))
    )
    before = len(server.requests)
    refused = _send(engine, quick, reply_id)
    assert refused.state == "failed" and "our own" in (refused.last_error or "")
    assert len(server.requests) == before


def test_private_addresses_stay_refused_without_an_explicit_allow(
    engine: Engine, workspace_id: int, settings: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    strict = settings.model_copy(update={"allowed_private_hosts": []})  # same key, no loopback
    reply_id = _queue(engine, workspace_id, conversation_id)
    result = _send(engine, strict, reply_id)
    assert result.state == "failed" and "non-public" in (result.last_error or "")
    assert server.posts("POST", "/api/v1/statuses") == []


@pytest.fixture
def bluesky(engine: Engine, workspace_id: int, settings: Settings) -> tuple[BlueskyServer, int]:
    with bluesky_server() as server:
        with transaction(engine) as session:
            actions.add_account(
                session,
                settings,
                workspace_id,
                "bluesky",
                ACME_DID,
                server.handle,
                service_url=server.base,
                secrets={"app_password": server.password},
            )
        ids = store(engine, workspace_id, "bluesky", [example_post(1, "amira", COMPLAINT)])
        with transaction(engine) as session:
            (found,) = actions.open_conversations_for(session, workspace_id, list(ids.values()))
            conversation_id = found.id
        yield server, conversation_id  # type: ignore[misc]


def test_bluesky_retry_that_conflicts_is_sent_once(
    engine: Engine, workspace_id: int, quick: Settings, bluesky: tuple[BlueskyServer, int]
) -> None:
    server, conversation_id = bluesky
    server.faults = ["hang"]
    server.stale_reads = 1  # the check before the retry reads a replica that lags behind
    reply_id = _queue(engine, workspace_id, conversation_id)

    first = _send(engine, quick, reply_id)
    assert first.state == "failed" and len(server.records) == 1
    second = _send(engine, quick, reply_id, now=first.retry_at + timedelta(seconds=1))  # type: ignore[operator]
    assert second.state == "sent"
    assert len(server.records) == 1
    assert len(server.posts("POST", "/xrpc/com.atproto.repo.createRecord")) == 2  # 2nd conflicted
    assert _outcomes(engine, reply_id) == ["transient", "conflict_found"]
    (rkey,) = server.records
    assert rkey == record_key(second.idempotency_key, second.created_at)
    assert second.remote_id == f"at://{server.did}/app.bsky.feed.post/{rkey}"


def test_bluesky_reply_names_its_parent_and_root(
    engine: Engine, workspace_id: int, quick: Settings, bluesky: tuple[BlueskyServer, int]
) -> None:
    server, conversation_id = bluesky
    reply_id = _queue(engine, workspace_id, conversation_id)
    sent = _send(engine, quick, reply_id)
    assert sent.state == "sent" and _outcomes(engine, reply_id) == ["created"]
    (record,) = server.records.values()
    assert record["text"] == ANSWER
    assert record["reply"]["parent"]["uri"] == bsky(1)
    assert record["reply"]["parent"]["cid"].startswith("bafy")  # from app.bsky.feed.getPosts
    assert record["reply"]["root"] == record["reply"]["parent"]
    (rkey,) = server.records
    assert len(rkey) == 13 and rkey[0] in "234567abcdefghij"  # a TID


def test_bluesky_rate_limit_and_wrong_app_password(
    engine: Engine,
    workspace_id: int,
    quick: Settings,
    settings: Settings,
    bluesky: tuple[BlueskyServer, int],
) -> None:
    server, conversation_id = bluesky
    reset = int((utcnow() + timedelta(seconds=120)).timestamp())
    server.faults = ["429"]
    server.limit_headers = {
        "RateLimit-Limit": "5000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(reset),
    }
    reply_id = _queue(engine, workspace_id, conversation_id)
    limited = _send(engine, quick, reply_id)
    assert limited.state == "rate_limited" and limited.retry_at is not None
    assert abs(limited.retry_at.timestamp() - reset) < 5

    server.password = "changed"
    locked = _send(engine, quick, reply_id, now=limited.retry_at + timedelta(seconds=1))
    assert locked.state == "needs_credentials"
    assert server.records == {}
    with transaction(engine) as session:
        actions.add_account(
            session,
            settings,
            workspace_id,
            "bluesky",
            ACME_DID,
            server.handle,
            service_url=server.base,
            secrets={"app_password": "changed"},
        )
    assert _send(engine, quick, reply_id).state == "sent" and len(server.records) == 1


def test_same_idempotency_key_queues_one_reply(
    engine: Engine, workspace_id: int, bluesky: tuple[BlueskyServer, int]
) -> None:
    _, conversation_id = bluesky
    first = _queue(engine, workspace_id, conversation_id, idempotency_key="web-form-123")
    assert _queue(engine, workspace_id, conversation_id, idempotency_key="web-form-123") == first
    assert brand_post(1, "x").native_id.startswith("at://")


def test_a_sender_that_died_mid_send_is_taken_over_after_the_lease(
    engine: Engine,
    workspace_id: int,
    quick: Settings,
    mastodon: tuple[MastodonServer, int],
) -> None:
    server, conversation_id = mastodon
    reply_id = _queue(engine, workspace_id, conversation_id)
    with transaction(engine) as session:  # a sender claims the reply and then dies
        job = actions.claim_reply(session, quick, reply_id)
        assert (
            job is not None
            and job.attempt == 1
            and job.credentials == {"access_token": server.token}
        )
    assert _send(engine, quick, reply_id).state == "sending"  # still leased: nothing sent
    assert server.requests == []
    later = _send(
        engine, quick, reply_id, now=utcnow() + actions.SENDING_LEASE + timedelta(seconds=1)
    )
    assert later.state == "sent" and later.attempts == 2
    # attempt 2 looked for an earlier post first (none), then made one
    paths = [(r.method, r.path) for r in server.requests]
    assert ("GET", "/api/v1/accounts/4242/statuses") in paths
    assert paths[-1] == ("POST", "/api/v1/statuses")
    assert _outcomes(engine, reply_id) == ["created"]


def test_the_worker_sends_due_replies_once_and_retries_only_when_due(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    """A reply queued from the web reaches the network with no command run: the pipeline's
    ``replies`` job sends it; rate-limited ones wait for their time; sent ones are left."""
    from hubbub.worker import Pipeline

    server, conversation_id = mastodon
    pipeline = Pipeline(engine, quick)
    server.faults = ["429"]
    server.limit_headers = {"Retry-After": "120"}
    limited = _queue(engine, workspace_id, conversation_id, idempotency_key="web-1")
    first = pipeline.tick()
    assert first.errors == {} and first.replies_sent == 0
    with transaction(engine) as session:
        reply = session.get(OutboundReply, limited)
        assert reply is not None and reply.state == "rate_limited"
        retry_at = reply.retry_at
    assert retry_at is not None
    assert pipeline.tick().replies_sent == 0  # not due yet: the server is not asked again
    assert len(server.posts("POST", "/api/v1/statuses")) == 1

    result = asyncio.run(
        send_due_replies(engine, quick, workspace_id, now=retry_at + timedelta(seconds=1))
    )
    assert (result.tried, result.sent) == (1, 1)
    assert len(server.statuses) == 1
    assert pipeline.tick().replies_sent == 0  # sent: never tried again
    assert len(server.statuses) == 1


def test_a_reply_that_looks_like_markup_is_recognised_in_the_status_the_server_made() -> None:
    content = (
        '<p><span class="h-card"><a href="https://mastodon.example/@chen">@<span>chen</span>'
        "</a></span> use &lt;b&gt; &amp; co</p>"
    )
    assert comparable(content, markup=True) == comparable("@chen@mastodon.example use <b> & co")
    assert comparable("use <b> & co") != comparable("use  & co")
    assert comparable("<p>first</p><p>second<br>third</p>", markup=True) == comparable(
        "first\n\nsecond\nthird"
    )


def test_a_reply_too_long_for_the_network_is_refused_when_queued(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    # The channel puts "@chen@mastodon.example " in front; Mastodon counts it as "@chen ".
    counted = len("@chen ")
    with pytest.raises(actions.InboxError) as refused:
        _queue(engine, workspace_id, conversation_id, "x" * 715, settings=quick)  # 721 counted
    assert str(refused.value.detail) == (
        "a reply on mastodon has at most 500 characters (a link counts as 23, a mention of a "
        "remote account as its @name part); this one has 721, "
        "with @chen@mastodon.example put in front (counted as @chen). "
        f"The limit is the server's own, read from {server.base}/api/v2/instance"
    )
    with pytest.raises(actions.InboxError, match="this one has 501,"):
        _queue(engine, workspace_id, conversation_id, "x" * (501 - counted))
    with transaction(engine) as session:
        assert queries.replies_of(session, conversation_id) == []
    # Exactly at the limit as counted: queued, and the sender's own guard lets it through.
    fits = _queue(engine, workspace_id, conversation_id, "x" * (500 - counted))
    assert _send(engine, quick, fits).state == "sent"
    (post,) = server.posts("POST", "/api/v1/statuses")
    assert post.body["status"] == "@chen@mastodon.example " + "x" * (500 - counted)


def test_a_reply_with_a_long_link_is_queued_and_sent_as_mastodon_counts_it(
    engine: Engine, workspace_id: int, quick: Settings, mastodon: tuple[MastodonServer, int]
) -> None:
    server, conversation_id = mastodon
    link = "https://shop.acme.com/returns?" + "&".join(f"utm_{i}=campaign{i}" for i in range(25))
    assert len(link) > 400
    body = f"So sorry! Start a return here: {link} and we ship a new pair today."
    assert len("@chen@mastodon.example " + body) > 500  # too long counted in code points
    reply_id = _queue(engine, workspace_id, conversation_id, body)
    assert _send(engine, quick, reply_id).state == "sent"  # the send guard counts the same
    (post,) = server.posts("POST", "/api/v1/statuses")
    assert post.body["status"] == "@chen@mastodon.example " + body
    # Filled to Mastodon's 500 around the link it still goes; one more character does not.
    room = 500 - len("@chen So sorry!  ") - 23
    with pytest.raises(actions.InboxError, match="this one has 501,"):
        _queue(engine, workspace_id, conversation_id, f"So sorry! {link} " + "y" * (room + 1))
    filled = _queue(engine, workspace_id, conversation_id, f"So sorry! {link} " + "y" * room)
    assert _send(engine, quick, filled).state == "sent"
