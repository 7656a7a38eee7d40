"""NUL characters are refused before any route, in forms, JSON and query strings (PostgreSQL
text cannot hold them: without this a write would fail as a 500); big bodies are refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import create_token
from hubbub.accounts.permissions import Role
from hubbub.listening.models import Topic
from hubbub.store.engine import transaction
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def _topics(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Topic)) or 0)


def test_a_nul_in_a_form_field_is_a_400_and_nothing_is_written(
    client: TestClient, engine: Engine
) -> None:
    token = csrf_token(client.get("/w/acme/topics").text)
    refused = client.post(
        "/w/acme/topics",
        data={"csrf_token": token, "name": "bad\x00name", "rule": "skates", "kind": "brand"},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "NUL" in refused.json()["detail"]
    assert refused.headers["x-content-type-options"] == "nosniff"  # still our headers
    assert _topics(engine) == 0
    fine = client.post(
        "/w/acme/topics",
        data={"csrf_token": token, "name": "good name", "rule": "skates", "kind": "brand"},
        follow_redirects=False,
    )
    assert fine.status_code == 303 and _topics(engine) == 1


def test_a_nul_in_json_or_a_query_string_is_a_400(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        plaintext = create_token(session, workspace_id, Role.ADMIN, "admin token")[1]
    headers = {"Authorization": f"Bearer {plaintext}"}
    refused = client.post(
        "/api/v1/w/acme/tokens", json={"name": "a\x00b", "role": "viewer"}, headers=headers
    )
    assert refused.status_code == 400 and "NUL" in refused.json()["detail"]
    assert client.get("/w/acme/posts?contains=%00", headers=headers).status_code == 400
    made = client.post(
        "/api/v1/w/acme/tokens", json={"name": "ab", "role": "viewer"}, headers=headers
    )
    assert made.status_code == 201


def test_a_body_over_the_payload_limit_is_a_413(client: TestClient) -> None:
    limit = client.app.state.settings.max_payload_bytes  # type: ignore[attr-defined]
    response = client.post(
        "/api/v1/w/acme/tokens",
        content=b'{"name": "' + b"x" * (limit + 1) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
