"""Conversions through the API (token scope, roles, idempotency, conflicts, isolation) and what
the metrics page and its CSV make of them: the funnel's advocacy rows, the business case's
actuals, and cohort retention — through the app, signed in for real."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from hubbub.accounts.actions import create_token
from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.listening.actions import add_topic
from hubbub.measure.cohorts import month_start
from hubbub.measure.models import Conversion
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import csrf_token, ingest, member, record_event, sign_in

pytestmark = pytest.mark.db

# (author, hours ago) of posts about skates
POSTS = [("amira", 2), ("bruno", 5), ("amira", 40), ("chen", 24 * 9), ("amira", 24 * 50)]


@pytest.fixture
def world(engine: Engine, settings: Settings, workspace_id: int) -> dict[str, str]:
    """Topics skates (brand) and spring (campaign), posts, and a token per role."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
        add_topic(session, workspace_id, "spring", "#spring", "campaign")
    now = utcnow()
    events = [
        record_event(
            n,
            author={"native_id": f"did:plc:{who}", "handle": f"{who}.example"},
            text=f"skates post {n}",
            native_id=f"bluesky:{who}:{n}",
            created_at=(now - timedelta(hours=hours)).isoformat(),
        )
        for n, (who, hours) in enumerate(POSTS, start=1)
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex Corporation").id
        tokens = {
            role.value: create_token(session, workspace_id, role, f"{role} api")[1]
            for role in (Role.ANALYST, Role.MANAGER)
        }
        tokens["globex"] = create_token(session, globex, Role.OWNER, "globex")[1]
    return tokens


def _body(n: int, value: float, days_ago: float = 1, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "external_id": f"order-{n}",
        "occurred_at": (utcnow() - timedelta(days=days_ago)).isoformat(),
        "value": value,
        "currency": "EUR",
        "topic": "spring",
    }
    body.update(changes)
    return body


def _api(app: FastAPI, token: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_recording_by_api_is_idempotent_scoped_and_audited(
    app: FastAPI, engine: Engine, world: dict[str, str]
) -> None:
    url = "/api/v1/w/acme/conversions"
    first = _body(1, 120.5)
    with _api(app, world["manager"]) as manager:
        created = manager.post(url, json=first)
        assert created.status_code == 201, created.text
        stored = created.json()
        assert (stored["external_id"], stored["value"], stored["topic"]) == (
            "order-1",
            120.5,
            "spring",
        )
        assert stored["source"] == "api"
        again = manager.post(url, json=first)
        assert again.status_code == 200 and again.json() == stored  # a replay, same record
        conflict = manager.post(url, json={**first, "value": 99})
        assert conflict.status_code == 409
        assert conflict.headers["content-type"].startswith("application/problem+json")
        assert "other values" in conflict.json()["detail"]
        unknown = manager.post(url, json=_body(2, 5, topic="<b>nope</b>"))
        assert unknown.status_code == 400 and "no topic named" in unknown.json()["detail"]
        naive = manager.post(url, json={**_body(3, 5), "occurred_at": "2026-11-01T10:00:00"})
        assert naive.status_code in (400, 422)
        negative = manager.post(url, json=_body(4, -1))
        assert negative.status_code in (400, 422)
        future = manager.post(url, json=_body(5, 1, days_ago=-3))
        assert future.status_code == 400 and "future" in future.json()["detail"]
        assert manager.post("/api/v1/w/globex/conversions", json=_body(6, 1)).status_code == 404
    with _api(app, world["analyst"]) as analyst:
        assert analyst.post(url, json=_body(7, 1)).status_code == 403
    with _api(app, world["globex"]) as outsider:
        assert outsider.post(url, json=_body(8, 1)).status_code == 404
        theirs = outsider.post("/api/v1/w/globex/conversions", json={**first, "topic": None})
        assert theirs.status_code == 201  # the same external id in another workspace is new
    with TestClient(app, base_url="http://127.0.0.1") as anonymous:
        assert anonymous.post(url, json=_body(9, 1)).status_code == 401
    with transaction(engine) as session:
        rows = session.execute(select(Conversion.workspace_id, Conversion.external_id)).all()
        assert sorted(external for _, external in rows) == ["order-1", "order-1"]
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "conversion.record")
        ).all()
        assert len(audit) == 2 and all(entry.actor_token_id is not None for entry in audit)


def test_the_api_is_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/w/{slug}/conversions"]["post"]
    assert {"200", "201", "400", "409"} <= set(operation["responses"])


def _cells(html: str, label: str) -> list[str]:
    found = re.search(
        rf"<td>{re.escape(label)}</td>\s*((?:<td class=\"num\">[^<]*</td>\s*)+)", html
    )
    assert found, label
    return re.findall(r'<td class="num">([^<]*)</td>', found.group(1))


