"""The accuracy page, the correction form on the posts list and the corrections API, with real
roles, sessions and tokens; and the shipped figures against the docs they come from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import create_token
from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.enrich.sentiment import LABELS, default_model
from hubbub.listening.actions import add_topic
from hubbub.listening.corrections.actions import correct_post
from hubbub.listening.corrections.models import EnrichmentCorrection
from hubbub.listening.corrections.queries import calibration_report
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.accuracy import published
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.test_corrections import enriched_posts, texts
from tests.web.conftest import csrf_token, ingest, member, record_event, session_cookie

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "hubbub" / "enrich" / "sentiment" / "accuracy.json"


# ---- the shipped figures are the documented ones -------------------------------------------


def _table(text: str, heading: str, header_start: str) -> list[list[str]]:
    """Cells of the first markdown table starting with ``header_start`` after ``heading``."""
    section = text[text.index(heading) :]
    lines = section[section.index(header_start) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("*") for c in line.strip().strip("|").split("|")])
    return rows


def _number(cell: str) -> float | None:
    return None if cell in ("–", "") else float(cell.replace(",", ""))


def test_the_data_file_matches_the_performance_table() -> None:
    rows = _table(
        (ROOT / "docs" / "performance.md").read_text(), "## Sentiment (issue #7)", "| set |"
    )
    data = json.loads(DATA.read_text())
    assert data == published()
    shipped = data["sentiment"]["held_out"]
    assert len(rows) == len(shipped) == 6
    current = ""
    for cells, item in zip(rows, shipped, strict=True):
        current = cells[0] or current
        assert item["set"] == current
        assert item["scorer"] == cells[1]
        expected = [_number(c) for c in cells[2:7]]
        got = [
            item["accuracy"],
            item["macro_recall"],
            item["macro_f1"],
            item["pearson"],
            item["posts_per_s"],
        ]
        assert got == expected, cells


def test_the_data_file_matches_the_sentiment_and_intent_pages() -> None:
    data = published()
    sentiment = (ROOT / "docs" / "sentiment.md").read_text()
    ml_rows = _table(sentiment, "### Figures (2026-11-25", "| set |")
    documented = {}
    current = ""
    for cells in ml_rows:
        current = cells[0] or current
        documented[(current, cells[1])] = [_number(c) for c in cells[2:6]]
    for item in data["sentiment"]["ml"]:
        key = (item["set"], item["scorer"])
        figures = [item["accuracy"], item["macro_recall"], item["macro_f1"], item["pearson"]]
        assert documented[key] == figures, key
    flat = re.sub(r"\s+", " ", sentiment)
    for item in data["sentiment"]["confusion"]:
        assert json.dumps(item["matrix"]) in flat, item
    intent = (ROOT / "docs" / "intent.md").read_text()
    rows = _table(intent, "## Figures", "| label |")
    by_label = {cells[0]: cells for cells in rows}
    for item in data["intent"]["per_class"]:
        cells = by_label[item["label"]]
        assert [float(c) for c in cells[1:4]] == [item["precision"], item["recall"], item["f1"]]
        assert int(cells[4]) == item["support"]
    assert f"Accuracy is {data['intent']['accuracy']}" in intent
    assert float(by_label["macro"][3]) == data["intent"]["macro_f1"]


# ---- the product ---------------------------------------------------------------------------


@dataclass
class Acme:
    posts: list[int]
    globex_post: int
    cookies: dict[str, str]  # role → session cookie
    tokens: dict[str, str]  # role → API token of acme
    users: dict[str, int]


def _enriched(engine: Engine, settings: Settings, workspace_id: int, texts: list[str]) -> list[int]:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "brand", "acme", "brand")
    events = [record_event(i + 1, text=text) for i, text in enumerate(texts)]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Post.id).where(Post.workspace_id == workspace_id).order_by(Post.id)
            )
        )


@pytest.fixture
def acme(engine: Engine, settings: Settings, workspace_id: int) -> Acme:
    posts = _enriched(
        engine,
        settings,
        workspace_id,
        ["acme lost my parcel again, awful", "acme <b>opens</b> a store", "love acme skates"],
    )
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex Corporation").id
    (globex_post,) = _enriched(engine, settings, globex, ["acme and globex merge"])
    users = {
        role.value: member(engine, workspace_id, role, f"{role.value}@acme.example")
        for role in (Role.VIEWER, Role.ANALYST, Role.OWNER)
    }
    cookies = {role: session_cookie(engine, settings, uid) for role, uid in users.items()}
    with transaction(engine) as session:
        tokens = {
            role: create_token(session, workspace_id, Role(role), f"{role} token")[1]
            for role in ("viewer", "analyst")
        }
    return Acme(posts, globex_post, cookies, tokens, users)


@pytest.fixture
def web(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1")


def _as(client: TestClient, acme: Acme, role: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, acme.cookies[role])
    return client


def test_viewers_see_figures_and_verdicts_but_cannot_correct(
    web: TestClient, acme: Acme, engine: Engine
) -> None:
    client = _as(web, acme, "viewer")
    page = client.get("/w/acme/accuracy")
    assert page.status_code == 200
    assert "Not enough corrections yet" in page.text
    assert "0.7532" in page.text and "support_request" in page.text  # shipped figures
    assert 'href="/w/acme/accuracy"' in page.text  # in the navigation
    assert "sentiment from the <strong>default</strong> tier" in page.text
    posts = client.get("/w/acme/posts")
    assert posts.status_code == 200
    assert 'class="badge sentiment' in posts.text
    assert "/correction" not in posts.text  # no form for a viewer
    refused = client.post(
        f"/w/acme/posts/{acme.posts[0]}/correction",
        data={"label": "negative", "csrf_token": csrf_token(posts.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    api = web.post(
        f"/api/v1/w/acme/posts/{acme.posts[0]}/corrections",
        json={"label": "negative"},
        headers={"Authorization": f"Bearer {acme.tokens['viewer']}"},
    )
    assert api.status_code == 403
    assert api.headers["content-type"].startswith("application/problem+json")
    with Session(engine) as session:
        assert session.scalars(select(EnrichmentCorrection)).all() == []


def test_an_analyst_corrects_through_the_form_with_csrf_and_an_audit_entry(
    web: TestClient, acme: Acme, engine: Engine
) -> None:
    client = _as(web, acme, "analyst")
    posts = client.get("/w/acme/posts?limit=50")
    assert f'action="/w/acme/posts/{acme.posts[1]}/correction"' in posts.text
    target = acme.posts[1]
    without_csrf = client.post(
        f"/w/acme/posts/{target}/correction", data={"label": "neutral"}, follow_redirects=False
    )
    assert without_csrf.status_code == 403
    sent = client.post(
        f"/w/acme/posts/{target}/correction",
        data={
            "label": "positive",
            "intents": ["praise", "question"],
            "next": "/w/acme/posts?limit=50",
            "csrf_token": csrf_token(posts.text),
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/w/acme/posts?limit=50#post-{target}"
    offsite = client.post(
        f"/w/acme/posts/{target}/correction",
        data={"label": "neutral", "next": "//evil.example/", "csrf_token": csrf_token(posts.text)},
        follow_redirects=False,
    )
    assert offsite.headers["location"] == f"/w/acme/posts#post-{target}"
    with Session(engine) as session:
        rows = session.scalars(select(EnrichmentCorrection).order_by(EnrichmentCorrection.id))
        found = [(r.post_id, r.user_id, r.label, r.intents) for r in rows]
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "enrichment.correct")
        ).all()
    analyst = acme.users["analyst"]
    assert found == [
        (target, analyst, "positive", ["praise", "question"]),
        (target, analyst, "neutral", []),  # nothing ticked: "no intent" is a verdict too
    ]
    assert [(a.actor_user_id, a.target) for a in audit] == [(analyst, f"post:{target}")] * 2
    shown = client.get("/w/acme/posts?limit=50").text
    assert "checked by an analyst" in shown
    page = client.get("/w/acme/accuracy").text
    assert "analyst@acme.example" in page
    assert "not enough corrections yet: 1 of the 100 needed" in page.lower()


def test_the_api_corrects_validates_and_pages(web: TestClient, acme: Acme) -> None:
    auth = {"Authorization": f"Bearer {acme.tokens['analyst']}"}
    url = f"/api/v1/w/acme/posts/{acme.posts[0]}/corrections"
    made = web.post(url, json={"label": "negative", "intents": ["complaint"]}, headers=auth)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["label"] == "negative" and body["intents"] == ["complaint"]
    assert body["token_id"] is not None and body["user_id"] is None
    assert body["model_label"] in ("negative", "neutral", "positive")
    only_intents = web.post(url, json={"intents": []}, headers=auth)
    assert only_intents.status_code == 201 and only_intents.json()["label"] is None

    for payload, field in (
        ({"label": "furious"}, "label"),
        ({"intents": ["complaint", "rant"]}, "intents"),
        ({}, None),
    ):
        refused = web.post(url, json=payload, headers=auth)
        assert refused.status_code == 422, payload
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["detail"]
        if field:
            assert problem["errors"][0]["field"] == field
    assert "furious" in web.post(url, json={"label": "furious"}, headers=auth).json()["detail"]

    other = web.post(
        f"/api/v1/w/acme/posts/{acme.globex_post}/corrections",
        json={"label": "negative"},
        headers=auth,
    )
    assert other.status_code == 404  # globex's post, through acme's path
    assert web.get("/api/v1/w/globex/corrections", headers=auth).status_code == 404

    first = web.get("/api/v1/w/acme/corrections?limit=1", headers=auth)
    assert first.status_code == 200
    page = first.json()
    assert [c["id"] for c in page["items"]] == [only_intents.json()["id"]]
    assert page["next_cursor"] and page["next"]
    second = web.get(page["next"], headers=auth).json()
    assert [c["id"] for c in second["items"]] == [body["id"]]
    assert second["next_cursor"] is None
    shown = web.get("/w/acme/accuracy", headers=auth)
    assert shown.status_code == 200 and "token analyst token" in shown.text
    bad = web.get("/api/v1/w/acme/corrections?cursor=nonsense", headers=auth)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_other_workspaces_posts_are_not_found_from_the_form(web: TestClient, acme: Acme) -> None:
    client = _as(web, acme, "owner")
    page = client.get("/w/acme/posts")
    found = client.post(
        f"/w/acme/posts/{acme.globex_post}/correction",
        data={"label": "negative", "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert found.status_code == 404
    assert client.get("/w/globex/accuracy").status_code == 404
    bad = client.post(
        f"/w/acme/posts/{acme.posts[0]}/correction",
        data={"label": "angry", "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert "angry" in bad.text


def test_the_page_shows_held_out_agreement_before_and_after(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """Enough biased corrections (see tests/listening/test_corrections.py): the page shows
    the fit's held-out figures and both confusion matrices."""
    ids = enriched_posts(engine, settings, workspace_id, texts(150, seed=5))
    proba = default_model().proba(list(ids.values()))
    analyst = np.where(proba[:, 0] >= 0.2, 0, proba.argmax(axis=1))
    for post_id, truth in zip(ids, analyst, strict=True):
        with transaction(engine) as session:
            correct_post(session, workspace_id, post_id, label=LABELS[int(truth)])
    with Session(engine) as session:
        report = calibration_report(session, workspace_id)
    assert report is not None and report.before is not None and report.after is not None
    page = client.get("/w/acme/accuracy")
    assert page.status_code == 200
    text = page.text
    assert f"on {report.held_out} held-out corrected posts" in text
    assert f"{report.before.accuracy * 100:.1f}%" in text
    assert f"{report.after.accuracy * 100:.1f}%" in text
    assert "Calibrated, on the same held-out corrections" in text
    assert ("New posts matched from now on get the calibrated sentiment" in text) == report.applied


