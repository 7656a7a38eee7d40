"""A reply or note written through the API is credited to its token, not to the command line."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from hubbub.accounts.actions import create_token
from hubbub.accounts.permissions import Role
from hubbub.inbox.actions import add_note
from hubbub.inbox.models import Conversation
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.inbox.conftest import mastodon_complaint
from tests.web.conftest import OWNER, csrf_token

pytestmark = pytest.mark.db


def test_api_writes_name_their_token_and_the_page_keeps_people_and_the_cli_apart(
    app: FastAPI,
    client: TestClient,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
) -> None:
    with mastodon_complaint(engine, settings, workspace_id) as (_server, convo):
        _write_as_token_and_as_cli(app, client, engine, workspace_id, convo)


def _write_as_token_and_as_cli(
    app: FastAPI, client: TestClient, engine: Engine, workspace_id: int, convo: int
) -> None:
    with transaction(engine) as session:
        made, token = create_token(session, workspace_id, Role.AGENT, "<b>zapier</b>")
        token_id = made.id
        found = session.get(Conversation, convo)
        assert found is not None
        add_note(session, found, "typed on the server")  # the command line acts as no one
    with TestClient(app, base_url="http://127.0.0.1") as api:
        api.headers["Authorization"] = f"Bearer {token}"
        base = f"/api/v1/w/acme/conversations/{convo}"
        reply = api.post(f"{base}/replies", json={"body": "sorry, a new pair is on its way"})
        note = api.post(f"{base}/notes", json={"body": "answered from the helpdesk"})
    assert reply.status_code == note.status_code == 201
    assert reply.json()["created_by"] is None and reply.json()["created_by_token_id"] == token_id
    assert note.json()["author_user_id"] is None and note.json()["author_token_id"] == token_id

    page = client.get(f"/w/acme/inbox/{convo}").text
    form = {"body": "we are on it", "csrf_token": csrf_token(page)}
    assert client.post(f"/w/acme/inbox/{convo}/notes", data=form).status_code == 200
    page = client.get(f"/w/acme/inbox/{convo}").text
    credited = "API token “&lt;b&gt;zapier&lt;/b&gt;”"
    assert page.count(credited) == 2  # the reply and the note, the name escaped
    assert "typed on the server" in page and "the command line" in page
    assert OWNER in page  # the note written in the page names its author
