"""A playbook's ``open_case`` opens (or escalates) the inbox conversation of the alert's example
post, in the playbook run's transaction, once per alert however often it runs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.alerts import actions as alert_actions
from hubbub.inbox.actions import ALERT_PRIORITY_POINTS, create_queue
from hubbub.inbox.models import Conversation
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, Target
from hubbub.store.engine import transaction
from tests.support.factories import jsonl_event
from tests.web.conftest import member

pytestmark = pytest.mark.db

PLAYBOOK = """\
name: wheel-recall
trigger: {kind: sentiment_shift, topics: [skates]}
actions:
  - open_case: {priority: urgent, queue: support}
"""


def _alert(example: str) -> dict[str, Any]:
    return {
        "time": "2026-07-04T12:05:00Z",
        "kind": "sentiment_shift",
        "series": "skates/negative",
        "topic": "skates",
        "severity": "high",
        "explanation": {
            "summary": "Negative share of skates at 64% vs 16% baseline",
            "examples": [
                {"post": "https://elsewhere.example/not-stored", "author": "x", "text": "…"},
                {"post": example, "author": "amira", "network": "bluesky", "text": "…"},
            ],
        },
    }


def test_the_alerts_example_post_becomes_an_urgent_case_once(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    Ingestor(engine, settings).ingest(
        Target(workspace_id), [jsonl_event(1, text="my skates' wheels fell off, awful")]
    )
    agent = member(engine, workspace_id, "agent", "agent@acme.example")
    with transaction(engine) as session:
        create_queue(session, workspace_id, "support", [agent])
        alert_actions.add_playbook(session, workspace_id, PLAYBOOK)
    alert = _alert("bluesky:amira:1")
    with transaction(engine) as session:
        (run,) = alert_actions.handle_alert(session, workspace_id, alert, settings)
        (entry,) = run.actions
    assert entry["outcome"] == "ok" and "opened (urgent priority" in entry["detail"]
    with Session(engine) as session:
        (found,) = session.scalars(select(Conversation)).all()
        assert found.reason == "alert" and found.assignee_user_id == agent
        parts = {p["factor"]: p for p in found.priority_explanation}
        assert parts["alert"]["points"] == ALERT_PRIORITY_POINTS["urgent"]
        assert "sentiment_shift on skates (playbook wheel-recall)" in parts["alert"]["value"]
        assert found.priority == pytest.approx(sum(p["points"] for p in parts.values()))
        first_priority = found.priority

    # The same alert stored again runs nothing twice; another alert escalates the same case.
    with transaction(engine) as session:
        assert alert_actions.handle_alert(session, workspace_id, alert, settings) == []
        (again,) = alert_actions.handle_alert(
            session, workspace_id, {**alert, "time": "2026-07-04T13:05:00Z"}, settings
        )
    assert "escalated" in again.actions[0]["detail"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
        (found,) = session.scalars(select(Conversation)).all()
        assert [p["factor"] for p in found.priority_explanation].count("alert") == 1
        assert found.priority == pytest.approx(first_priority, abs=1.0)  # only waiting time moves


def test_an_unknown_priority_fails_the_action_with_a_reason(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    Ingestor(engine, settings).ingest(Target(workspace_id), [jsonl_event(2, text="broken again")])
    with transaction(engine) as session:
        alert_actions.add_playbook(
            session, workspace_id, PLAYBOOK.replace("urgent, queue: support", "sky-high")
        )
        (run,) = alert_actions.handle_alert(
            session, workspace_id, _alert("bluesky:amira:2"), settings
        )
    assert run.actions[0]["outcome"] == "failed"
    assert "sky-high" in run.actions[0]["detail"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