def test_the_page_says_which_tier_labels_new_posts(
    settings: Settings, engine: Engine, acme: Acme
) -> None:
    ml_app = create_app(settings.model_copy(update={"sentiment_tier": "ml"}), engine)
    client = _as(TestClient(ml_app, base_url="http://127.0.0.1"), acme, "viewer")
    found = re.search(r'<p id="sentiment-tier">(.*?)</p>', client.get("/w/acme/accuracy").text)
    assert found is not None
    assert "from the <strong>ml</strong> tier" in found.group(1)
    assert "not applied to this tier's labels" in found.group(1)


def test_the_posts_page_shows_each_topics_own_verdict(
    web: TestClient, acme: Acme, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "Globex <Corp>", "globex", "competitor")
    event = record_event(99, text="love acme, globex is awful")
    assert ingest(engine, settings, workspace_id, [event]).rejected == 0
    page = _as(web, acme, "viewer").get("/w/acme/posts")
    assert page.status_code == 200
    item = page.text[page.text.index("love acme, globex is awful") :]
    item = item[: item.index("</li>")]
    assert re.search(
        r"per topic: brand <span class=\"badge sentiment positive\">positive</span>"
        r" Globex &lt;Corp&gt; <span class=\"badge sentiment negative\">negative</span>",
        item,
    )
    assert "per topic" not in page.text[page.text.index("love acme skates") :].split("</li>")[0]
    api = web.get(
        "/api/v1/w/acme/posts?limit=10",
        headers={"Authorization": f"Bearer {acme.tokens['viewer']}"},
    )
    assert api.status_code == 200
    items = {item["text"]: item["enrichment"] for item in api.json()["items"]}
    mixed = items["love acme, globex is awful"]
    assert mixed["per_topic"] == [
        {"topic": "brand", "sentiment": "positive"},
        {"topic": "Globex <Corp>", "sentiment": "negative"},
    ]
    assert items["love acme skates"]["per_topic"] == []
    assert items["love acme skates"]["sentiment"] == items["love acme skates"]["model_sentiment"]

    # Each topic's dashboard lists the post under the verdict it counted it as.
    owner = _as(web, acme, "owner")
    for topic, label in (("brand", "positive"), ("Globex%20%3CCorp%3E", "negative")):
        page = owner.get(f"/w/acme/topics/{topic}")
        assert page.status_code == 200
        item = page.text[: page.text.index("love acme, globex is awful")]
        item = item[item.rindex('<li class="post"') :]
        assert (
            f'<span class="badge sentiment {label}" title="sentiment towards this topic">' in item
        )


