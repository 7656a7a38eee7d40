"""The JSON API: health, cursor pagination with filters, problem+json errors, the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

from hubbub.settings import Settings
from hubbub.store.engine import make_engine
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE
from hubbub.web.headers import SECURITY_HEADERS
from tests.support.factories import BASE_TIME, jsonl_event
from tests.web.conftest import ingest

PROBLEM = "application/problem+json"


@pytest.fixture
def twelve(engine: Engine, settings: Settings, workspace_id: int) -> int:
    """Twelve posts, four of them sharing one timestamp, two on mastodon."""
    events = [
        jsonl_event(n, created_at=BASE_TIME.isoformat(), text=f"tie {n}") for n in range(1, 5)
    ]
    events += [jsonl_event(n, text=f"post {n}") for n in range(5, 11)]
    events += [
        jsonl_event(n, network="mastodon", author="chen", text=f"toot {n}") for n in range(11, 13)
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    return workspace_id


def test_health_reports_the_database(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_cursor_pagination_returns_every_post_once_in_order(
    client: TestClient, twelve: int
) -> None:
    items: list[dict[str, object]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/w/acme/posts", params=params).json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["next"] is None
            break
        assert body["next"].startswith("/api/v1/w/acme/posts?")
    assert pages == 3
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == 12
    keys = [(item["created_at"], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)
    assert items[0]["text"] == "toot 12"
    assert items[0]["author"]["handle"] == "chen@mastodon.example"  # type: ignore[index]
    assert items[0]["created_at"] == "2026-07-04T12:12:00Z"


def test_next_link_keeps_the_filters(client: TestClient, twelve: int) -> None:
    first = client.get("/api/v1/w/acme/posts?network=bluesky&limit=4").json()
    assert [i["text"] for i in first["items"]] == ["post 10", "post 9", "post 8", "post 7"]
    second = client.get(first["next"]).json()
    assert [i["text"] for i in second["items"]] == ["post 6", "post 5", "tie 4", "tie 3"]
    third = client.get(second["next"]).json()
    assert [i["text"] for i in third["items"]] == ["tie 2", "tie 1"]
    assert third["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "texts"),
    [
        ("network=mastodon", ["toot 12", "toot 11"]),
        ("author=chen@mastodon.example", ["toot 12", "toot 11"]),
        ("contains=TIE%203", ["tie 3"]),
        ("since=2026-07-04T12:10:00Z&until=2026-07-04T12:12:00%2B00:00", ["toot 11", "post 10"]),
        ("until=2026-07-04T12:00:00.000001Z&limit=2", ["tie 4", "tie 3"]),
    ],
)
def test_filters(client: TestClient, twelve: int, query: str, texts: list[str]) -> None:
    response = client.get(f"/api/v1/w/acme/posts?{query}")
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["items"]] == texts


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("cursor=garbage", 400, "cursor"),
        ("since=soon", 400, "since"),
        ("since=2026-07-05&until=2026-07-04", 400, "until"),
        ("limit=0", 422, "limit"),
        ("limit=501", 422, "limit"),
        ("limit=many", 422, "limit"),
        ("deleted=perhaps", 422, "deleted"),
        ("network=" + "x" * 33, 422, "network"),
        ("network=mastodn", 400, "network"),  # a typo, not an empty answer
    ],
)
def test_bad_parameters_are_problem_json(
    client: TestClient, twelve: int, query: str, status: int, field: str
) -> None:
    response = client.get(f"/api/v1/w/acme/posts?{query}")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert field in body["detail"]
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize("path", ["/api/v1/w/nope/posts", "/api/v1/nothing-here"])
def test_not_found_is_problem_json(client: TestClient, twelve: int, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 404


def test_openapi_schema_is_served_and_docs_pages_are_off(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/w/{slug}/posts" in schema["paths"]
    assert "/api/v1/health" in schema["paths"]
    assert not any(path.startswith("/w/") for path in schema["paths"])
    get = schema["paths"]["/api/v1/w/{slug}/posts"]["get"]
    assert PROBLEM in get["responses"]["400"]["content"]
    # FastAPI's /docs and /redoc load their JavaScript from a CDN: they must not exist
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_database_failures_are_503_and_500_problems(settings: Settings, tmp_path: Path) -> None:
    """An empty, unmigrated database: health says so, other endpoints fail without a trace."""
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(settings, broken)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        health = client.get("/api/v1/health")
        assert health.status_code == 200  # SELECT 1 needs no table
        # a token or a session cookie makes the app read the (missing) account tables
        posts = client.get("/api/v1/w/acme/posts", headers={"Authorization": "Bearer hbb_x"})
        assert posts.status_code == 500
        assert posts.headers["content-type"] == PROBLEM
        assert "Traceback" not in posts.text and "sqlite" not in posts.text.lower()
        client.cookies.set(SESSION_COOKIE, "some-session")
        page = client.get("/w/acme/posts")
        assert page.status_code == 500
        assert "the server failed to answer" in page.text
        for response in (posts, page):  # 500s are sent outside the middleware: checked here
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value, name
            assert response.headers["cache-control"] == "no-store"
    broken.dispose()


def test_health_is_503_problem_when_the_database_is_unreachable(
    settings: Settings, tmp_path: Path
) -> None:
    unreachable = create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    with TestClient(create_app(settings, unreachable), base_url="http://127.0.0.1") as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "the database does not answer"
