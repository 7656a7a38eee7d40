"""The webhooks page: admins add an endpoint (secret shown once), see deliveries, pause, send a
dead delivery again and remove it; agents get 403; other workspaces' rows stay out of reach."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE
from hubbub.webhooks.actions import add_endpoint, enqueue
from hubbub.webhooks.models import WebhookDelivery, WebhookEndpoint
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import csrf_token, member, session_cookie
from tests.webhooks.conftest import Receiver, drain

pytestmark = pytest.mark.db


@pytest.fixture
def admin(settings: Settings, engine: Engine, workspace_id: int) -> Iterator[TestClient]:
    user_id = member(engine, workspace_id, Role.ADMIN, "admin@acme.example")
    with TestClient(create_app(settings, engine), base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
        yield client


def _post(client: TestClient, path: str, data: dict[str, object]) -> Response:
    token = csrf_token(client.get("/w/acme/webhooks").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _endpoints(engine: Engine) -> list[WebhookEndpoint]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def test_add_see_deliveries_pause_and_remove(
    admin: TestClient, engine: Engine, settings: Settings, workspace_id: int, receiver: Receiver
) -> None:
    url = f"{receiver.url}?token=receiver-secret"
    added = _post(
        admin,
        "/w/acme/webhooks",
        {"url": url, "events": ["alert.fired", "conversation.created"], "description": "ops"},
    )
    assert added.status_code == 201, added.text
    secret = re.search(r'id="webhook-secret">([^<]+)<', added.text)
    assert secret is not None and secret.group(1).startswith("whsec_")
    [endpoint] = _endpoints(engine)
    assert sorted(endpoint.events) == ["alert.fired", "conversation.created"]
    page = admin.get("/w/acme/webhooks").text
    assert secret.group(1) not in page  # shown once
    assert "receiver-secret" not in page  # the query may hold the receiver's token

    with transaction(engine) as session:
        enqueue(session, workspace_id, "alert.fired", {"alert": {"kind": "volume"}})
    drain(engine, settings)
    page = admin.get("/w/acme/webhooks").text
    row = page.split('id="delivery-', 1)[1].split("</tr>", 1)[0]
    assert "alert.fired" in row and "delivered" in row and "HTTP 200" in row

    paused = _post(admin, f"/w/acme/webhooks/{endpoint.id}/active", {"active": "off"})
    assert paused.status_code == 303 and _endpoints(engine)[0].active is False
    assert "Resume" in admin.get("/w/acme/webhooks").text

    with Session(engine) as session:
        delivery_id = session.scalar(select(WebhookDelivery.id))
    again = _post(admin, f"/w/acme/webhooks/deliveries/{delivery_id}/redeliver", {})
    assert again.status_code == 303
    with Session(engine) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None and delivery.state == "pending"

    assert _post(admin, f"/w/acme/webhooks/{endpoint.id}/remove", {}).status_code == 303
    assert _endpoints(engine) == []
    assert _post(admin, f"/w/acme/webhooks/{endpoint.id}/remove", {}).status_code == 303
    with Session(engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-4:] == ["webhook.add", "webhook.pause", "webhook.redeliver", "webhook.remove"]


def test_bad_urls_come_back_with_the_input_and_an_error(admin: TestClient, engine: Engine) -> None:
    refused = _post(admin, "/w/acme/webhooks", {"url": "ftp://example.com/<x>", "description": "d"})
    assert refused.status_code == 400
    assert 'class="error"' in refused.text and "ftp://example.com/&lt;x&gt;" in refused.text
    long_url = "https://example.com/" + "a" * 2100
    too_long = _post(admin, "/w/acme/webhooks", {"url": long_url})
    assert too_long.status_code == 400 and "at most 2048" in too_long.text  # refused, not cut
    assert _endpoints(engine) == []


def test_agents_are_refused_and_other_workspaces_are_out_of_reach(
    admin: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
        theirs, _ = add_endpoint(session, settings, other, "https://globex.example/hook")
        their_id = theirs.id
    assert _post(admin, f"/w/acme/webhooks/{their_id}/active", {"active": "off"}).status_code == 404
    _post(admin, f"/w/acme/webhooks/{their_id}/remove", {})
    assert [e.id for e in _endpoints(engine)] == [their_id]
    assert _endpoints(engine)[0].active is True

    agent = member(engine, workspace_id, Role.AGENT, "agent@acme.example")
    with TestClient(admin.app, base_url="http://127.0.0.1") as as_agent:
        as_agent.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, agent))
        assert as_agent.get("/w/acme/webhooks").status_code == 403
        assert "/webhooks" not in as_agent.get("/w/acme/posts").text
