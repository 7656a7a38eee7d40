"""The topics API: the workspace's topics, and a topic's matched posts paged by cursor with the
sentiment each counts under in that topic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import create_token
from hubbub.accounts.permissions import Role
from hubbub.listening.actions import add_topic
from hubbub.listening.models import Topic, TopicMatch
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import BASE_TIME, PERSONAS
from tests.web.conftest import ingest, record_event

TEXTS = [
    "acme lost my parcel again, awful",
    "acme opens a store downtown",
    "love acme skates",
    "love acme, globex is awful",
    "globex shipped on time",
    "nothing to see here",
    "acme support answered within minutes, thank you",
]
BRUNO = {"native_id": PERSONAS["bruno"]["native_id"], "handle": PERSONAS["bruno"]["handle"]}


@pytest.fixture
def tokens(engine: Engine, settings: Settings, workspace_id: int) -> dict[str, str]:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "brand", "acme", "brand")
        add_topic(session, workspace_id, "Globex", "globex", "competitor")
        other = ensure_workspace(session, "globex", "Globex Corporation").id
        add_topic(session, other, "brand", "acme", "brand")
    events = [record_event(i + 1, text=text) for i, text in enumerate(TEXTS)]
    # One author besides amira: the top authors rank by matching posts.
    events[-1] = record_event(len(TEXTS), text=TEXTS[-1], author=BRUNO, native_id="bluesky:b:7")
    # Two more acme posts at the same instant as post 3: a page boundary may fall between them.
    same_time = (BASE_TIME + timedelta(minutes=3)).isoformat()
    events += [record_event(20 + i, text=f"acme tie {i}", created_at=same_time) for i in range(2)]
    events.append(
        record_event(30, text="acme on mastodon", network="mastodon", native_id="mastodon:a:30")
    )
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    assert ingest(engine, settings, other, [record_event(40, text="acme elsewhere")]).rejected == 0
    with transaction(engine) as session:
        return {
            role: create_token(session, workspace_id, Role(role), f"{role} token")[1]
            for role in ("viewer", "analyst")
        }


def _get(client: TestClient, token: str, url: str) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def _all_pages(client: TestClient, token: str, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while url:
        page = _get(client, token, url)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        assert (body["next"] is None) == (body["next_cursor"] is None)
        url = body["next"]
    return items


def test_topics_are_listed_with_their_rules(anonymous: TestClient, tokens: dict[str, str]) -> None:
    found = _get(anonymous, tokens["analyst"], "/api/v1/w/acme/topics")
    assert found.status_code == 200
    assert [(t["name"], t["kind"], t["rule"]) for t in found.json()] == [
        ("Globex", "competitor", "globex"),
        ("brand", "brand", "acme"),
    ]


def test_pages_walk_every_match_once_newest_first_across_equal_times(
    anonymous: TestClient, tokens: dict[str, str], engine: Engine, workspace_id: int
) -> None:
    items = _all_pages(anonymous, tokens["analyst"], "/api/v1/w/acme/topics/brand/posts?limit=2")
    with Session(engine) as session:
        topic_id = session.scalar(
            select(Topic.id).where(Topic.workspace_id == workspace_id, Topic.name == "brand")
        )
        expected = session.execute(
            select(Post.id, Post.created_at)
            .join(TopicMatch, TopicMatch.post_id == Post.id)
            .where(TopicMatch.topic_id == topic_id)
            .order_by(Post.created_at.desc(), Post.id.desc())
        ).all()
    assert len(expected) == 8  # five acme posts of TEXTS, two ties, one on mastodon
    assert [item["post"]["id"] for item in items] == [row.id for row in expected]
    assert "acme elsewhere" not in {item["post"]["text"] for item in items}


def test_each_post_carries_the_sentiment_it_counts_under_in_the_topic(
    anonymous: TestClient, tokens: dict[str, str]
) -> None:
    def by_text(url: str) -> dict[str, dict[str, Any]]:
        items = _all_pages(anonymous, tokens["analyst"], url)
        return {item["post"]["text"]: item for item in items}

    mixed = "love acme, globex is awful"
    brand = by_text("/api/v1/w/acme/topics/brand/posts")
    globex = by_text("/api/v1/w/acme/topics/Globex/posts")
    assert brand[mixed]["sentiment"] == "positive"
    assert globex[mixed]["sentiment"] == "negative"
    assert globex[mixed]["post"]["enrichment"]["per_topic"] == [
        {"topic": "brand", "sentiment": "positive"},
        {"topic": "Globex", "sentiment": "negative"},
    ]
    # A post naming one topic counts under its own verdict.
    plain = brand["love acme skates"]
    assert plain["sentiment"] == plain["post"]["enrichment"]["sentiment"] == "positive"

    negative = by_text("/api/v1/w/acme/topics/Globex/posts?sentiment=negative")
    assert set(negative) == {mixed}
    positive = by_text("/api/v1/w/acme/topics/brand/posts?sentiment=positive")
    assert mixed in positive and "acme lost my parcel again, awful" not in positive
    assert all(item["sentiment"] == "positive" for item in positive.values())


def test_filters_by_network_and_time(anonymous: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/w/acme/topics/brand/posts"
    on_mastodon = _all_pages(anonymous, tokens["analyst"], f"{url}?network=mastodon")
    assert [item["post"]["text"] for item in on_mastodon] == ["acme on mastodon"]
    start = (BASE_TIME + timedelta(minutes=2)).isoformat()
    end = (BASE_TIME + timedelta(minutes=4)).isoformat()
    window = _all_pages(
        anonymous, tokens["analyst"], f"{url}?since={start}&until={end}".replace("+", "%2B")
    )
    assert sorted(item["post"]["text"] for item in window) == [
        "acme opens a store downtown",
        "acme tie 0",
        "acme tie 1",
        "love acme skates",
    ]


def test_an_unknown_network_is_a_problem_not_an_empty_page(
    anonymous: TestClient, tokens: dict[str, str], engine: Engine, settings: Settings
) -> None:
    analyst = tokens["analyst"]
    for url in ("/api/v1/w/acme/topics/brand/posts", "/api/v1/w/acme/topics/brand/summary"):
        typo = _get(anonymous, analyst, f"{url}?network=mastodn")
        assert typo.status_code == 400, url
        assert typo.headers["content-type"] == "application/problem+json"
        assert typo.json()["errors"] == [
            {"field": "network", "message": "is unknown: 'mastodn' (use bluesky, hackernews, "
             "mastodon, rss)"}
        ]  # fmt: skip
        # A connector's network without posts here is a true empty answer, not an error.
        assert _get(anonymous, analyst, f"{url}?network=RSS").status_code == 200
    # An imported file may name any network: one the workspace's authors are on is known.
    with transaction(engine) as session:
        acme = ensure_workspace(session, "acme").id
    fax = record_event(50, text="acme by fax", network="fax", native_id="fax:a:50")
    assert ingest(engine, settings, acme, [fax]).rejected == 0
    posts = _get(anonymous, analyst, "/api/v1/w/acme/topics/brand/posts?network=Fax")
    assert posts.status_code == 200, posts.text
    assert [item["post"]["text"] for item in posts.json()["items"]] == ["acme by fax"]
    listed = _get(anonymous, analyst, "/api/v1/w/acme/topics/brand/posts?network=fa")
    assert "fax" in listed.json()["detail"]


def test_bad_requests_get_clear_problems(anonymous: TestClient, tokens: dict[str, str]) -> None:
    analyst = tokens["analyst"]
    url = "/api/v1/w/acme/topics/brand/posts"
    cursor = _get(anonymous, analyst, f"{url}?cursor=not-ours")
    assert cursor.status_code == 400
    assert cursor.headers["content-type"].startswith("application/problem+json")
    assert cursor.json()["errors"][0]["field"] == "cursor"
    assert cursor.json()["detail"] == "cursor is not one this server issued"
    backwards = _get(anonymous, analyst, f"{url}?since=2026-02-01&until=2026-01-01")
    assert backwards.status_code == 400 and backwards.json()["errors"][0]["field"] == "until"
    assert _get(anonymous, analyst, f"{url}?since=yesterday").status_code == 400
    assert _get(anonymous, analyst, f"{url}?sentiment=angry").status_code == 422
    assert _get(anonymous, analyst, f"{url}?lang=english!").status_code == 422
    missing = _get(anonymous, analyst, "/api/v1/w/acme/topics/nope/posts")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_roles_and_workspaces_are_enforced(anonymous: TestClient, tokens: dict[str, str]) -> None:
    # Topics are for analysts and above (docs/permissions.md); another workspace is not found.
    assert _get(anonymous, tokens["viewer"], "/api/v1/w/acme/topics").status_code == 403
    assert _get(anonymous, tokens["analyst"], "/api/v1/w/globex/topics").status_code == 404
    assert (
        _get(anonymous, tokens["analyst"], "/api/v1/w/globex/topics/brand/posts").status_code == 404
    )
    assert anonymous.get("/api/v1/w/acme/topics/brand/posts").status_code == 401


def test_the_summary_counts_each_post_as_the_topic_does(
    anonymous: TestClient, tokens: dict[str, str]
) -> None:
    analyst = tokens["analyst"]
    hour = "since=2026-07-04T12:10&until=2026-07-04T12:50"  # rounded out to 12:00–13:00

    def summary(name: str, extra: str = "") -> Any:
        found = _get(anonymous, analyst, f"/api/v1/w/acme/topics/{name}/summary?{hour}{extra}")
        assert found.status_code == 200, found.text
        return found.json()

    brand = summary("brand")
    assert (brand["since"], brand["until"]) == ("2026-07-04T12:00:00Z", "2026-07-04T13:00:00Z")
    assert brand["posts"] == 8 == sum(c["posts"] for c in brand["networks"])
    assert {c["value"]: c["posts"] for c in brand["networks"]} == {"bluesky": 7, "mastodon": 1}
    assert brand["hourly"] == [{"hour": "2026-07-04T12:00:00Z", "posts": 8}]
    # Each post counts under the label the posts endpoint gives it in that topic: the post
    # praising acme and panning globex is positive in one, negative in the other.
    by_label: dict[str, dict[str, int]] = {}
    for name in ("brand", "Globex"):
        labels = by_label[name] = {}
        for item in _all_pages(anonymous, analyst, f"/api/v1/w/acme/topics/{name}/posts"):
            labels[item["sentiment"]] = labels.get(item["sentiment"], 0) + 1
        assert {c["value"]: c["posts"] for c in summary(name)["sentiment"]} == labels
    assert by_label["brand"]["positive"] >= 2 and by_label["Globex"]["negative"] == 1
    assert summary("brand", "&sentiment=positive")["posts"] == by_label["brand"]["positive"]
    assert summary("brand", "&network=mastodon")["posts"] == 1
    # Languages are filed under their primary code: en-US and EN mean en.
    assert summary("brand", "&lang=en-US")["posts"] == summary("brand", "&lang=EN")["posts"] == 8
    assert summary("brand", "&lang=de")["posts"] == 0
    # Default window: the dashboard's last 30 days, from a UTC midnight to the next whole hour
    # (the fixture's July is long gone).
    default = _get(anonymous, analyst, "/api/v1/w/acme/topics/brand/summary").json()
    assert default["posts"] == 0 and default["until"].endswith(":00:00Z")
    assert default["since"].endswith("T00:00:00Z")
    days = datetime.fromisoformat(default["until"]) - datetime.fromisoformat(default["since"])
    assert timedelta(days=29) < days <= timedelta(days=30)


def test_summary_windows_are_checked(anonymous: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/w/acme/topics/brand/summary"
    backwards = _get(anonymous, tokens["analyst"], f"{url}?since=2026-07-05&until=2026-07-04")
    assert backwards.status_code == 400 and backwards.json()["errors"][0]["field"] == "until"
    too_long = _get(anonymous, tokens["analyst"], f"{url}?since=2024-01-01&until=2026-01-01")
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["field"] == "since"
    assert _get(anonymous, tokens["viewer"], url).status_code == 403
    assert (
        _get(anonymous, tokens["analyst"], "/api/v1/w/globex/topics/brand/summary").status_code
        == 404
    )


def test_the_summary_ranks_voice_authors_and_terms(
    anonymous: TestClient, tokens: dict[str, str]
) -> None:
    analyst = tokens["analyst"]
    window = "since=2026-07-04T12:00&until=2026-07-04T13:00"

    def summary(name: str, extra: str = "") -> Any:
        found = _get(anonymous, analyst, f"/api/v1/w/acme/topics/{name}/summary?{window}{extra}")
        assert found.status_code == 200, found.text
        return found.json()

    brand = summary("brand")
    # The topic first, then the competitors; percentages of their sum.
    assert brand["share_of_voice"] == [
        {"topic": "brand", "kind": "brand", "posts": 8, "percent": 80.0},
        {"topic": "Globex", "kind": "competitor", "posts": 2, "percent": 20.0},
    ]
    assert [v["topic"] for v in summary("Globex")["share_of_voice"]] == ["Globex"]
    # The filters apply to every topic's volume alike.
    assert [v["posts"] for v in summary("brand", "&network=mastodon")["share_of_voice"]] == [1, 0]

    ranked = [(a["network"], a["author"]["handle"], a["posts"]) for a in brand["top_authors"]]
    assert ranked == [
        ("bluesky", "amira.bsky.social", 6),
        ("bluesky", "bruno.bsky.social", 1),
        ("mastodon", "amira.bsky.social", 1),
    ]
    assert len(summary("brand", "&top=1")["top_authors"]) == 1

    # Each term's count is the number of the topic's posts whose words include it.
    texts = [t.lower() for t in TEXTS if "acme" in t] + [
        "acme tie 0",
        "acme tie 1",
        "acme on mastodon",
    ]
    assert brand["terms_since"] == "2026-07-04"
    assert brand["top_terms"], "no terms counted"
    # Most posts first, ties by term; stop words are not terms.
    assert [(t["term"], t["posts"]) for t in brand["top_terms"][:5]] == [
        ("#acme", 8),
        ("acme", 8),
        ("awful", 2),
        ("love", 2),
        ("tie", 2),
    ]
    for term in brand["top_terms"]:
        # Every post of the fixture carries the hashtag #acme.
        words = [{*text.replace(",", " ").split(), "#acme"} for text in texts]
        assert term["posts"] == sum(term["term"] in w for w in words), term
    assert [t["posts"] for t in brand["top_terms"]] == sorted(
        (t["posts"] for t in brand["top_terms"]), reverse=True
    )
    assert _get(anonymous, analyst, "/api/v1/w/acme/topics/brand/summary?top=51").status_code == 422
