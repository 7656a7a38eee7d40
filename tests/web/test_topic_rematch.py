"""Saving a changed rule in the web UI re-matches the stored posts without anyone running a
command: the topic is marked, its pages say so, and the pipeline's job does the work."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.listening.actions import add_topic, get_topic
from hubbub.listening.tasks import run_pending_rematches
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.worker import Pipeline
from tests.listening.ingesting import ingest
from tests.listening.test_rematch import NARROW, _events, _topics, state, texts_matched
from tests.web.conftest import csrf_token

BANNER = 'id="rematching"'


def _pending(engine: Engine, workspace_id: int) -> bool:
    with Session(engine) as session:
        return get_topic(session, workspace_id, "acme").rematch_requested_at is not None


def _save(client: TestClient, rule: str, kind: str = "brand") -> None:
    token = csrf_token(client.get("/w/acme/topics/acme/edit").text)
    form = {"rule": rule, "kind": kind, "active": "on", "csrf_token": token}
    saved = client.post("/w/acme/topics/acme/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303


def test_a_saved_rule_is_applied_to_stored_posts_by_the_pipeline(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    _topics(engine, workspace_id, "acme")
    ingest(engine, settings, workspace_id, _events(), keep="all")
    assert BANNER not in client.get("/w/acme/topics/acme").text

    _save(client, NARROW)
    assert _pending(engine, workspace_id)
    assert "re-matching…" in client.get("/w/acme/topics").text
    assert BANNER in client.get("/w/acme/topics/acme").text
    assert any("stock" in t for t in texts_matched(engine, workspace_id, "acme"))

    done = run_pending_rematches(engine, workspace_id)  # what the worker's job calls
    assert [(name, result.done) for name, result in done] == [("acme", True)]
    assert not _pending(engine, workspace_id)
    assert BANNER not in client.get("/w/acme/topics/acme").text
    assert not any("stock" in t for t in texts_matched(engine, workspace_id, "acme"))
    assert run_pending_rematches(engine, workspace_id) == []

    _save(client, NARROW, kind="product")  # the same rule: nothing to match again
    assert not _pending(engine, workspace_id)


def test_the_pipeline_tick_runs_the_rematch_job(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    _topics(engine, workspace_id, "acme")
    ingest(engine, settings, workspace_id, _events(), keep="all")
    before = state(engine, workspace_id, "acme")
    _save(client, NARROW)
    result = Pipeline(engine, settings).tick()
    assert not result.errors and result.rematched_posts
    assert not _pending(engine, workspace_id)
    assert state(engine, workspace_id, "acme") != before


def test_a_topic_added_in_the_web_ui_matches_the_posts_stored_before_it(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "mirror", "acme", "other")  # matched live, as a yardstick
    ingest(engine, settings, workspace_id, _events(), keep="all")
    token = csrf_token(client.get("/w/acme/topics").text)
    form = {"name": "acme", "kind": "brand", "rule": "acme", "csrf_token": token}
    assert client.post("/w/acme/topics", data=form, follow_redirects=False).status_code == 303
    assert _pending(engine, workspace_id)
    assert BANNER in client.get("/w/acme/topics/acme").text

    result = Pipeline(engine, settings).tick()
    assert not result.errors
    assert not _pending(engine, workspace_id)
    expected = texts_matched(engine, workspace_id, "mirror")
    assert expected and texts_matched(engine, workspace_id, "acme") == expected
    assert BANNER not in client.get("/w/acme/topics/acme").text
