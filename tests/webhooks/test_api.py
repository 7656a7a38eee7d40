"""The webhooks API: admins and owners only, secret shown once, workspaces kept apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import create_token
from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.webhooks.actions import enqueue
from hubbub.workspaces.actions import ensure_workspace
from tests.webhooks.conftest import Receiver, drain


@pytest.fixture
def api(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine), base_url="http://127.0.0.1") as client:
        yield client


def _token(engine: Engine, workspace_id: int, role: Role) -> dict[str, str]:
    with transaction(engine) as session:
        plaintext = create_token(session, workspace_id, role, f"{role} token")[1]
    return {"Authorization": f"Bearer {plaintext}"}


def test_admins_add_list_and_remove_webhooks(
    api: TestClient, engine: Engine, settings: Settings, workspace_id: int, receiver: Receiver
) -> None:
    admin = _token(engine, workspace_id, Role.ADMIN)
    created = api.post(
        "/api/v1/w/acme/webhooks",
        json={"url": receiver.url, "events": ["alert.fired"], "description": "ops"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["alert.fired"]
    listed = api.get("/api/v1/w/acme/webhooks", headers=admin)
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()] == [body["id"]]
    assert "secret" not in listed.json()[0] and body["secret"] not in listed.text

    with transaction(engine) as session:
        enqueue(session, workspace_id, "alert.fired", {"alert": {"kind": "volume"}})
    drain(engine, settings)
    deliveries = api.get(f"/api/v1/w/acme/webhooks/{body['id']}/deliveries", headers=admin)
    assert deliveries.status_code == 200
    [delivery] = deliveries.json()
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempt_log"]] == [200]

    assert api.delete(f"/api/v1/w/acme/webhooks/{body['id']}", headers=admin).status_code == 204
    assert api.get("/api/v1/w/acme/webhooks", headers=admin).json() == []
    with Session(engine) as session:
        audited = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert audited[-2:] == ["webhook.add", "webhook.remove"]


def test_bad_urls_and_events_are_refused(
    api: TestClient, engine: Engine, workspace_id: int
) -> None:
    admin = _token(engine, workspace_id, Role.ADMIN)
    for payload in (
        {"url": "ftp://example.com/hook"},
        {"url": "https://user:pw@example.com/hook"},
        {"url": "https://example.com/hook", "events": ["post.liked"]},
        # Addresses of this machine or its network, also in the forms the resolver takes.
        {"url": "http://169.254.169.254/latest/meta-data"},
        {"url": "http://10.0.0.1/hook"},
        {"url": "http://[::1]:8080/hook"},
        {"url": "http://2130706434/hook"},
        {"url": "http://127.2/hook"},
    ):
        answer = api.post("/api/v1/w/acme/webhooks", json=payload, headers=admin)
        assert answer.status_code == 400, payload
    assert "non-public address" in answer.json()["detail"]


def test_roles_below_admin_are_refused(api: TestClient, engine: Engine, workspace_id: int) -> None:
    for role in (Role.VIEWER, Role.AGENT, Role.MANAGER):
        headers = _token(engine, workspace_id, role)
        assert api.get("/api/v1/w/acme/webhooks", headers=headers).status_code == 403
        answer = api.post(
            "/api/v1/w/acme/webhooks", json={"url": "https://example.com/h"}, headers=headers
        )
        assert answer.status_code == 403
    assert api.get("/api/v1/w/acme/webhooks").status_code == 401


def test_workspaces_never_see_each_others_webhooks(
    api: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    acme_owner = _token(engine, workspace_id, Role.OWNER)
    globex_owner = _token(engine, globex, Role.OWNER)
    theirs = api.post(
        "/api/v1/w/globex/webhooks",
        json={"url": "https://globex.example/hook"},
        headers=globex_owner,
    ).json()
    assert api.get("/api/v1/w/acme/webhooks", headers=acme_owner).json() == []
    assert api.get("/api/v1/w/globex/webhooks", headers=acme_owner).status_code == 404
    # Their endpoint's id through our own workspace's URLs: not found, and still there.
    gone = api.delete(f"/api/v1/w/acme/webhooks/{theirs['id']}", headers=acme_owner)
    assert gone.status_code == 404
    log = api.get(f"/api/v1/w/acme/webhooks/{theirs['id']}/deliveries", headers=acme_owner)
    assert log.status_code == 404
    assert len(api.get("/api/v1/w/globex/webhooks", headers=globex_owner).json()) == 1
    # An event of acme never goes to globex's endpoint.
    with transaction(engine) as session:
        assert enqueue(session, workspace_id, "alert.fired", {"alert": {}}) == []
