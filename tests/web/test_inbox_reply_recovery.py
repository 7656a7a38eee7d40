"""Replies that did not go out, from the conversation page and the API: each shows its state
and last attempt, and offers Retry now, Edit and send again, and Discard by role."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from hubbub.accounts.actions import create_token
from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.inbox import actions, queries
from hubbub.inbox.models import OutboundReply
from hubbub.inbox.outbound import send_reply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.worker import Pipeline
from hubbub.workspaces.actions import ensure_workspace
from tests.inbox.conftest import CHEN_STATUS, mastodon_conversation
from tests.inbox.servers import MastodonServer, mastodon_server
from tests.web.conftest import csrf_token, member, open_conversation, session_cookie

pytestmark = pytest.mark.db

XSS = "<b>sorry</b> we are on it"


@pytest.fixture
def waiting(engine: Engine, settings: Settings, workspace_id: int) -> tuple[int, int]:
    """A Bluesky conversation whose reply waits for credentials (the account has none)."""
    convo = open_conversation(engine, settings, workspace_id, 1, "@acme.bsky.social help!")
    reply_id = _queue(engine, workspace_id, convo, XSS)
    assert _send(engine, settings, reply_id).state == "needs_credentials"
    return convo, reply_id


def _queue(engine: Engine, workspace_id: int, convo: int, body: str) -> int:
    with transaction(engine) as session:
        found = queries.conversation(session, workspace_id, convo)
        assert found is not None
        return actions.queue_reply(session, found, body).id


def _send(engine: Engine, settings: Settings, reply_id: int) -> OutboundReply:
    return asyncio.run(send_reply(engine, settings, reply_id))


def _reply(engine: Engine, reply_id: int) -> OutboundReply:
    with transaction(engine) as session:
        reply = session.get(OutboundReply, reply_id)
        assert reply is not None
        return reply


def _card(page: str, reply_id: int) -> str:
    found = re.search(rf'<li class="card reply" id="reply-{reply_id}"[^>]*>(.*?)</li>', page, re.S)
    assert found, f"no card for reply {reply_id}"
    return found.group(1)


def test_a_waiting_reply_shows_why_and_is_retried_then_discarded(
    client: TestClient, engine: Engine, waiting: tuple[int, int]
) -> None:
    convo, reply_id = waiting
    base = f"/w/acme/inbox/{convo}"
    page = client.get(base).text
    card = _card(page, reply_id)
    assert "&lt;b&gt;sorry&lt;/b&gt;" in card and "<b>sorry" not in card
    assert "needs_credentials" in card and "waits for the bluesky account" in card
    assert "no_account" in card and "no bluesky account of this workspace" in card
    assert (
        f"{base}/replies/{reply_id}/retry" in card and f"{base}/replies/{reply_id}/discard" in card
    )
    assert "?edit=" in card  # never posted: it may be edited too
    token = csrf_token(page)

    retried = client.post(
        f"{base}/replies/{reply_id}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert retried.status_code == 303
    assert retried.headers["location"] == f"{base}#reply-{reply_id}"
    reply = _reply(engine, reply_id)
    assert (reply.state, reply.retry_at, reply.attempts) == ("queued", None, 1)
    again = client.post(f"{base}/replies/{reply_id}/retry", data={"csrf_token": token})
    assert again.status_code == 409
    assert f"reply {reply_id} cannot be retried now: it is queued already" in again.text
    assert f"{base}/replies/{reply_id}/retry" not in _card(again.text, reply_id)

    gone = client.post(
        f"{base}/replies/{reply_id}/discard", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303 and _reply(engine, reply_id).state == "discarded"
    card = _card(client.get(base).text, reply_id)
    assert "Discarded: it is never sent." in card and "<form" not in card
    with transaction(engine) as session:
        audited = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert audited[-2:] == ["reply.retried", "reply.discarded"]


def test_a_viewer_sees_the_state_but_gets_403(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, waiting: tuple[int, int]
) -> None:
    convo, reply_id = waiting
    viewer = member(engine, workspace_id, Role.VIEWER, "viewer@acme.example")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, viewer))
        page = client.get(f"/w/acme/inbox/{convo}").text
        card = _card(page, reply_id)
        assert "needs_credentials" in card and "Retry now" not in card and "Discard" not in card
        for what in ("retry", "discard"):
            response = client.post(
                f"/w/acme/inbox/{convo}/replies/{reply_id}/{what}",
                data={"csrf_token": csrf_token(page)},
            )
            assert response.status_code == 403
    assert _reply(engine, reply_id).state == "needs_credentials"


def test_another_conversations_or_workspaces_reply_is_404(
    client: TestClient, engine: Engine, settings: Settings, waiting: tuple[int, int]
) -> None:
    convo, reply_id = waiting
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    theirs = open_conversation(engine, settings, globex, 2, "@acme.bsky.social globex here")
    their_reply = _queue(engine, globex, theirs, "globex answer")
    token = csrf_token(client.get(f"/w/acme/inbox/{convo}").text)
    for path in (
        f"/w/acme/inbox/{convo}/replies/{their_reply}/discard",
        f"/w/acme/inbox/{theirs}/replies/{their_reply}/discard",
        f"/w/acme/inbox/{theirs}/replies/{reply_id}/discard",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert client.get(f"/w/acme/inbox/{convo}?edit={their_reply}").status_code == 404
    assert _reply(engine, their_reply).state == "queued"


@pytest.fixture
def refused(
    engine: Engine, settings: Settings, workspace_id: int
) -> Iterator[tuple[MastodonServer, int, int]]:
    """A Mastodon reply refused for good: the server cannot find the post it answers."""
    with mastodon_server() as server:
        convo = mastodon_conversation(
            engine,
            settings,
            workspace_id,
            server.base,
            server.token,
            "my Acme skates broke after one day, terrible",
        )
        reply_id = _queue(engine, workspace_id, convo, "Sorry, Chen! A new pair ships tday.")
        assert _send(engine, settings, reply_id).state == "failed"
        yield server, convo, reply_id


def test_a_refused_reply_is_edited_and_sent_again_once(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    refused: tuple[MastodonServer, int, int],
) -> None:
    server, convo, reply_id = refused
    base = f"/w/acme/inbox/{convo}"
    card = _card(client.get(base).text, reply_id)
    assert "Not sent: refused for good" in card
    assert "cannot find the post to reply to" in card
    assert "Retry now" not in card and f"?edit={reply_id}" in card
    token = csrf_token(client.get(base).text)
    no_retry = client.post(f"{base}/replies/{reply_id}/retry", data={"csrf_token": token})
    assert no_retry.status_code == 409 and "refused for good" in html.unescape(no_retry.text)

    edit = client.get(f"{base}?edit={reply_id}")
    assert edit.status_code == 200 and 'id="reply-editing"' in edit.text
    assert f'action="{base}/replies/{reply_id}/replace"' in edit.text
    box = re.search(r'<textarea name="body"[^>]*>([^<]*)</textarea>', edit.text)
    assert box is not None and box.group(1) == "Sorry, Chen! A new pair ships tday."
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', edit.text)
    assert key is not None
    fixed = "Sorry, Chen! A new pair ships today."
    form = {"body": fixed, "idempotency_key": key.group(1), "csrf_token": token}
    too_long = client.post(f"{base}/replies/{reply_id}/replace", data={**form, "body": "x" * 600})
    assert too_long.status_code == 400 and "at most 500 characters" in too_long.text
    assert 'id="reply-editing"' in too_long.text and _reply(engine, reply_id).state == "failed"
    first = client.post(f"{base}/replies/{reply_id}/replace", data=form, follow_redirects=False)
    second = client.post(f"{base}/replies/{reply_id}/replace", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with transaction(engine) as session:
        replies = list(
            session.scalars(
                select(OutboundReply)
                .where(OutboundReply.conversation_id == convo)
                .order_by(OutboundReply.id)
            )
        )
    assert [(r.id == reply_id, r.body, r.state) for r in replies] == [
        (True, "Sorry, Chen! A new pair ships tday.", "discarded"),
        (False, fixed, "queued"),
    ]

    server.know(CHEN_STATUS.format(n=1), "109999")
    pipeline = Pipeline(engine, settings)
    assert pipeline.tick().replies_sent == 1
    assert pipeline.tick().replies_sent == 0
    (post,) = server.posts("POST", "/api/v1/statuses")
    assert post.body["status"].endswith(fixed)
    stale = client.get(f"{base}?edit={reply_id}")
    assert stale.status_code == 409 and "cannot be edited and sent again" in stale.text


# ---- the API ---------------------------------------------------------------------------------


@pytest.fixture
def tokens(engine: Engine, workspace_id: int) -> dict[str, str]:
    with transaction(engine) as session:
        return {
            role.value: create_token(session, workspace_id, role, f"{role} api")[1]
            for role in (Role.VIEWER, Role.AGENT)
        }


def _api(app: FastAPI, token: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_api_retry_discard_and_their_refusals(
    app: FastAPI,
    engine: Engine,
    settings: Settings,
    tokens: dict[str, str],
    waiting: tuple[int, int],
) -> None:
    convo, reply_id = waiting
    url = f"/api/v1/w/acme/conversations/{convo}/replies/{reply_id}"
    with _api(app, tokens["viewer"]) as viewer:
        assert viewer.post(f"{url}/retry").status_code == 403
    with _api(app, tokens["agent"]) as api:
        retried = api.post(f"{url}/retry")
        assert retried.status_code == 200, retried.text
        assert (retried.json()["id"], retried.json()["state"]) == (reply_id, "queued")
        again = api.post(f"{url}/retry")
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert "queued already" in again.json()["detail"]
        gone = api.post(f"{url}/discard")
        assert gone.status_code == 200 and gone.json()["state"] == "discarded"
        assert api.post(f"{url}/discard").status_code == 409
        detail = api.get(f"/api/v1/w/acme/conversations/{convo}").json()
        assert [r["state"] for r in detail["replies"]] == ["discarded"]

        with transaction(engine) as session:
            globex = ensure_workspace(session, "globex", "Globex").id
        theirs = open_conversation(engine, settings, globex, 2, "@acme.bsky.social globex")
        their_reply = _queue(engine, globex, theirs, "globex answer")
        for path in (
            f"/api/v1/w/acme/conversations/{theirs}/replies/{their_reply}/discard",
            f"/api/v1/w/acme/conversations/{convo}/replies/{their_reply}/discard",
        ):
            missing = api.post(path)
            assert missing.status_code == 404, path
            assert missing.headers["content-type"] == "application/problem+json"
    assert _reply(engine, their_reply).state == "queued"


def test_api_edits_a_reply_that_never_left(
    app: FastAPI, engine: Engine, tokens: dict[str, str], waiting: tuple[int, int]
) -> None:
    convo, reply_id = waiting
    url = f"/api/v1/w/acme/conversations/{convo}/replies/{reply_id}/replace"
    with _api(app, tokens["agent"]) as api:
        headers = {"Idempotency-Key": "edit-1"}
        first = api.post(url, json={"body": "We are on it, Amira."}, headers=headers)
        assert first.status_code == 201, first.text
        second = api.post(url, json={"body": "We are on it, Amira."}, headers=headers)
        assert second.status_code == 201 and second.json()["id"] == first.json()["id"]
        assert first.json()["state"] == "queued" and first.json()["id"] != reply_id
        assert api.post(url, json={"body": "again"}).status_code == 409  # discarded now
    assert _reply(engine, reply_id).state == "discarded"
