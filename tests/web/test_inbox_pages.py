"""The inbox pages over HTTP: list and filters, triage through the forms, roles, escaping."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.inbox.actions import (
    add_account,
    assign,
    create_queue,
    save_reply_template,
    set_status,
)
from hubbub.inbox.models import Conversation, Note, OutboundReply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import (
    BRAND_DID,
    BRAND_HANDLE,
    csrf_token,
    member,
    open_conversation,
    session_cookie,
)

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


def test_filter_values_the_page_cannot_use_are_named(client: TestClient, convo: int) -> None:
    page = client.get("/w/acme/inbox?status=bogus&mine=maybe&queue=billing&sort=waiting")
    assert page.status_code == 200 and f'id="conversation-{convo}"' in page.text
    notices = re.findall(r'<p class="warning" role="status">([^<]*)</p>', page.text)
    assert notices == [
        "Unknown status &#39;bogus&#39; (use new, open, waiting, resolved, spam): "
        "showing every status",
        "Unknown mine value &#39;maybe&#39; (use 1 or 0): showing the list without mine",
        "Unknown inbox filter &#39;queue&#39; (use status, mine, breaching, mentioned): "
        "showing the list without it",
        "Unknown inbox filter &#39;sort&#39; (use status, mine, breaching, mentioned): "
        "showing the list without it",
    ]
    # 0 is no, as everywhere else (it once read as "assigned to me" and emptied the list).
    unflagged = client.get("/w/acme/inbox?mine=0&breaching=no")
    assert (
        f'id="conversation-{convo}"' in unflagged.text and 'class="warning"' not in unflagged.text
    )
    assert 'class="warning"' not in client.get("/w/acme/inbox?status=new&mine=1").text


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
    # Each says when the customer last wrote there (the post's time), not when Hubbub opened it.
    with transaction(engine) as session:
        wrote = session.get(Conversation, other)
        assert wrote is not None and wrote.last_customer_post_at != wrote.created_at
        when = wrote.last_customer_post_at.strftime("%Y-%m-%d %H:%M")
    assert f"last wrote {when}" in page


def _listed(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="conversation-(\d+)"', html)]


def _next(html: str) -> str | None:
    found = re.search(r'<a rel="next" id="next-page" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def five(engine: Engine, settings: Settings, workspace_id: int) -> list[int]:
    """Five conversations, by priority: resolved 90, spam 80, open 50, new 40, waiting 30."""
    ids = [
        open_conversation(engine, settings, workspace_id, 40 + n, f"@acme help {n}, broken")
        for n in range(5)
    ]
    states = ["resolved", "spam", "open", "new", "waiting"]
    with transaction(engine) as session:
        for conversation_id, status, priority in zip(
            ids, states, (90, 80, 50, 40, 30), strict=True
        ):
            found = session.get(Conversation, conversation_id)
            assert found is not None
            if status != "new":
                set_status(session, found, status)
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(priority=priority)
            )
    return ids


def test_every_conversation_is_reached_page_by_page_unresolved_first(
    client: TestClient, five: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hubbub.web.inbox.INBOX_PAGE", 2)
    resolved, spam, opened, new, waiting = five
    page = client.get("/w/acme/inbox")
    assert page.status_code == 200
    assert '<span id="total">5</span> matching conversations' in page.text
    seen: list[int] = []
    pages = 0
    link: str | None = "/w/acme/inbox"
    while link is not None:
        page = client.get(link)
        assert page.status_code == 200, page.text
        assert '<span id="total">5</span>' in page.text  # the total, on every page
        seen += _listed(page.text)
        link = _next(page.text)
        pages += 1
    # Open work first in priority order, then resolved and spam (which outrank it).
    assert seen == [opened, new, waiting, resolved, spam]
    assert pages == 3
    # Breaching keeps new and open ones past (or near) a due time: these posts are old.
    assert _listed(client.get("/w/acme/inbox?breaching=1").text) == [opened, new]
    # The API keeps its documented order: highest priority first, whatever the status.
    api = client.get("/api/v1/w/acme/conversations")
    assert [item["id"] for item in api.json()["items"]] == five


def test_paging_links_keep_the_filters(
    client: TestClient,
    engine: Engine,
    owner_id: int,
    five: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hubbub.web.inbox.INBOX_PAGE", 1)
    _resolved, spam, opened, new, _waiting = five
    with transaction(engine) as session:
        for conversation_id in (opened, new, spam):
            found = session.get(Conversation, conversation_id)
            assert found is not None
            assign(session, found, owner_id)  # ``new`` becomes ``open``
    first = client.get("/w/acme/inbox?status=open&mine=1")
    assert '<span id="total">2</span> matching conversations' in first.text
    assert _listed(first.text) == [opened]
    link = _next(first.text)
    assert link is not None and "status=open" in link and "mine=1" in link
    second = client.get(link)
    assert _listed(second.text) == [new] and _next(second.text) is None
    assert "back to the first page" in second.text
    assert '<option value="open" selected>' in second.text and 'name="mine" value="1" checked' in (
        second.text
    )
    # A cursor of the default view (unresolved first) is refused under a status filter.
    default_next = _next(client.get("/w/acme/inbox").text)
    assert default_next is not None
    cursor = default_next.split("cursor=")[1]
    mixed = client.get(f"/w/acme/inbox?status=open&cursor={cursor}")
    assert mixed.status_code == 400 and 'id="inbox-error"' in mixed.text
    forged = client.get("/w/acme/inbox?cursor=bm90LWEtY3Vyc29y")
    assert forged.status_code == 400 and "cursor is not one this server issued" in forged.text


def test_bulk_with_nothing_checked_names_the_problem_and_keeps_the_view(
    client: TestClient, five: list[int]
) -> None:
    page = client.get("/w/acme/inbox?status=open").text
    assert '<input type="hidden" name="status" value="open">' in page
    token = csrf_token(page)
    empty = client.post(
        "/w/acme/inbox/bulk",
        data={"csrf_token": token, "action": "status:resolved", "status": "open"},
    )
    assert empty.status_code == 400
    assert 'id="bulk-error"' in empty.text and "select at least one conversation" in empty.text
    assert '<option value="open" selected>' in empty.text  # the same filters
    assert _listed(empty.text) == [five[2]]
    done = client.post(
        "/w/acme/inbox/bulk",
        data={"csrf_token": token, "action": "status:resolved", "status": "open", "ids": five[2]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/w/acme/inbox?status=open&bulk_done=")


def test_a_reply_too_long_for_the_network_is_refused_with_the_text_kept(
    client: TestClient, engine: Engine, convo: int
) -> None:
    page = client.get(f"/w/acme/inbox/{convo}").text
    assert '<span id="reply-limit">300</span>' in page  # Bluesky's, from its reply channel
    draft = "Sorry & thanks <3 " + "x" * 382
    assert len(draft) == 400
    form = {"body": draft, "csrf_token": csrf_token(page)}
    refused = client.post(f"/w/acme/inbox/{convo}/replies", data=form)
    assert refused.status_code == 400
    error = re.search(r'<p class="error" role="alert" id="reply-error">([^<]*)</p>', refused.text)
    assert error is not None and "at most 300" in error.group(1) and "has 400" in error.group(1)
    box = re.search(r'<textarea name="body" id="reply-body"[^>]*>([^<]*)</textarea>', refused.text)
    assert box is not None and box.group(1) == "Sorry &amp; thanks &lt;3 " + "x" * 382
    with transaction(engine) as session:
        assert session.scalar(select(OutboundReply.id)) is None
    fits = client.post(
        f"/w/acme/inbox/{convo}/replies",
        data={**form, "body": "y" * 300},
        follow_redirects=False,
    )
    assert fits.status_code == 303


def test_the_reply_box_says_when_no_account_can_send_yet(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, convo: int
) -> None:
    # The brand's Bluesky account is known but has no server or credentials: replies wait.
    waiting = client.get(f"/w/acme/inbox/{convo}").text
    assert 'id="reply-waits"' in waiting and "No bluesky account" in waiting
    with transaction(engine) as session:
        add_account(
            session,
            settings,
            workspace_id,
            "bluesky",
            BRAND_DID,
            BRAND_HANDLE,
            service_url="https://bsky.social",
            secrets={"app_password": "xxxx-xxxx-xxxx-xxxx"},
        )
    assert 'id="reply-waits"' not in client.get(f"/w/acme/inbox/{convo}").text
