"""The reports page over HTTP: downloads in three formats, schedules through the forms (CSRF,
manager and above), roles and workspace isolation."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.reports.actions import add_schedule
from hubbub.reports.models import ReportSchedule
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.reports.conftest import load_week, require_pdftoppm
from tests.web.conftest import PASSWORD, LiveServer, csrf_token, member, session_cookie

pytestmark = pytest.mark.db

WEEK = "since=2026-06-29&until=2026-07-05"


@pytest.fixture
def loaded(engine: Engine, settings: Settings, workspace_id: int) -> int:
    load_week(engine, settings, workspace_id)
    return workspace_id


def _as(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, role: Role
) -> TestClient:
    user_id = member(engine, workspace_id, role, f"{role.value}@acme.example")
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return client


def test_downloads_in_three_formats(client: TestClient, loaded: int) -> None:
    page = client.get("/w/acme/reports")
    assert page.status_code == 200
    assert 'href="/w/acme/reports" aria-current="page"' in page.text
    assert "/w/acme/reports/report.pdf?period=week" in page.text

    pdf = client.get(f"/w/acme/reports/report.pdf?{WEEK}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="acme-report-2026-06-29.pdf"'

    html = client.get(f"/w/acme/reports/report.html?{WEEK}&sections=top_posts")
    assert html.status_code == 200 and "attachment" in html.headers["content-disposition"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text and "<script>" not in html.text
    assert 'id="section-overview"' not in html.text

    xlsx = client.get(f"/w/acme/reports/report.xlsx?{WEEK}&topic=voltaro&sections=overview")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["volume"]
    assert [c.value for c in book["volume"][1]] == ["day", "voltaro"]
    assert [c.value for c in book["volume"][7]] == ["2026-07-04", 1]

    assert client.get("/w/acme/reports/report.pdf?period=year").status_code == 400
    assert client.get("/w/acme/reports/report.pdf?since=2026-07-05&until=x").status_code == 400
    assert client.get(f"/w/acme/reports/report.pdf?{WEEK}&topic=nope").status_code == 400
    # A refused date range comes back as the page: the dates kept, the reason beside them.
    backwards = client.get("/w/acme/reports/report.pdf?since=2026-07-05&until=2026-06-29")
    assert backwards.status_code == 400 and "text/html" in backwards.headers["content-type"]
    assert 'value="2026-07-05"' in backwards.text and 'value="2026-06-29"' in backwards.text
    assert "the last day (2026-06-29) is before the first (2026-07-05)" in backwards.text
    assert "--until" not in backwards.text and 'href="/w/acme/topics"' in backwards.text


def test_the_page_lists_schedules_and_their_sendings(
    client: TestClient, engine: Engine, loaded: int
) -> None:
    from hubbub.reports.actions import claim_run, finish_run
    from tests.reports.conftest import WEEK_END, WEEK_START

    with transaction(engine) as session:
        found = add_schedule(session, loaded, "Digest", "week", ["boss@acme.example"])
        claim = claim_run(session, found, WEEK_START, WEEK_END, WEEK_END)
        assert claim is not None
        finish_run(session, claim, error="SMTPDataError: <b>451</b>", now=WEEK_END)
    page = client.get("/w/acme/reports").text
    assert 'id="schedule-' in page and "Digest" in page and "boss@acme.example" in page
    assert "Latest sendings" in page and "2026-06-29 00:00:00 UTC" in page
    assert "&lt;b&gt;451&lt;/b&gt;" in page and "E-mail is not configured" in page


def test_a_manager_adds_and_removes_a_schedule(
    app: FastAPI, engine: Engine, settings: Settings, loaded: int
) -> None:
    with _as(app, engine, settings, loaded, Role.MANAGER) as manager:
        page = manager.get("/w/acme/reports")
        assert "New schedule" in page.text
        token = csrf_token(page.text)
        refused = manager.post(
            "/w/acme/reports/schedules",
            data={"name": "Monday", "recipients": "boss@acme.example"},
        )
        assert refused.status_code == 403  # no CSRF token
        added = manager.post(
            "/w/acme/reports/schedules",
            data={
                "csrf_token": token,
                "name": "<b>Monday</b>",
                "cadence": "month",
                "recipients": "boss@acme.example,\nteam@acme.example",
                "sections": ["alerts", "overview"],
                "topics": ["skates"],
                "hour": "7",
            },
            follow_redirects=False,
        )
        assert added.status_code == 303, added.text
        listed = manager.get("/w/acme/reports").text
        assert "&lt;b&gt;Monday&lt;/b&gt;" in listed and "<b>Monday" not in listed
        assert "boss@acme.example, team@acme.example" in listed
        bad = manager.post(
            "/w/acme/reports/schedules",
            data={"csrf_token": token, "name": "x", "recipients": "nobody"},
        )
        assert bad.status_code == 400 and "not an e-mail address" in bad.text
        with transaction(engine) as session:
            found = session.scalars(select(ReportSchedule)).one()
            assert (found.cadence, found.sections, found.topics, found.send_hour) == (
                "month",
                ["overview", "alerts"],
                ["skates"],
                7,
            )
            globex = ensure_workspace(session, "globex", "Globex").id
            theirs = add_schedule(session, globex, "theirs", "week", ["g@globex.example"]).id
        other = manager.post(
            "/w/acme/reports/remove", data={"csrf_token": token, "schedule_id": str(theirs)}
        )
        assert other.status_code == 400 and "no report schedule" in other.text
        removed = manager.post(
            "/w/acme/reports/remove",
            data={"csrf_token": token, "schedule_id": str(found.id)},
            follow_redirects=False,
        )
        assert removed.status_code == 303
    with transaction(engine) as session:
        assert [s.name for s in session.scalars(select(ReportSchedule))] == ["theirs"]
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"report.schedule_add", "report.schedule_remove"} <= actions


def test_an_analyst_downloads_but_cannot_schedule_and_a_viewer_sees_nothing(
    app: FastAPI, engine: Engine, settings: Settings, loaded: int
) -> None:
    with _as(app, engine, settings, loaded, Role.ANALYST) as analyst:
        page = analyst.get("/w/acme/reports")
        assert page.status_code == 200 and "New schedule" not in page.text
        assert analyst.get(f"/w/acme/reports/report.pdf?{WEEK}").status_code == 200
        token = csrf_token(page.text)
        refused = analyst.post(
            "/w/acme/reports/schedules",
            data={"csrf_token": token, "name": "x", "recipients": "a@acme.example"},
        )
        assert refused.status_code == 403
    with _as(app, engine, settings, loaded, Role.VIEWER) as viewer:
        assert viewer.get("/w/acme/reports").status_code == 403
        assert viewer.get(f"/w/acme/reports/report.pdf?{WEEK}").status_code == 403
        assert "/w/acme/reports" not in viewer.get("/w/acme/posts").text


def test_a_new_analyst_signs_in_and_downloads_the_pdf_report(
    browser: Any, live_server: LiveServer, engine: Engine, loaded: int, tmp_path: Path
) -> None:
    """The demo's path in the real browser: sign in, open Reports from the menu, download."""
    pdftoppm = require_pdftoppm()
    member(engine, loaded, Role.ANALYST, "new.analyst@acme.example")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "new.analyst@acme.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/w/acme/posts")
    page.click("nav.tabs >> text=Reports")
    page.wait_for_url("**/w/acme/reports")
    assert page.locator("text=New schedule").count() == 0
    page.fill("input[name=since]", "2026-06-29")
    page.fill("input[name=until]", "2026-07-05")
    with page.expect_download() as download_info:
        page.click("text=PDF of these dates")
    download = download_info.value
    assert download.suggested_filename == "acme-report-2026-06-29.pdf"
    saved = tmp_path / "report.pdf"
    download.save_as(saved)
    context.close()
    assert saved.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        [pdftoppm, "-r", "30", "-png", "-f", "1", "-l", "1", str(saved), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    assert list(tmp_path.glob("p-*.png"))
