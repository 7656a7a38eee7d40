"""Working the inbox as a team: who else has a conversation open, a reply held back when a
teammate answered meanwhile, bulk changes, and notes that @-mention you."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.inbox.actions import create_queue
from hubbub.inbox.models import Conversation, OutboundReply
from hubbub.settings import Settings
from hubbub.web.auth import SESSION_COOKIE
from tests.web.conftest import OWNER, csrf_token, member, open_conversation, session_cookie

pytestmark = pytest.mark.db


def _as(app: FastAPI, engine: Engine, settings: Settings, user_id: int) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return client


def _seen(page: str) -> str:
    found = re.search(r'name="seen" value="([^"]+)"', page)
    assert found, "no page-load time in the reply form"
    return found.group(1)


def _reply_key(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_teammate_with_the_conversation_open_is_named(
    app: FastAPI, client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    convo = open_conversation(engine, settings, workspace_id, 1, "where is my order?")
    bob = member(engine, workspace_id, Role.AGENT, "bob@acme.example")
    assert 'id="collision"' not in client.get(f"/w/acme/inbox/{convo}").text
    with _as(app, engine, settings, bob) as as_bob:
        bobs_view = as_bob.get(f"/w/acme/inbox/{convo}").text
    assert OWNER in bobs_view.split('id="collision"', 1)[1].split("</p>", 1)[0]
    mine = client.get(f"/w/acme/inbox/{convo}").text
    assert "bob@acme.example" in mine.split('id="collision"', 1)[1].split("</p>", 1)[0]


def test_a_reply_written_while_a_teammate_answered_is_held_back(
    app: FastAPI, client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    convo = open_conversation(engine, settings, workspace_id, 2, "is the shop open today?")
    bob = member(engine, workspace_id, Role.AGENT, "bob@acme.example")
    page = client.get(f"/w/acme/inbox/{convo}").text  # the owner starts writing
    with _as(app, engine, settings, bob) as as_bob:
        bobs = as_bob.get(f"/w/acme/inbox/{convo}").text
        sent = as_bob.post(
            f"/w/acme/inbox/{convo}/replies",
            data={
                "csrf_token": csrf_token(bobs),
                "body": "Yes, until 6 pm!",
                "idempotency_key": _reply_key(bobs),
                "seen": _seen(bobs),
            },
            follow_redirects=False,
        )
        assert sent.status_code == 303
    form = {
        "csrf_token": csrf_token(page),
        "body": "We are open <b>today</b>",
        "idempotency_key": _reply_key(page),
        "seen": _seen(page),
    }
    held = client.post(f"/w/acme/inbox/{convo}/replies", data=form, follow_redirects=False)
    assert held.status_code == 409
    assert "Yes, until 6 pm!" in held.text and "bob@acme.example" in held.text
    assert "We are open &lt;b&gt;today&lt;/b&gt;" in held.text  # the draft, escaped
    with Session(engine) as session:
        bodies = session.scalars(
            select(OutboundReply.body).where(OutboundReply.conversation_id == convo)
        ).all()
    assert bodies == ["Yes, until 6 pm!"]

    anyway = client.post(
        f"/w/acme/inbox/{convo}/replies",
        data={**form, "send_anyway": "1"},
        follow_redirects=False,
    )
    assert anyway.status_code == 303
    with Session(engine) as session:
        count = len(
            session.scalars(
                select(OutboundReply.id).where(OutboundReply.conversation_id == convo)
            ).all()
        )
    assert count == 2


def test_bulk_status_assignment_and_queue(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    convos = [
        open_conversation(engine, settings, workspace_id, n, f"complaint number {n}, broken")
        for n in (10, 11, 12)
    ]
    bob = member(engine, workspace_id, Role.AGENT, "bob@acme.example")
    from hubbub.store.engine import transaction

    with transaction(engine) as session:
        create_queue(session, workspace_id, "support", [bob])
    page = client.get("/w/acme/inbox").text
    assert 'form="bulk"' in page and 'value="queue:support"' in page

    def bulk(action: str, ids: list[int]) -> int:
        response = client.post(
            "/w/acme/inbox/bulk",
            data={"csrf_token": csrf_token(page), "action": action, "ids": [str(i) for i in ids]},
            follow_redirects=False,
        )
        return response.status_code

    def states() -> dict[int, tuple[str, int | None]]:
        with Session(engine) as session:
            rows = session.scalars(select(Conversation).where(Conversation.id.in_(convos)))
            return {c.id: (c.status, c.assignee_user_id) for c in rows}

    assert bulk("status:spam", convos[:2]) == 303
    assert [states()[c][0] for c in convos] == ["spam", "spam", "new"]
    assert bulk("queue:support", convos[2:]) == 303
    assert states()[convos[2]][1] == bob
    assert bulk("assign:none", convos) == 303
    assert all(assignee is None for _, assignee in states().values())
    # All or nothing: an unknown action or status changes none of them.
    assert bulk("status:teleported", convos) == 400
    assert [states()[c][0] for c in convos] == ["spam", "spam", "open"]
    assert bulk("status:resolved", []) == 400
    with Session(engine) as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "conversation.status")
        ).all()
    assert len(audited) == 2
    done = client.get("/w/acme/inbox?bulk_done=2&bulk_action=status:spam").text
    assert '<p class="ok" role="status" id="bulk-done">Done: 2 conversation(s): status:spam' in done
    # A crafted link cannot put its own words on the page.
    for crafted in (
        "bulk_done=2&bulk_action=Your+account+is+locked,+call+us",
        "bulk_done=many&bulk_action=status:spam",
        "bulk_done=Your+account+is+locked",
    ):
        assert 'id="bulk-done"' not in client.get(f"/w/acme/inbox?{crafted}").text, crafted


def test_bulk_never_reaches_another_workspaces_conversations_and_viewers_cannot(
    app: FastAPI, client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from hubbub.store.engine import transaction
    from hubbub.workspaces.actions import ensure_workspace

    ours = open_conversation(engine, settings, workspace_id, 20, "help me please, broken")
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    theirs = open_conversation(engine, settings, other, 21, "help them please, broken")
    page = client.get("/w/acme/inbox").text
    response = client.post(
        "/w/acme/inbox/bulk",
        data={"csrf_token": csrf_token(page), "action": "status:spam", "ids": [ours, theirs]},
        follow_redirects=False,
    )
    assert response.status_code == 404
    with Session(engine) as session:
        assert session.get(Conversation, ours).status == "new"  # type: ignore[union-attr]
        assert session.get(Conversation, theirs).status == "new"  # type: ignore[union-attr]

    viewer = member(engine, workspace_id, Role.VIEWER, "viewer@acme.example")
    with _as(app, engine, settings, viewer) as as_viewer:
        listed = as_viewer.get("/w/acme/inbox").text
        assert 'form="bulk"' not in listed
        refused = as_viewer.post(
            "/w/acme/inbox/bulk",
            data={"csrf_token": csrf_token(listed), "action": "status:spam", "ids": [ours]},
            follow_redirects=False,
        )
        assert refused.status_code == 403


def test_notes_mentioning_me_are_flagged_until_i_open_the_conversation(
    app: FastAPI, client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    mentioned = open_conversation(engine, settings, workspace_id, 30, "my skates broke")
    quiet = open_conversation(engine, settings, workspace_id, 31, "my skates broke too")
    bob = member(engine, workspace_id, Role.AGENT, "bob@acme.example")
    page = client.get(f"/w/acme/inbox/{mentioned}").text
    noted = client.post(
        f"/w/acme/inbox/{mentioned}/notes",
        data={"csrf_token": csrf_token(page), "body": "@bob can you take this one?"},
        follow_redirects=False,
    )
    assert noted.status_code == 303
    with _as(app, engine, settings, bob) as as_bob:
        listed = as_bob.get("/w/acme/inbox").text
        assert 'id="unread-mentions">1 new' in listed
        only = as_bob.get("/w/acme/inbox?mentioned=1").text
        assert f"conversation-{mentioned}" in only and f"conversation-{quiet}" not in only
        opened = as_bob.get(f"/w/acme/inbox/{mentioned}").text
        assert "mentions-me" in opened, re.findall(r"<li class=\"card note[^>]*>", opened)
        assert 'id="unread-mentions"' not in as_bob.get("/w/acme/inbox").text
        # Still listed under "mentioning me", just no longer new.
        assert f"conversation-{mentioned}" in as_bob.get("/w/acme/inbox?mentioned=1").text
    # The owner was not mentioned.
    assert f"conversation-{mentioned}" not in client.get("/w/acme/inbox?mentioned=1").text
