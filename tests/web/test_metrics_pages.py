"""The metrics page over HTTP: funnel against the period before, response figures, goals with
progress, the business case, the CSV export, roles, CSRF, escaping and workspace isolation."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.inbox.actions import open_conversations_for
from hubbub.listening.actions import add_topic
from hubbub.measure.actions import add_goal
from hubbub.measure.forecast import quarter_bounds, quarter_of
from hubbub.measure.models import BusinessCase, Goal
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.web.metrics import resolve_period
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import BASE_TIME
from tests.web.conftest import (
    BRAND_DID,
    BRAND_HANDLE,
    csrf_token,
    ingest,
    member,
    open_conversation,
    record_event,
    session_cookie,
)

pytestmark = pytest.mark.db

RIVAL = "=<b>rival<b>"  # markup to escape, and a formula lead for the CSV (no slash: a path)
# (author, text, hours ago): three skates posts this week, one the week before, one rival's.
POSTS = [
    ("amira", "rocket skates are great", 1),
    ("bruno", "skates again", 2),
    ("amira", "skates, third time", 30),
    ("chen", "old skates news", 24 * 8),
    ("chen", "the rival is better", 3),
]


@pytest.fixture
def listening(engine: Engine, settings: Settings, workspace_id: int) -> list[int]:
    """Topics skates (brand) and a competitor with markup in its name; returns hours ago of
    the skates posts."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
        add_topic(session, workspace_id, RIVAL, "rival", "competitor")
    now = utcnow()
    events = [
        record_event(
            n,
            author={"native_id": f"did:plc:{author}", "handle": f"{author}.example"},
            text=text,
            native_id=f"bluesky:{author}:{n}",
            created_at=(now - timedelta(hours=hours)).isoformat(),
        )
        for n, (author, text, hours) in enumerate(POSTS, start=1)
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    return [hours for _, text, hours in POSTS if "skates" in text]


def _as(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, role: Role
) -> TestClient:
    user_id = member(engine, workspace_id, role, f"{role.value}@acme.example")
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return client


def _cell(html: str, row_label: str) -> list[str]:
    """The numeric cells of the first table row whose metric cell is ``row_label``."""
    found = re.search(
        rf"<td>{re.escape(row_label)}</td>\s*((?:<td class=\"num\">[^<]*</td>\s*)+)", html
    )
    assert found, row_label
    return re.findall(r'<td class="num">([^<]*)</td>', found.group(1))


def test_funnel_of_one_topic_against_the_week_before(
    client: TestClient, listening: list[int]
) -> None:
    page = client.get("/w/acme/metrics", params={"topic": "skates", "period": "7"})
    assert page.status_code == 200, page.text
    assert _cell(page.text, "mentions") == ["3", "1", "+200%"]
    assert _cell(page.text, "unique authors") == ["2", "1", "+100%"]
    assert _cell(page.text, "share of voice")[0] == "75.0%"  # 3 of 3 + 1 rival mention
    assert '<svg class="chart"' in page.text and "Mentions per day of skates" in page.text
    everything = client.get("/w/acme/metrics", params={"period": "7"})
    assert "=&lt;b&gt;rival&lt;b&gt;" in everything.text and "<b>rival<b>" not in everything.text


def test_response_figures_of_a_custom_period(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    open_conversation(engine, settings, workspace_id, 90, "help me, my skates broke")
    day = BASE_TIME.date().isoformat()
    page = client.get("/w/acme/metrics", params={"period": "custom", "start": day, "end": day})
    assert page.status_code == 200, page.text
    assert f"{day} to {day}" in page.text
    # one conversation, unanswered and long past its due time: breached, none within SLA
    assert _cell(page.text, "conversations")[:2] == ["1", "0"]
    assert _cell(page.text, "breached")[0] == "1"
    assert _cell(page.text, "within sla share")[0] == "0.0%"
    assert "unassigned" in page.text
    assert "First responses by working time" not in page.text  # nothing answered yet

    # The brand answers in the thread on Saturday, outside business hours: 0 working minutes.
    reply = record_event(
        95,
        author={"native_id": BRAND_DID, "handle": BRAND_HANDLE},
        text="So sorry! DM us",
        native_id="bluesky:acme:95",
        reply_to="bluesky:amira:90",
        thread_root="bluesky:amira:90",
    )
    assert ingest(engine, settings, workspace_id, [reply]).rejected == 0
    with transaction(engine) as session:
        reply_id = session.scalar(select(Post.id).where(Post.native_id == "bluesky:acme:95"))
        assert reply_id is not None
        open_conversations_for(session, workspace_id, [reply_id])
    page = client.get("/w/acme/metrics", params={"period": "custom", "start": day, "end": day})
    assert _cell(page.text, "answered")[0] == "1"
    assert _cell(page.text, "within sla share")[0] == "100.0%"
    assert _cell(page.text, "p50 minutes")[0] == "0"
    assert "First responses by working time" in page.text
    bad = client.get(
        "/w/acme/metrics", params={"period": "custom", "start": day, "end": "2020-01-01"}
    )
    assert bad.status_code == 400 and "end date" in bad.text


def test_goals_added_shown_with_progress_and_removed(
    client: TestClient, engine: Engine, listening: list[int]
) -> None:
    page = client.get("/w/acme/metrics")
    token = csrf_token(page.text)
    now = utcnow()
    quarter = quarter_of(now)
    added = client.post(
        "/w/acme/metrics/goals",
        data={
            "kpi": "mentions",
            "target": "100",
            "quarter": quarter,
            "topic": "skates",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    start, _ = quarter_bounds(quarter)
    so_far = sum(1 for hours in listening if now - timedelta(hours=hours) >= start)
    page = client.get("/w/acme/metrics")
    row = re.search(r'<tr id="goal-(\d+)">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(2))
    assert cells[:2] == ["100", str(so_far)]
    assert "<meter" in row.group(2)

    refused = client.post(
        "/w/acme/metrics/goals",
        data={
            "kpi": "mentions",
            "target": "5",
            "quarter": quarter,
            "topic": "",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400 and "per topic" in refused.text
    not_a_number = client.post(
        "/w/acme/metrics/goals",
        data={"kpi": "mentions", "target": "<b>lots</b>", "topic": "skates", "csrf_token": token},
    )
    assert not_a_number.status_code == 400 and "&lt;b&gt;lots&lt;/b&gt;" in not_a_number.text

    goal_id = row.group(1)
    gone = client.post(
        f"/w/acme/metrics/goals/{goal_id}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Goal)) == 0


def test_business_case_form_and_projection(client: TestClient, engine: Engine) -> None:
    token = csrf_token(client.get("/w/acme/metrics").text)
    form = {
        "costs": "10000",
        "expected_reach": "500000",
        "click_rate": "0.02",
        "conversion_rate": "0.03",
        "average_order_value": "80",
        "currency": "eur",
        "csrf_token": token,
    }
    saved = client.post("/w/acme/metrics/business-case", data=form, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get("/w/acme/metrics").text
    assert re.search(r'id="case-conversions">300<', page)
    assert re.search(r'id="case-revenue">24,000 EUR<', page)
    assert re.search(r'id="case-roi">140.0%<', page)
    assert "not tracked yet" in page
    bad = client.post("/w/acme/metrics/business-case", data={**form, "click_rate": "2"})
    assert bad.status_code == 400 and "fraction" in bad.text
    with transaction(engine) as session:
        case = session.scalar(select(BusinessCase))
        assert case is not None and case.click_rate == 0.02  # the refused edit changed nothing


def test_csv_export_defuses_formulas(client: TestClient, listening: list[int]) -> None:
    response = client.get("/w/acme/metrics.csv", params={"period": "7"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "section",
        "group",
        "metric",
        "start",
        "end",
        "current",
        "previous",
        "change",
    ]
    by_key = {(row[0], row[1], row[2]): row for row in rows[1:]}
    assert by_key[("funnel", "skates", "mentions")][5:] == ["3", "1", "2.0000"]
    assert by_key[("funnel", "'" + RIVAL, "mentions")][5] == "1"  # the formula lead is quoted
    assert not any(row[1].startswith("=") for row in rows)
    assert ("response", "all", "conversations") in by_key
    with_formula = client.get("/w/acme/metrics.csv", params={"period": "custom", "start": "x"})
    assert with_formula.status_code == 400


def test_an_unknown_topic_or_period_is_named_not_silently_replaced(
    client: TestClient, listening: list[int]
) -> None:
    page = client.get("/w/acme/metrics", params={"topic": "skatez", "period": "8"})
    assert page.status_code == 200  # a stale link still opens, on the defaults
    notices = re.findall(r'<p class="warning" role="status">([^<]*)</p>', page.text)
    assert notices == [
        "Unknown period &#39;8&#39; (use 7, 30, 90, quarter-to-date, quarter, custom): "
        "showing the last 30 days",
        "Unknown topic &#39;skatez&#39; (use =&lt;b&gt;rival&lt;b&gt;, skates): showing all topics",
    ]
    assert "· Last 30 days</span></h1>" in page.text
    # The form and the export link hold what the page shows, so the link works.
    assert '<option value="30" selected>' in page.text
    link = re.search(r'class="csv" href="([^"]+)"', page.text)
    assert link is not None and client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    fine = client.get("/w/acme/metrics", params={"topic": "skates", "period": "quarter"})
    assert 'class="warning"' not in fine.text
    for params, said in (
        ({"topic": "skatez"}, "unknown topic 'skatez' (use =<b>rival<b>, skates)"),
        ({"period": "8"}, "unknown period '8' (use 7, 30, 90, quarter-to-date, quarter, custom)"),
    ):
        refused = client.get("/w/acme/metrics.csv", params=params)
        assert refused.status_code == 400, params
        assert said in refused.text and "Nothing was exported" in refused.text


def test_roles_and_csrf(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with _as(app, engine, settings, workspace_id, Role.ANALYST) as analyst:
        page = analyst.get("/w/acme/metrics")
        assert page.status_code == 200
        assert 'action="/w/acme/metrics/goals"' not in page.text
        assert 'href="/w/acme/metrics"' in page.text  # the nav link
        refused = analyst.post(
            "/w/acme/metrics/goals",
            data={"kpi": "sla_breaches", "target": "1", "csrf_token": csrf_token(page.text)},
        )
        assert refused.status_code == 403
    with _as(app, engine, settings, workspace_id, Role.VIEWER) as viewer:
        assert viewer.get("/w/acme/metrics").status_code == 403
        assert 'href="/w/acme/metrics"' not in viewer.get("/w/acme/posts").text
    with _as(app, engine, settings, workspace_id, Role.MANAGER) as manager:
        page = manager.get("/w/acme/metrics")
        assert 'action="/w/acme/metrics/goals"' in page.text
        forged = manager.post("/w/acme/metrics/goals", data={"kpi": "sla_breaches", "target": "1"})
        assert forged.status_code == 403
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Goal)) == 0


def test_another_workspaces_goals_stay_there(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex Corporation").id
        theirs = add_goal(session, globex, "sla_breaches", quarter_of(utcnow()), 7).id
    page = client.get("/w/acme/metrics")
    assert f'id="goal-{theirs}"' not in page.text
    removed = client.post(
        f"/w/acme/metrics/goals/{theirs}/remove",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    with transaction(engine) as session:
        assert session.get(Goal, theirs) is not None
    assert client.get("/w/globex/metrics").status_code == 404


def test_quarter_so_far_runs_from_the_quarters_start_against_as_long_before() -> None:
    now = datetime(2026, 11, 26, 5, 40, tzinfo=UTC)
    period = resolve_period(now, "quarter-to-date", "", "")
    assert period.start == datetime(2026, 10, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 26, 6, tzinfo=UTC)
    assert period.start - period.previous_start == period.end - period.start
    assert period.label == "2026-Q4 so far"
