"""Topic pages over HTTP: the list and add form (inline rule errors), the rule preview, each
topic's dashboard against direct counts, the CSV export, roles and escaping."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.listening.actions import add_topic
from hubbub.listening.models import Topic, TopicMatch
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.web.topics import period
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import csrf_token, ingest, member, record_event, session_cookie

pytestmark = pytest.mark.db

TEXTS = [
    ("amira", "Rocket skates are great"),
    ("bruno", "<script>alert(1)</script> skates hurt"),
    ("chen", '=HYPERLINK("http://evil.example") skates'),
    ("amira", "globex skates are worse"),
    ("bruno", "globex support never answers"),
    ("chen", "nothing to see here"),
]


@pytest.fixture
def listening(engine: Engine, settings: Settings, workspace_id: int) -> dict[str, int]:
    """Topics skates (brand) and globex (competitor), then six recent posts matched live."""
    with transaction(engine) as session:
        ids = {
            "skates": add_topic(session, workspace_id, "skates", "skates", "brand").id,
            "globex": add_topic(session, workspace_id, "globex", "globex", "competitor").id,
        }
    now = utcnow()
    events = [
        record_event(
            n,
            author={"native_id": f"did:plc:{author}", "handle": f"{author}.example"},
            text=text,
            native_id=f"bluesky:{author}:{n}",
            created_at=(now - timedelta(hours=n * 7)).isoformat(),
        )
        for n, (author, text) in enumerate(TEXTS, start=1)
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    return ids


def _as(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, role: Role
) -> TestClient:
    user_id = member(engine, workspace_id, role, f"{role.value}@acme.example")
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return client


def _matches(engine: Engine, topic_id: int) -> int:
    start, end = period(utcnow())
    with transaction(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(TopicMatch)
                .where(
                    TopicMatch.topic_id == topic_id,
                    TopicMatch.created_at >= start,
                    TopicMatch.created_at < end,
                )
            )
            or 0
        )


def test_list_shows_topics_with_their_match_counts(
    client: TestClient, engine: Engine, listening: dict[str, int]
) -> None:
    page = client.get("/w/acme/topics")
    assert page.status_code == 200
    for topic_id in listening.values():
        row = page.text.split(f'id="topic-{topic_id}"')[1].split("</tr>")[0]
        assert f'<td class="num matches">{_matches(engine, topic_id)}</td>' in row
    assert _matches(engine, listening["skates"]) == 4


def test_a_broken_rule_is_shown_inline_and_the_input_kept(
    client: TestClient, engine: Engine, listening: dict[str, int]
) -> None:
    token = csrf_token(client.get("/w/acme/topics").text)
    response = client.post(
        "/w/acme/topics",
        data={
            "name": "<b>new</b>",
            "kind": "campaign",
            "rule": "skates AND (",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert 'id="rule-error"' in response.text
    pointer = response.text.split('id="rule-error">')[1].split("</pre>")[0]
    first, second = pointer.split("\n", 1)
    assert first == "skates AND ("
    assert second.index("^") == len("skates AND (")  # the caret under the end of the rule
    assert 'value="&lt;b&gt;new&lt;/b&gt;"' in response.text
    assert '<option value="campaign" selected>' in response.text
    assert ">skates AND (</textarea>" in response.text
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Topic)) == 2


def test_adding_and_removing_a_topic_is_audited(
    client: TestClient, engine: Engine, workspace_id: int, listening: dict[str, int]
) -> None:
    token = csrf_token(client.get("/w/acme/topics").text)
    added = client.post(
        "/w/acme/topics",
        data={"name": "acme", "kind": "brand", "rule": "acme OR rocket", "csrf_token": token},
        follow_redirects=False,
    )
    assert added.status_code == 303
    twice = client.post(
        "/w/acme/topics",
        data={"name": "acme", "kind": "brand", "rule": "acme", "csrf_token": token},
    )
    assert twice.status_code == 400 and "exists already" in twice.text
    removed = client.post(
        "/w/acme/topics/skates/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "Topic “skates” removed" in client.get(removed.headers["location"]).text
    with transaction(engine) as session:  # another entry than one's own removal says nothing
        other = session.scalar(select(func.min(AuditEntry.id)))
    assert 'id="removed"' not in client.get(f"/w/acme/topics?removed={other}").text
    with transaction(engine) as session:
        names = set(session.scalars(select(Topic.name).where(Topic.workspace_id == workspace_id)))
        audit = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert names == {"acme", "globex"}
    assert audit[-2:] == ["topic.add", "topic.remove"]


def test_preview_lists_stored_posts_matching_the_rule(
    client: TestClient, listening: dict[str, int]
) -> None:
    page = client.get("/w/acme/topics/preview", params={"rule": "skates NOT globex"})
    assert page.status_code == 200
    assert '<span id="hit-count">3</span>' in page.text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    broken = client.get("/w/acme/topics/preview", params={"rule": "skates OR"})
    assert broken.status_code == 400 and 'id="rule-error"' in broken.text


def test_dashboard_figures_equal_direct_counts(
    client: TestClient, engine: Engine, listening: dict[str, int]
) -> None:
    page = client.get("/w/acme/topics/skates")
    assert page.status_code == 200
    skates, globex = _matches(engine, listening["skates"]), _matches(engine, listening["globex"])
    assert f'<span id="volume">{skates}</span>' in page.text
    bars = [int(v) for v in re.findall(r'class="bar"[^>]*data-value="(\d+)"', page.text)]
    assert len(bars) == 30 and sum(bars) == skates
    voice = page.text.split('id="voice"')[1].split("</section>")[0]
    assert (
        f'<td>skates</td><td class="num">{skates}</td><td class="num">{100 * skates / (skates + globex):.1f}%</td>'
        in voice
    )
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    networks = page.text.split('id="networks"')[1].split("</section>")[0]
    assert re.search(rf'>bluesky</a>.*?</td><td class="num">{skates}</td>', networks)


def test_csv_export_defuses_formulas(
    client: TestClient, engine: Engine, listening: dict[str, int]
) -> None:
    response = client.get("/w/acme/topics/skates.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == _matches(engine, listening["skates"])
    texts = {row["text"] for row in rows}
    assert '\'=HYPERLINK("http://evil.example") skates' in texts
    # A number may be negative (a sentiment score); any other cell must not read as a formula.
    numbers = {"id", "followers", "sentiment_score", "likes", "reshares", "replies", "quotes"}
    assert all(re.fullmatch(r"-?[0-9.]*", row[key]) for row in rows for key in numbers)
    text = [row[key] for row in rows for key in row if key not in numbers]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in text)


def test_roles_and_other_workspaces(
    app: FastAPI,
    client: TestClient,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    listening: dict[str, int],
) -> None:
    with _as(app, engine, settings, workspace_id, Role.VIEWER) as viewer:
        assert viewer.get("/w/acme/topics").status_code == 403
    with _as(app, engine, settings, workspace_id, Role.ANALYST) as analyst:
        page = analyst.get("/w/acme/topics")
        assert page.status_code == 200 and "Add a topic" not in page.text
        refused = analyst.post(
            "/w/acme/topics",
            data={"name": "x", "kind": "brand", "rule": "x", "csrf_token": csrf_token(page.text)},
        )
        assert refused.status_code == 403
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
        add_topic(session, globex, "secret", "secret")
    assert client.get("/w/globex/topics/secret").status_code == 404
    assert client.get("/w/acme/topics/secret").status_code == 404
    assert client.get("/w/acme/topics/secret.csv").status_code == 404


def test_edit_in_place_previews_the_unsaved_rule_then_saves_it(
    client: TestClient, engine: Engine, listening: dict[str, int]
) -> None:
    page = client.get("/w/acme/topics/skates/edit")
    assert page.status_code == 200
    assert '<span id="hit-count">4</span>' in page.text  # the stored rule: skates
    token = csrf_token(page.text)
    form = {"rule": "skates NOT globex", "kind": "brand", "active": "on", "csrf_token": token}
    preview = client.post("/w/acme/topics/skates/edit", data={**form, "intent": "preview"})
    assert preview.status_code == 200 and '<span id="hit-count">3</span>' in preview.text
    assert "&lt;script&gt;alert(1)" in preview.text and "<script>alert(1)" not in preview.text
    with transaction(engine) as session:
        assert session.get(Topic, listening["skates"]).rule == "skates"  # type: ignore[union-attr]
    broken = client.post("/w/acme/topics/skates/edit", data={**form, "rule": "skates OR"})
    assert broken.status_code == 400 and 'id="rule-error"' in broken.text
    saved = client.post(
        "/w/acme/topics/skates/edit", data={**form, "kind": "product"}, follow_redirects=False
    )
    assert saved.status_code == 303
    with transaction(engine) as session:
        topic = session.get(Topic, listening["skates"])
        assert topic is not None
        assert (topic.rule, topic.kind, topic.active) == ("skates NOT globex", "product", True)
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-1] == "topic.edit"
    paused = client.post(
        "/w/acme/topics/skates/edit", data={k: v for k, v in form.items() if k != "active"}
    )
    assert paused.status_code == 200  # followed to the list
    with transaction(engine) as session:
        assert session.get(Topic, listening["skates"]).active is False  # type: ignore[union-attr]


def test_editing_needs_a_manager_and_a_topic_of_this_workspace(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, listening: dict[str, int]
) -> None:
    analyst = _as(app, engine, settings, workspace_id, Role.ANALYST)
    assert analyst.get("/w/acme/topics/skates/edit").status_code == 403
    manager = _as(app, engine, settings, workspace_id, Role.MANAGER)
    assert manager.get("/w/acme/topics/nope/edit").status_code == 404
    assert manager.get("/w/acme/topics/skates/edit").status_code == 200