def test_a_change_that_rounds_to_nothing_is_zero_percent_not_minus_zero(
    app: FastAPI, engine: Engine, workspace_id: int, world: dict[str, str]
) -> None:
    with _api(app, world["manager"]) as manager:
        for body in (
            _body(1, 999.6, days_ago=1),  # EUR: 999.60 against 1,000 is -0.04%
            _body(2, 103, days_ago=1, currency="GBP"),
            _body(3, 98, days_ago=1, currency="USD"),
            _body(4, 1000, days_ago=10),
            _body(5, 100, days_ago=10, currency="GBP"),
            _body(6, 100, days_ago=10, currency="USD"),
        ):
            assert manager.post("/api/v1/w/acme/conversions", json=body).status_code == 201
    member(engine, workspace_id, Role.ANALYST, "ana@acme.example")
    with TestClient(app, base_url="http://127.0.0.1") as browser:
        assert sign_in(browser, "ana@acme.example").status_code == 303
        page = browser.get("/w/acme/metrics", params={"topic": "spring", "period": "7"})
        assert page.status_code == 200, page.text
    assert _cells(page.text, "conversions") == ["3", "3", "0%"]
    assert _cells(page.text, "revenue EUR") == ["999.60", "1,000", "0%"]
    assert _cells(page.text, "revenue GBP") == ["103", "100", "+3%"]
    assert _cells(page.text, "revenue USD") == ["98", "100", "-2%"]


def test_the_page_shows_conversions_actuals_and_cohorts(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, world: dict[str, str]
) -> None:
    with _api(app, world["manager"]) as manager:
        for body in (
            _body(1, 100, days_ago=1),
            _body(2, 60.5, days_ago=2),
            _body(3, 30, days_ago=2, currency="USD"),
            _body(4, 40, days_ago=3, topic=None),
            _body(5, 1000, days_ago=10),  # the week before
        ):
            assert manager.post("/api/v1/w/acme/conversions", json=body).status_code == 201
    member(engine, workspace_id, Role.MANAGER, "manny@acme.example")
    with TestClient(app, base_url="http://127.0.0.1") as browser:
        assert sign_in(browser, "manny@acme.example").status_code == 303
        page = browser.get("/w/acme/metrics", params={"topic": "spring", "period": "7"})
        assert page.status_code == 200, page.text
        # spring: orders 1, 2 and 3 (in USD) this week, order 5 the week before
        assert _cells(page.text, "conversions") == ["3", "1", "+200%"]
        assert _cells(page.text, "revenue EUR") == ["160.50", "1,000", "-84%"]
        assert _cells(page.text, "revenue USD") == ["30", "0", ""]
        assert "No business case yet." in page.text
        assert "Conversions recorded in last 7 days: <strong>4</strong>" in page.text
        saved = browser.post(
            "/w/acme/metrics/business-case",
            data={
                "costs": "200",
                "expected_reach": "10000",
                "click_rate": "0.02",
                "conversion_rate": "0.05",
                "average_order_value": "40",
                "currency": "EUR",
                "csrf_token": csrf_token(page.text),
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
        page = browser.get("/w/acme/metrics", params={"period": "7"})
        # Actuals of the week, in EUR: orders 1, 2 and 4; the USD one is left out.
        assert re.search(r'id="actual-conversions">3<', page.text)
        assert re.search(r'id="actual-revenue">200.50 EUR<', page.text)
        assert re.search(r'id="actual-roi">0.2%<', page.text)  # (200.5 − 200) ÷ 200
        assert re.search(r'id="case-conversions">10<', page.text)  # the plan beside it
        assert "1 in USD left out" in page.text
        assert "(no topic)" in page.text  # order 4, in the all-topics funnel
        # Cohorts of the brand topic, counted here from POSTS directly.
        now = utcnow()
        this_month = month_start(now)
        times = {who: [now - timedelta(hours=h) for w, h in POSTS if w == who] for who, _ in POSTS}
        newcomers = [who for who, seen in times.items() if min(seen) >= this_month]
        assert "<h3>skates" in page.text
        row = re.search(rf"<td>{this_month:%Y-%m}</td><td class=\"num\">(\d+)</td>", page.text)
        assert row and int(row.group(1)) == len(newcomers)
        exported = browser.get("/w/acme/metrics.csv", params={"period": "7", "topic": "skates"})
    rows = list(csv.reader(io.StringIO(exported.text)))
    by_key = {(r[0], r[1], r[2]): r for r in rows[1:]}
    size = by_key[("cohort", "skates", f"{this_month:%Y-%m} size")]
    assert size[3] == this_month.isoformat() and size[5] == str(len(newcomers))
    if newcomers:
        assert by_key[("cohort", "skates", f"{this_month:%Y-%m} +0")][5] == "1"
    assert by_key[("funnel", "skates", "conversions")][5:7] == ["0", "0"]
    assert ("funnel", "skates", "returning_engagers") in by_key
    # amira wrote 50 days ago too: this week's mentions split into returning and new authors
    returning = by_key[("funnel", "skates", "positive_share_returning")]
    assert returning[5] != "" and by_key[("funnel", "skates", "negative_share_new")][5] != ""


def test_an_analyst_sees_figures_but_records_nothing(
    app: FastAPI, engine: Engine, workspace_id: int, world: dict[str, str]
) -> None:
    member(engine, workspace_id, Role.ANALYST, "ana@acme.example")
    with TestClient(app, base_url="http://127.0.0.1") as browser:
        assert sign_in(browser, "ana@acme.example").status_code == 303
        page = browser.get("/w/acme/metrics")
        assert page.status_code == 200 and 'id="cohorts"' in page.text
        refused = browser.post(
            "/api/v1/w/acme/conversions",
            json=_body(1, 10),
            headers={"X-CSRF-Token": csrf_token(page.text)},
        )
        assert refused.status_code == 403
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Conversion)) == 0
