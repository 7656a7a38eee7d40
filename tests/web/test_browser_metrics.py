"""Real-browser checks of the metrics page: hostile topic names show as text and never run,
a manager adds a goal through the form, and the page fits a 390-px phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hubbub.core.clock import utcnow
from hubbub.listening.actions import add_topic
from hubbub.measure.actions import add_goal, record_conversions, save_business_case
from hubbub.measure.business import Inputs
from hubbub.measure.conversions import ConversionIn
from hubbub.measure.forecast import quarter_of
from hubbub.measure.models import Goal
from hubbub.store.engine import transaction
from tests.web.conftest import LiveServer
from tests.web.test_browser import DESKTOP, PHONE, XSS_TEXTS, _open, _screenshot_fits

# A topic name holds no slash (it is a path segment): U+2215 and U+2216 stand in for them.
HOSTILE_NAMES = [t[:200].replace("/", "\u2215").replace("\\", "\u2216") for t in XSS_TEXTS]


@pytest.fixture
def hostile_topics(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
        for n, name in enumerate(HOSTILE_NAMES):
            add_topic(session, workspace_id, name, f"word{n}", "competitor")


@pytest.mark.usefixtures("hostile_topics")
def test_metrics_page_never_runs_topic_names_and_adds_goals(
    browser: Any, live_server: LiveServer, engine: Engine, owner_cookie: str
) -> None:
    page, dialogs = _open(
        browser, live_server, "/w/acme/metrics?period=7", DESKTOP, False, owner_cookie
    )
    assert page.evaluate("typeof window.__pwned") == "undefined"
    for tag in ("script", "iframe", "img", "style", "i", "b"):
        assert page.locator(f"main {tag}").count() == 0, tag
    assert HOSTILE_NAMES[0] in page.locator("#funnel").inner_text()
    page.select_option("select[name=kpi]", "sla_breaches")
    page.fill("input[name=target]", "4")
    page.click("text=Add goal")
    page.wait_for_url("**/metrics#goals")
    assert "SLA breaches" in page.locator("#goals").inner_text()
    assert dialogs == []
    with transaction(engine) as session:
        goal = session.scalar(select(Goal))
        assert goal is not None and (goal.kpi, goal.target) == ("sla_breaches", 4.0)
    page.context.close()


@pytest.mark.usefixtures("hostile_topics")
def test_metrics_page_fits_a_phone(
    browser: Any,
    live_server: LiveServer,
    tmp_path: Path,
    owner_cookie: str,
    engine: Engine,
    workspace_id: int,
) -> None:
    with transaction(engine) as session:
        quarter = quarter_of(utcnow())
        add_goal(session, workspace_id, "within_sla_share", quarter, 0.9)
        add_goal(session, workspace_id, "mentions", quarter, 1_000_000, "skates")
        save_business_case(session, workspace_id, Inputs(12_345_678, 9_876_543, 0.02, 0.03, 80))
        order = ConversionIn("order-with-a-long-number-123456789", utcnow(), 987_654.32, "EUR")
        assert record_conversions(session, workspace_id, [(1, order)], "cli").accepted == 1
    page, _ = _open(browser, live_server, "/w/acme/metrics", PHONE, cookie=owner_cookie)
    assert "987,654.32 EUR" in page.locator("#business-case").inner_text()  # the actuals
    # Words in the funnel table stay whole (its box scrolls): one line a cell, no "m e n ti o n s".
    heights = page.eval_on_selector_all(
        "#funnel tbody td", "cells => cells.map(c => c.getBoundingClientRect().height)"
    )
    assert heights and max(heights) < 2 * min(heights), heights
    _screenshot_fits(page, tmp_path / "metrics-phone.png")
    page.context.close()
