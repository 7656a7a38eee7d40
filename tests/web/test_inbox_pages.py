"""The inbox pages over HTTP: list and filters, triage through the forms, roles, escaping."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.inbox.actions import create_queue, save_reply_template
from hubbub.inbox.models import Conversation, Note, OutboundReply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import csrf_token, member, open_conversation, session_cookie

pytestmark = pytest.mark.db

XSS = '<script>alert("x")</script> my order never arrived'


@pytest.fixture
def convo(engine: Engine, settings: Settings, workspace_id: int) -> int:
    return open_conversation(engine, settings, workspace_id, 1, XSS)


def _as(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, role: Role
) -> TestClient:
    user_id = member(engine, workspace_id, role, f"{role.value}@acme.example")
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return client


def test_list_shows_the_conversation_escaped(client: TestClient, convo: int) -> None:
    page = client.get("/w/acme/inbox")
    assert page.status_code == 200
    assert f'id="conversation-{convo}"' in page.text
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert" in page.text
    detail = client.get(f"/w/acme/inbox/{convo}")
    assert detail.status_code == 200
    assert "<script>alert" not in detail.text and "&lt;script&gt;" in detail.text


def test_filters_by_status_and_assignee(client: TestClient, convo: int) -> None:
    assert f"conversation-{convo}" in client.get("/w/acme/inbox?status=new").text
    assert f"conversation-{convo}" not in client.get("/w/acme/inbox?status=resolved").text
    assert f"conversation-{convo}" not in client.get("/w/acme/inbox?mine=1").text


def test_status_note_and_reply_through_the_forms(
    client: TestClient, engine: Engine, convo: int
) -> None:
    token = csrf_token(client.get(f"/w/acme/inbox/{convo}").text)
    base = f"/w/acme/inbox/{convo}"
    done = client.post(
        f"{base}/status", data={"status": "open", "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    note = client.post(f"{base}/notes", data={"body": "<b>call</b> them", "csrf_token": token})
    assert note.status_code == 200  # followed the redirect back to the conversation
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', note.text)
    assert key
    form = {"body": "Sorry! DM us", "idempotency_key": key.group(1), "csrf_token": token}
    first = client.post(f"{base}/replies", data=form, follow_redirects=False)
    again = client.post(f"{base}/replies", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    with transaction(engine) as session:
        found = session.get(Conversation, convo)
        assert found is not None and found.status == "open"
        notes = list(session.scalars(select(Note.body).where(Note.conversation_id == convo)))
        replies = list(
            session.scalars(select(OutboundReply).where(OutboundReply.conversation_id == convo))
        )
        actions = set(session.scalars(select(AuditEntry.action)))
    assert notes == ["<b>call</b> them"]
    assert [(r.body, r.state) for r in replies] == [("Sorry! DM us", "queued")]  # queued once
    assert {"conversation.status", "conversation.note", "conversation.reply"} <= actions
    page = client.get(base).text
    assert "&lt;b&gt;call&lt;/b&gt; them" in page and 'id="status">open<' in page


def test_an_empty_reply_is_refused_with_the_draft_kept(client: TestClient, convo: int) -> None:
    token = csrf_token(client.get(f"/w/acme/inbox/{convo}").text)
    response = client.post(
        f"/w/acme/inbox/{convo}/status", data={"status": "bogus", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "is not a status" in response.text


def test_a_viewer_reads_but_cannot_reply(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, convo: int
) -> None:
    with _as(app, engine, settings, workspace_id, Role.VIEWER) as viewer:
        page = viewer.get(f"/w/acme/inbox/{convo}")
        assert page.status_code == 200
        assert "Queue reply" not in page.text
        response = viewer.post(
            f"/w/acme/inbox/{convo}/replies",
            data={"body": "hi", "csrf_token": csrf_token(page.text)},
        )
        assert response.status_code == 403
    with transaction(engine) as session:
        assert session.scalar(select(OutboundReply.id)) is None


def test_another_workspaces_conversation_is_404(
    client: TestClient, engine: Engine, settings: Settings, convo: int
) -> None:
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    theirs = open_conversation(engine, settings, globex, 2, "@acme help please")
    assert client.get(f"/w/acme/inbox/{theirs}").status_code == 404
    assert client.get("/w/globex/inbox").status_code == 404
    token = csrf_token(client.get(f"/w/acme/inbox/{convo}").text)
    response = client.post(
        f"/w/acme/inbox/{theirs}/notes", data={"body": "leak", "csrf_token": token}
    )
    assert response.status_code == 404


def test_assign_by_hand_by_queue_and_back_to_nobody(
    client: TestClient, engine: Engine, workspace_id: int, owner_id: int, convo: int
) -> None:
    agent = member(engine, workspace_id, Role.AGENT, "agent@acme.example")
    with transaction(engine) as session:
        create_queue(session, workspace_id, "support", [agent])
    base = f"/w/acme/inbox/{convo}"
    page = client.get(base).text
    assert 'name="assignee"' in page and "agent@acme.example" in page and 'value="support"' in page
    token = csrf_token(page)

    def assignee() -> int | None:
        with transaction(engine) as session:
            found = session.get(Conversation, convo)
            assert found is not None
            return found.assignee_user_id

    by_hand = client.post(
        f"{base}/assign",
        data={"assignee": str(owner_id), "csrf_token": token},
        follow_redirects=False,
    )
    assert by_hand.status_code == 303 and assignee() == owner_id
    queued = client.post(
        f"{base}/assign", data={"queue": "support", "csrf_token": token}, follow_redirects=False
    )
    assert queued.status_code == 303 and assignee() == agent
    nobody = client.post(
        f"{base}/assign", data={"assignee": "", "csrf_token": token}, follow_redirects=False
    )
    assert nobody.status_code == 303 and assignee() is None
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex").id
    outsider = member(engine, globex, Role.OWNER, "owner@globex.example")
    refused = client.post(f"{base}/assign", data={"assignee": str(outsider), "csrf_token": token})
    assert refused.status_code == 400 and assignee() is None
    for bogus in ("x1", "²", "9" * 20):
        response = client.post(f"{base}/assign", data={"assignee": bogus, "csrf_token": token})
        assert response.status_code == 400, bogus


def test_a_saved_reply_fills_the_reply_box_escaped(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, convo: int
) -> None:
    with transaction(engine) as session:
        save_reply_template(
            session, workspace_id, "sorry", "Hi {author_name}, sorry! - {agent_name}"
        )
    page = client.get(f"/w/acme/inbox/{convo}").text
    assert '<option value="sorry">' in page
    filled = client.get(f"/w/acme/inbox/{convo}?saved=sorry")
    assert filled.status_code == 200
    box = re.search(r'<textarea name="body"[^>]*>([^<]*)</textarea>', filled.text)
    assert box is not None and box.group(1).startswith("Hi ") and "sorry! - " in box.group(1)
    missing = client.get(f"/w/acme/inbox/{convo}?saved=nope")
    assert missing.status_code == 400 and "no saved reply" in missing.text


def test_the_author_history_lists_their_other_conversations(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, convo: int
) -> None:
    other = open_conversation(engine, settings, workspace_id, 2, "still waiting, any news?")
    assert other != convo  # a new thread by the same person
    page = client.get(f"/w/acme/inbox/{convo}").text
    assert f'href="/w/acme/inbox/{other}"' in page
    assert f'href="/w/acme/inbox/{convo}"' in client.get(f"/w/acme/inbox/{other}").text