def test_the_posts_api_shows_the_corrected_verdict_beside_the_models(
    web: TestClient, acme: Acme, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        correct_post(session, workspace_id, acme.posts[1], label="negative", intents=["complaint"])
    api = web.get(
        "/api/v1/w/acme/posts", headers={"Authorization": f"Bearer {acme.tokens['viewer']}"}
    )
    found = {item["id"]: item["enrichment"] for item in api.json()["items"]}
    assert found[acme.posts[1]]["sentiment"] == "negative"
    assert found[acme.posts[1]]["intents"] == ["complaint"]
    assert found[acme.posts[1]]["corrections"] == 1
    assert found[acme.posts[1]]["model_sentiment"] != "negative"
    assert found[acme.posts[0]]["corrections"] == 0


def test_an_api_correction_moves_the_dashboards_split_by_one_post(
    web: TestClient, acme: Acme, engine: Engine
) -> None:
    """Through the route a client uses: the topic's summary (the dashboard as data) counts the
    post under the analyst's label, the drill-down lists it so, and what the model said stays
    on the corrections, the accuracy page and the posts API."""
    auth = {"Authorization": f"Bearer {acme.tokens['analyst']}"}
    summary = (
        "/api/v1/w/acme/topics/brand/summary?since=2026-07-04T00:00:00Z&until=2026-07-06T00:00:00Z"
    )

    def split() -> dict[str, int]:
        found = web.get(summary, headers=auth)
        assert found.status_code == 200, found.text
        return {c["value"]: c["posts"] for c in found.json()["sentiment"] if c["posts"]}

    def shown(post_id: int) -> dict[str, object]:
        items = web.get("/api/v1/w/acme/posts", headers=auth).json()["items"]
        return next(item["enrichment"] for item in items if item["id"] == post_id)

    target = acme.posts[0]  # "acme lost my parcel again, awful"
    model = shown(target)["model_sentiment"]
    assert model == "negative"
    before = split()
    made = web.post(
        f"/api/v1/w/acme/posts/{target}/corrections", json={"label": "positive"}, headers=auth
    )
    assert made.status_code == 201, made.text
    after = split()
    assert sum(after.values()) == sum(before.values())
    assert after.get("negative", 0) == before["negative"] - 1
    assert after.get("positive", 0) == before.get("positive", 0) + 1
    listed = web.get("/api/v1/w/acme/topics/brand/posts?sentiment=positive", headers=auth).json()
    assert target in [item["post"]["id"] for item in listed["items"]]

    again = web.post(
        f"/api/v1/w/acme/posts/{target}/corrections", json={"label": "neutral"}, headers=auth
    )
    assert again.status_code == 201
    assert split().get("neutral", 0) == before.get("neutral", 0) + 1
    assert split().get("positive", 0) == before.get("positive", 0)
    assert made.json()["model_label"] == again.json()["model_label"] == model
    enrichment = shown(target)
    assert (enrichment["sentiment"], enrichment["model_sentiment"]) == ("neutral", model)
    page = web.get("/w/acme/accuracy", headers=auth).text
    rows = re.findall(rf"<td>#{target}</td>\s*<td>([a-z]+)", page)
    assert rows == [model, model]  # "model said" on both, not the first correction's label
