"""The reply box and the API hold a Mastodon reply to the account's own server's limit."""

from __future__ import annotations

import html
import re
import socket
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from hubbub.accounts.actions import create_token
from hubbub.accounts.permissions import Role
from hubbub.inbox import limits
from hubbub.inbox.models import OutboundReply
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.inbox.conftest import CHEN_STATUS, mastodon_conversation
from tests.inbox.servers import MastodonServer, mastodon_server
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db

COMPLAINT = "my Acme skates broke after one day, terrible"


@pytest.fixture
def server(engine: Engine, settings: Settings, workspace_id: int) -> Iterator[MastodonServer]:
    with mastodon_server() as running:
        running.know(CHEN_STATUS.format(n=1), "109999")
        running.max_characters = 5000
        yield running


def _limit(page: str) -> tuple[str, str]:
    found = re.search(r'<span id="reply-limit" title="([^"]*)">(\d+)</span>', page)
    assert found is not None
    return found.group(2), html.unescape(found.group(1))


def test_the_page_shows_the_servers_limit_and_takes_a_reply_of_1000(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    server: MastodonServer,
) -> None:
    convo = mastodon_conversation(
        engine, settings, workspace_id, server.base, server.token, COMPLAINT
    )
    page = client.get(f"/w/acme/inbox/{convo}").text
    assert _limit(page) == (
        "5000",
        f"The limit is the server's own, read from {server.base}/api/v2/instance",
    )
    form = {"body": "x" * 1000, "csrf_token": csrf_token(page)}
    queued = client.post(f"/w/acme/inbox/{convo}/replies", data=form, follow_redirects=False)
    assert queued.status_code == 303
    too_long = client.post(
        f"/w/acme/inbox/{convo}/replies", data={**form, "body": "y" * 4999}
    )  # 5,005 with "@chen " in front
    assert too_long.status_code == 400
    assert "at most 5000 characters" in too_long.text and "this one has 5005" in too_long.text
    # The page and both submits asked the server once.
    assert [r.path for r in server.requests] == ["/api/v2/instance"]


def test_the_api_refuses_past_the_servers_limit_naming_it(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, server: MastodonServer
) -> None:
    server.max_characters = 600
    convo = mastodon_conversation(
        engine, settings, workspace_id, server.base, server.token, COMPLAINT
    )
    with transaction(engine) as session:
        token = create_token(session, workspace_id, Role.AGENT, "agent api")[1]
    with TestClient(app, base_url="http://127.0.0.1") as api:
        api.headers["Authorization"] = f"Bearer {token}"
        url = f"/api/v1/w/acme/conversations/{convo}/replies"
        refused = api.post(url, json={"body": "z" * 595})
        assert refused.status_code == 400
        detail = refused.json()["detail"]
        assert "at most 600 characters" in detail and "this one has 601" in detail
        assert detail.endswith(f"read from {server.base}/api/v2/instance")
        assert api.post(url, json={"body": "z" * 594}).status_code == 201
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboundReply)) == 1


def test_an_unreachable_server_does_not_hold_the_page_up(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens there
    limits.forget(base)
    convo = mastodon_conversation(engine, settings, workspace_id, base, "good-token", COMPLAINT)
    client.get(f"/w/acme/inbox/{convo}")  # the app's first page (cold: 4.8 s on a loaded CI)
    limits.forget(base)  # so the page asks the server again, timed this time
    started = time.monotonic()
    page = client.get(f"/w/acme/inbox/{convo}").text
    assert time.monotonic() - started < 4  # refused at once: no wait for a timeout
    shown, why = _limit(page)
    assert shown == "500" and why.startswith(f"The limit is Mastodon's default: {base} could not")
    refused = client.post(
        f"/w/acme/inbox/{convo}/replies", data={"body": "x" * 600, "csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 400
    assert f"The limit is Mastodon's default: {base} could not" in html.unescape(refused.text)
