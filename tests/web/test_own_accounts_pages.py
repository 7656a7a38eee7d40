"""The workspace's own accounts over HTTP: marked in the topic dashboard's top authors and the
summary API, left out of the influencer ranking; another workspace's accounts change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from hubbub.accounts.actions import create_token
from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.inbox.actions import add_account
from hubbub.listening.actions import add_topic
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import ingest, record_event
from tests.web.test_influence_pages import _rows as influencer_rows

pytestmark = pytest.mark.db


def _author(name: str) -> dict[str, Any]:
    return {"native_id": f"did:plc:{name}", "handle": f"{name}.example"}


@pytest.fixture
def token(engine: Engine, settings: Settings, workspace_id: int) -> str:
    """Topic ``skates``: the brand (amira) posts three times, bruno replies, two fans reshare,
    chen posts once. Returns an analyst's API token."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
    start = utcnow() - timedelta(hours=5)
    posts: list[tuple[str, str, dict[str, Any]]] = [
        ("a1", "amira", {"text": "Rocket skates launch today"}),
        ("a2", "amira", {"text": "More skates news"}),
        ("a3", "amira", {"text": "skates restocked"}),
        ("b1", "bruno", {"text": "Love these skates", "reply_to": "bluesky:a1"}),
        ("f0", "fan0", {"kind": "reshare", "reshare_of": "bluesky:a1", "text": "skates"}),
        ("f1", "fan1", {"kind": "reshare", "reshare_of": "bluesky:b1", "text": "skates"}),
        ("c1", "chen", {"text": "skates are fine"}),
    ]
    events = [
        record_event(
            n,
            author=_author(name),
            native_id=f"bluesky:{key}",
            created_at=(start + timedelta(minutes=5 * n)).isoformat(),
            hashtags=[],
            **fields,
        )
        for n, (key, name, fields) in enumerate(posts, start=1)
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    with transaction(engine) as session:
        return create_token(session, workspace_id, Role.ANALYST, "analyst")[1]


def _register(
    engine: Engine, settings: Settings, workspace_id: int, native: str, handle: str
) -> None:
    with transaction(engine) as session:
        add_account(session, settings, workspace_id, "bluesky", native, handle)


def _badged(html: str) -> dict[str, bool]:
    """handle → whether its row of the top authors carries the "your account" badge."""
    panel = html.split('id="authors"')[1].split("</section>", maxsplit=1)[0]
    rows = panel.split("<tr>")[1:]
    return {row.split("</a>")[0].rsplit(">", 1)[1]: "your account" in row for row in rows}


def _summary(client: TestClient, token: str) -> dict[str, bool]:
    found = client.get(
        "/api/v1/w/acme/topics/skates/summary", headers={"Authorization": f"Bearer {token}"}
    )
    assert found.status_code == 200, found.text
    return {a["author"]["handle"]: a["own"] for a in found.json()["top_authors"]}


def test_own_account_is_marked_in_top_authors_and_left_out_of_influencers(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, token: str
) -> None:
    assert "amira.example" in influencer_rows(client.get("/w/acme/influencers").text)
    # Another workspace owning accounts with this workspace's authors' handles and ids.
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    _register(engine, settings, other, "did:plc:bruno", "bruno.example")
    _register(engine, settings, other, "did:plc:globex-amira", "@amira.example")
    # Ours, registered under another id form: found by its handle, whatever the case.
    _register(engine, settings, workspace_id, "did:plc:brand-account", "@Amira.Example")

    page = client.get("/w/acme/topics/skates")
    assert page.status_code == 200
    for marked in (_badged(page.text), _summary(client, token)):
        assert {"amira.example", "bruno.example", "chen.example"} <= marked.keys()
        assert [handle for handle, own in marked.items() if own] == ["amira.example"]

    ranked = influencer_rows(client.get("/w/acme/influencers").text)
    assert "amira.example" not in ranked  # the cached ranking was recomputed
    assert {"bruno.example", "chen.example"} <= set(ranked)
    topic_ranked = influencer_rows(client.get("/w/acme/influencers?topic=skates").text)
    assert "amira.example" not in topic_ranked and "bruno.example" in topic_ranked


def test_without_own_accounts_no_author_is_marked(
    client: TestClient, engine: Engine, settings: Settings, token: str
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    _register(engine, settings, other, "did:plc:amira", "amira.example")
    assert not any(_badged(client.get("/w/acme/topics/skates").text).values())
    summary = _summary(client, token)
    assert "amira.example" in summary and not any(summary.values())
    assert "amira.example" in influencer_rows(client.get("/w/acme/influencers").text)


def _community_badges(html: str) -> dict[str, bool]:
    """handle → whether it carries the "your account" badge on a community card."""
    found: dict[str, bool] = {}
    for card in html.split('class="card community"')[1:]:
        for dd in card.split('<dd class="handle">')[1:]:
            for entry in dd.split("</dd>")[0].split(", "):
                handle = entry.split(" <span", 1)[0].strip()
                found[handle] = found.get(handle, False) or "your account" in entry
    return found


def test_own_account_is_marked_on_its_community_card(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, token: str
) -> None:
    before = _community_badges(client.get("/w/acme/communities").text)
    assert "amira.example" in before and not any(before.values())
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    _register(engine, settings, other, "did:plc:bruno", "bruno.example")
    _register(engine, settings, workspace_id, "did:plc:brand-account", "@Amira.Example")

    page = client.get("/w/acme/communities")
    assert page.status_code == 200
    marked = _community_badges(page.text)  # the cached cards were recomputed
    assert [handle for handle, own in marked.items() if own] == ["amira.example"]
    assert "bruno.example" in marked
