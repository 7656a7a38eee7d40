"""A customer deletes the post a conversation is about: the conversation is resolved (saying
why, undoable), its SLA clock stops, replies still to send are discarded rather than sent, and
a thread where the customer still has a post up stays open. Deletes arrive as real events
through the ingestor (as the listener stores them) or ``hubbub import``, and the worker's tick
reacts; a second delete changes nothing.

BASE_TIME is Saturday 2026-07-04 12:00 UTC; without business hours set the team works Monday
to Friday 09:00-17:00 UTC with a 60-minute first-response target, so the posts below are due
Monday 10:00.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.core.clock import utcnow
from hubbub.core.items import RawEvent
from hubbub.inbox import actions, queries
from hubbub.inbox.metrics import response_metrics
from hubbub.inbox.models import Conversation, Note, OutboundReply
from hubbub.inbox.outbound import send_reply
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, Target
from hubbub.store.engine import make_engine, transaction
from hubbub.webhooks.actions import add_endpoint
from hubbub.webhooks.models import WebhookDelivery
from hubbub.worker import Pipeline
from hubbub.workspaces.models import Workspace
from tests.inbox.conftest import (
    CHEN_STATUS,
    brand_post,
    bsky,
    mastodon_conversation,
    store,
)
from tests.inbox.servers import mastodon_server
from tests.support.cli import Invoke, hubbub_cli
from tests.support.factories import BASE_TIME, PERSONAS, example_post, jsonl_line

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"
ANSWER = "So sorry to hear that! We are sending a new pair today."
MONDAY_1100 = BASE_TIME + timedelta(days=2, hours=-1)  # an hour after the posts were due


def bruno(n: int) -> str:
    return f"at://{PERSONAS['bruno']['native_id']}/app.bsky.feed.post/{n:013d}"


def jetstream_delete(native_id: str, at: datetime) -> RawEvent:
    """The Jetstream event Bluesky sends when the author deletes the post."""
    did, collection, rkey = native_id.removeprefix("at://").split("/")
    event = {
        "did": did,
        "time_us": int(at.timestamp() * 1_000_000),
        "kind": "commit",
        "commit": {"rev": "3mptbypcq372f", "operation": "delete", "collection": collection,
                   "rkey": rkey},
    }  # fmt: skip
    return RawEvent(payload=orjson.dumps(event), format="jetstream")


def ingest(engine: Engine, settings: Settings, workspace_id: int, events: list[RawEvent]) -> None:
    """As the live listener stores what a network sends."""
    Ingestor(engine, settings).ingest(Target(workspace_id), events)


def _open(engine: Engine, workspace_id: int, ids: list[int]) -> list[int]:
    with transaction(engine) as session:
        opened = actions.open_conversations_for(session, workspace_id, ids)
        return [c.id for c in opened]


def _get(session: Session, conversation_id: int) -> Conversation:
    found = session.get(Conversation, conversation_id)
    assert found is not None
    return found


def _trail(engine: Engine, workspace_id: int) -> tuple[list[Any], list[str], list[Any]]:
    """Audit entries, notes and webhook deliveries so far: what a repeat must not add to."""
    with Session(engine) as session:
        audit = [
            (a.action, a.target, a.detail)
            for a in session.scalars(
                select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
            )
        ]
        notes = list(session.scalars(select(Note.body).order_by(Note.id)))
        hooks = [
            (d.event_type, d.body["data"])
            for d in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        ]
    return audit, notes, hooks


def _breaching(engine: Engine, workspace_id: int) -> set[int]:
    with Session(engine) as session:
        return {
            c.id
            for c in queries.list_conversations(session, workspace_id, breaching=True, now=utcnow())
        }


@pytest.mark.usefixtures("brand")
def test_a_deleted_post_resolves_its_conversation_once_and_for_all(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:  # the endpoint is closed: deliveries stay pending
        add_endpoint(
            session, settings, workspace_id, "http://127.0.0.1:9/hook",
            events=["conversation.resolved"],
        )  # fmt: skip
    ids = store(
        engine,
        workspace_id,
        "bluesky",
        [example_post(1, "amira", COMPLAINT), example_post(2, "bruno", COMPLAINT)],
    )
    amira, bruno_id = _open(engine, workspace_id, [ids[bsky(1)], ids[bruno(2)]])
    pipeline = Pipeline(engine, settings)
    pipeline.tick()
    assert _breaching(engine, workspace_id) == {amira, bruno_id}  # due Monday 10:00, long past

    # Amira deletes hers before it was due, Bruno his an hour after.
    deletes = [jetstream_delete(bsky(1), BASE_TIME + timedelta(minutes=30))]
    deletes.append(jetstream_delete(bruno(2), MONDAY_1100))
    ingest(engine, settings, workspace_id, deletes)
    assert pipeline.tick().conversations_withdrawn == 2

    with Session(engine) as session:
        for conversation_id in (amira, bruno_id):
            found = _get(session, conversation_id)
            assert found.status == "resolved"
            assert queries.due_at(found) is None  # no clock runs
        assert _get(session, amira).withdrawn_at == BASE_TIME + timedelta(minutes=30)
        assert _get(session, bruno_id).withdrawn_at == MONDAY_1100
        notes = queries.notes_of(session, amira)
        figures = response_metrics(
            session, workspace_id, BASE_TIME, BASE_TIME + timedelta(days=1)
        ).overall
    assert _breaching(engine, workspace_id) == set()
    assert len(notes) == 1 and "the customer deleted the post" in notes[0].body
    assert "Reopen the conversation to undo" in notes[0].body
    audit, _notes, hooks = _trail(engine, workspace_id)
    resolved = [a for a in audit if a[0] == "conversation.status"]
    assert sorted(a[1] for a in resolved) == sorted(f"conversation:{i}" for i in (amira, bruno_id))
    assert all(
        a[2] == {"from": "new", "to": "resolved", "reason": "post_deleted"} for a in resolved
    )
    assert [h[0] for h in hooks] == ["conversation.resolved"] * 2
    assert all(h[1]["reason"] == "post_deleted" and h[1]["from"] == "new" for h in hooks)
    assert all(h[1]["conversation"]["status"] == "resolved" for h in hooks)
    # Amira withdrew her question before it was due: neither in time nor breached. Bruno's
    # was breached already when he deleted it.
    assert (figures.conversations, figures.answered, figures.within_sla) == (2, 0, 0)
    assert (figures.withdrawn, figures.breached, figures.pending) == (1, 1, 0)

    # The same deletes again (a replayed stream, an import of them): nothing changes.
    before = _trail(engine, workspace_id)
    ingest(engine, settings, workspace_id, deletes)
    assert pipeline.tick().conversations_withdrawn == 0
    assert _trail(engine, workspace_id) == before

    # Undo: reopened by hand, it stays open, also for a worker that starts afresh.
    with transaction(engine) as session:
        actions.set_status(session, _get(session, amira), "open")
    pipeline.tick()
    assert Pipeline(engine, settings).tick().conversations_withdrawn == 0
    with Session(engine) as session:
        assert _get(session, amira).status == "open"
        assert len(queries.notes_of(session, amira)) == 1


def test_a_reply_still_queued_for_a_deleted_post_is_discarded_not_sent(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with mastodon_server() as server:
        server.know(CHEN_STATUS.format(n=1), "109999")  # the server could still resolve it
        conversation_id = mastodon_conversation(
            engine, settings, workspace_id, server.base, server.token, COMPLAINT
        )
        pipeline = Pipeline(engine, settings)
        with transaction(engine) as session:
            reply_id = actions.queue_reply(session, _get(session, conversation_id), ANSWER).id
        gone = orjson.loads(jsonl_line(1, network="mastodon", author="chen"))
        gone.update(native_id=CHEN_STATUS.format(n=1), deleted_at=utcnow().isoformat())
        ingest(engine, settings, workspace_id, [RawEvent(orjson.dumps(gone), format="jsonl")])
        result = pipeline.tick()  # deletes are seen before the replies are sent
        assert result.replies_sent == 0 and result.errors == {}
        assert server.requests == []
    with Session(engine) as session:
        reply = session.get(OutboundReply, reply_id)
        assert reply is not None
        assert (reply.state, reply.attempts) == ("discarded", 0)
        assert reply.last_error == actions.PARENT_DELETED
        assert _get(session, conversation_id).status == "resolved"
        discarded = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "reply.discarded")
        ).all()
    assert discarded == [{"reply": reply_id, "from": "queued", "reason": "post_deleted"}]


def test_the_sender_never_sends_to_a_deleted_post_and_agents_are_told_why(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """Before any worker looked at the delete (or for a reply the worker does not reach):
    sending, retrying and replying refuse, with the reason, not with a network error."""
    with mastodon_server() as server:
        server.know(CHEN_STATUS.format(n=1), "109999")
        conversation_id = mastodon_conversation(
            engine, settings, workspace_id, server.base, server.token, COMPLAINT
        )
        with transaction(engine) as session:
            found = _get(session, conversation_id)
            waiting = actions.queue_reply(session, found, ANSWER).id
        gone = orjson.loads(jsonl_line(1, network="mastodon", author="chen"))
        gone.update(native_id=CHEN_STATUS.format(n=1), deleted_at=utcnow().isoformat())
        ingest(engine, settings, workspace_id, [RawEvent(orjson.dumps(gone), format="jsonl")])

        sent = asyncio.run(send_reply(engine, settings, waiting))
        assert (sent.state, sent.last_error) == ("discarded", actions.PARENT_DELETED)
        assert server.requests == []
    with transaction(engine) as session:
        found = _get(session, conversation_id)
        with pytest.raises(actions.InboxError, match="nothing left to reply to"):
            actions.queue_reply(session, found, ANSWER)
        with pytest.raises(actions.InboxError, match="deleted on the network"):
            actions.queue_reply(session, found, ANSWER, in_reply_to_post_id=found.root_post_id)


@pytest.mark.usefixtures("brand")
def test_a_thread_stays_open_while_the_customer_still_has_a_post_up(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """The root deleted, the customer's follow-up still up: the conversation stays open, the
    priority parts read from the deleted words are read from the follow-up, a reply to the
    deleted root is discarded. Deleting the follow-up too resolves it."""
    root = bsky(10)
    first = store(engine, workspace_id, "bluesky", [example_post(10, "amira", COMPLAINT)])
    (conversation_id,) = _open(engine, workspace_id, list(first.values()))
    later = store(
        engine,
        workspace_id,
        "bluesky",
        [
            brand_post(20, "So sorry! DM us your order number", reply_to=root, thread_root=root),
            example_post(
                30, "amira", "sent it, thanks", reply_to=brand_post(20, "").native_id,
                thread_root=root,
            ),
        ],
    )  # fmt: skip
    _open(engine, workspace_id, [later[brand_post(20, "").native_id]])
    _open(engine, workspace_id, [later[bsky(30)]])
    with transaction(engine) as session:
        found = _get(session, conversation_id)
        assert found.status == "open"
        to_root = actions.queue_reply(session, found, ANSWER, in_reply_to_post_id=first[root]).id
        intent_before = next(p for p in found.priority_explanation if p["factor"] == "intent")
        priority_before = found.priority
    assert intent_before["value"] == "complaint"
    pipeline = Pipeline(engine, settings)
    pipeline.tick()

    ingest(engine, settings, workspace_id, [jetstream_delete(root, BASE_TIME + timedelta(hours=1))])
    pipeline.tick()
    with Session(engine) as session:
        found = _get(session, conversation_id)
        reply = session.get(OutboundReply, to_root)
        assert reply is not None and reply.state == "discarded"
        assert found.status == "open" and found.withdrawn_at is None
        assert queries.due_at(found) is not None  # the follow-up still waits for an answer
        parts = {p["factor"]: p for p in found.priority_explanation}
        notes = queries.notes_of(session, conversation_id)
        assert found.priority < priority_before  # "sent it, thanks" is no complaint
    assert parts["intent"]["post"] == later[bsky(30)] and parts["intent"]["value"] != "complaint"
    assert parts["negativity"]["post"] == later[bsky(30)]
    assert len(notes) == 1 and "stays open" in notes[0].body

    before = _trail(engine, workspace_id)
    assert Pipeline(engine, settings).tick().conversations_withdrawn == 0  # a fresh worker
    assert _trail(engine, workspace_id) == before

    ingest(
        engine, settings, workspace_id, [jetstream_delete(bsky(30), BASE_TIME + timedelta(hours=2))]
    )
    assert pipeline.tick().conversations_withdrawn == 1
    with Session(engine) as session:
        found = _get(session, conversation_id)
        assert found.status == "resolved"
        assert found.withdrawn_at == BASE_TIME + timedelta(hours=2)
        assert "all 2 of their posts" in queries.notes_of(session, conversation_id)[-1].body


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(db_url, tmp_path / "home", monkeypatch) as invoke:
        yield invoke


def test_a_delete_imported_with_hubbub_import_resolves_the_conversation(
    hubbub: Invoke, db_url: str, tmp_path: Path
) -> None:
    """``hubbub import`` of the post, ``hubbub worker --once`` (opens the conversation), the
    export line of the deleted post imported, the worker again (a new process: it looks at
    every open conversation once), and the same line once more: nothing more happens."""
    question = {"text": "How do I reset the rocket skates? Please help"}
    posts, deleted = tmp_path / "posts.jsonl", tmp_path / "deleted.jsonl"
    posts.write_bytes(jsonl_line(1, **question) + b"\n")
    gone = {**question, "deleted_at": (BASE_TIME + timedelta(minutes=5)).isoformat()}
    deleted.write_bytes(jsonl_line(1, **gone) + b"\n")
    hubbub("import", str(posts), "--format", "jsonl")
    assert "conversations 1" in hubbub("worker", "--once").output

    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            workspace_id = session.scalars(
                select(Workspace.id).where(Workspace.slug == "default")
            ).one()
            (found,) = session.scalars(select(Conversation))
            assert found.status == "new"
        assert "deletes 1 new" in hubbub("import", str(deleted), "--format", "jsonl").output
        hubbub("worker", "--once")
        with Session(engine) as session:
            found = _get(session, found.id)
            assert found.status == "resolved"
            assert found.withdrawn_at == BASE_TIME + timedelta(minutes=5)
        before = _trail(engine, workspace_id)
        assert (
            "deletes 0 new, 1 duplicate"
            in hubbub("import", str(deleted), "--format", "jsonl").output
        )
        hubbub("worker", "--once")
        assert _trail(engine, workspace_id) == before
        with Session(engine) as session:
            statuses = session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "conversation.status")
            ).all()
            assert session.scalar(select(func.count()).select_from(Note)) == 1
        assert statuses == [{"from": "new", "to": "resolved", "reason": "post_deleted"}]
    finally:
        engine.dispose()
