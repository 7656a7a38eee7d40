"""Events from the inbox actions, alert firing and the worker tick arrive at a real receiver."""

from __future__ import annotations

import json
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import add_member, create_user
from hubbub.alerts.actions import handle_alert
from hubbub.core.clock import utcnow
from hubbub.core.items import RawEvent
from hubbub.inbox import actions
from hubbub.inbox.models import Conversation
from hubbub.listening.actions import add_topic
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, Target
from hubbub.store.engine import transaction
from hubbub.webhooks.actions import add_endpoint
from hubbub.webhooks.delivery import verify
from hubbub.webhooks.models import WebhookDelivery
from hubbub.worker import Pipeline
from tests.support.factories import jsonl_line
from tests.web.conftest import open_conversation
from tests.webhooks.conftest import Receiver, drain


def _bodies(receiver: Receiver) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in receiver.requests]


def _subscribe(engine: Engine, settings: Settings, workspace_id: int, url: str) -> str:
    with transaction(engine) as session:
        return add_endpoint(session, settings, workspace_id, url)[1]


def test_conversation_events_from_the_inbox_actions(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    secret = _subscribe(engine, fast, workspace_id, receiver.url)
    conversation_id = open_conversation(engine, fast, workspace_id, 7, "help me with the skates")
    with transaction(engine) as session:
        agent = create_user(session, "ana@example.com", "correct horse battery staple")
        add_member(session, workspace_id, agent, "agent")
        agent_id = agent.id
    with transaction(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        actions.assign(session, found, agent_id)
        actions.queue_reply(session, found, "Sorry about that, a new pair is on its way")
        actions.set_status(session, found, "waiting")  # not an event
        actions.set_status(session, found, "resolved")
    drain(engine, fast)
    bodies = _bodies(receiver)
    assert [b["type"] for b in bodies] == [
        "conversation.created",
        "conversation.assigned",
        "conversation.replied",
        "conversation.resolved",
    ]
    assert [r.headers["x-hubbub-event"] for r in receiver.requests] == [b["type"] for b in bodies]
    for request in receiver.requests:
        headers = request.headers
        assert verify(
            secret, headers["x-hubbub-timestamp"], request.body, headers["x-hubbub-signature"]
        )
    created, assigned, replied, resolved = (b["data"] for b in bodies)
    assert isinstance(created, dict) and created["conversation"]["id"] == conversation_id
    assert isinstance(assigned, dict) and assigned["to"] == agent_id
    assert assigned["conversation"]["assignee_user_id"] == agent_id
    assert isinstance(replied, dict) and replied["reply"]["body"].startswith("Sorry about that")
    assert isinstance(resolved, dict) and resolved["from"] == "waiting"
    assert resolved["conversation"]["status"] == "resolved"
    assert len({r.headers["x-hubbub-delivery"] for r in receiver.requests}) == 4


def test_a_rolled_back_inbox_action_sends_nothing(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    conversation_id = open_conversation(engine, fast, workspace_id, 8, "help me with the skates")
    _subscribe(engine, fast, workspace_id, receiver.url)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        actions.set_status(session, found, "resolved")
        raise RuntimeError("a later step of the request failed")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        row = session.get(Conversation, conversation_id)
        assert row is not None and row.status != "resolved"
    drain(engine, fast)
    assert receiver.requests == []


def test_a_fired_alert_is_sent_once_even_when_handled_twice(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _subscribe(engine, fast, workspace_id, receiver.url)
    alert = {
        "kind": "volume_spike",
        "series": "skates",
        "topic": "skates",
        "severity": "high",
        "time": "2026-11-26T01:00:00+00:00",
    }
    for _ in range(2):  # a re-delivered alert is the same alert
        with transaction(engine) as session:
            handle_alert(session, workspace_id, alert, fast)
    drain(engine, fast)
    [body] = _bodies(receiver)
    assert body["type"] == "alert.fired"
    assert body["data"] == {"alert": alert}


def _event(n: int, text: str, followers: int = 40) -> RawEvent:
    created = (utcnow() - timedelta(minutes=60 - n)).isoformat()
    line = orjson.loads(jsonl_line(n, text=text, created_at=created))
    line["author"]["followers"] = followers
    return RawEvent(payload=orjson.dumps(line), format="jsonl")


def test_the_worker_tick_sends_what_its_jobs_raised(
    engine: Engine, settings: Settings, workspace_id: int, receiver: Receiver
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "product")
    _subscribe(engine, settings, workspace_id, receiver.url)
    pipeline = Pipeline(engine, settings)
    pipeline.tick()
    Ingestor(engine, settings).ingest(
        Target(workspace_id),
        [
            _event(1, "How do I reset the rocket skates? The app keeps crashing, please help"),
            _event(2, "Just tried the rocket skates downtown", followers=250_000),
        ],
    )
    result = pipeline.tick()
    assert result.errors == {}
    types = [b["type"] for b in _bodies(receiver)]
    assert "conversation.created" in types and "alert.fired" in types
    assert result.webhooks_delivered == len(types) == result.conversations + result.alerts
    assert pipeline.tick().webhooks_delivered == 0
