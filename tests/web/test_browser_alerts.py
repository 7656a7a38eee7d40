"""Real-browser checks of the alert and playbook pages: hostile text in alerts and playbook
YAML shows as text and never runs, the pages fit a phone, and approving a draft works by click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hubbub.alerts import actions
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.web.conftest import LiveServer
from tests.web.test_alerts_pages import AlertWorld, holding_playbook, seed_alerts
from tests.web.test_browser import DESKTOP, PHONE, XSS_TEXTS, _open, _screenshot_fits


@pytest.fixture
def hostile(engine: Engine, settings: Settings, workspace_id: int) -> AlertWorld:
    """The seeded alerts and playbooks, plus a playbook whose YAML carries every XSS payload."""
    world = seed_alerts(engine, settings, workspace_id)
    lines = "".join(f"  - {text!r}\n".replace("\\'", "''") for text in XSS_TEXTS)
    source = holding_playbook("hostile").replace("trigger:", "trigger:", 1)
    source = source.replace("  topics: [skates]\n", "  topics:\n" + lines)
    with transaction(engine) as session:
        actions.add_playbook(session, workspace_id, source)
    return world


def pages(world: AlertWorld) -> list[str]:
    return [
        "/w/acme/alerts",
        f"/w/acme/alerts/{world.alert_id}",
        "/w/acme/playbooks",
        f"/w/acme/playbooks/{world.playbook_id}",
        "/w/acme/playbooks/runs",
    ]


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_alert_and_playbook_pages_never_run_hostile_text(
    browser: Any, live_server: LiveServer, hostile: AlertWorld, bypass_csp: bool, owner_cookie: str
) -> None:
    page, dialogs = _open(browser, live_server, "/w/acme/alerts", DESKTOP, bypass_csp, owner_cookie)
    for path in pages(hostile):
        response = page.goto(live_server.url + path, wait_until="load")
        assert response is not None and response.status == 200, path
        page.wait_for_timeout(100)
        assert dialogs == [], path
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        for tag in ("script", "iframe", "img", "style", "i", "b"):
            assert page.locator(f"main {tag}").count() == 0, (path, tag)
        assert page.locator("main svg circle").count() == 0, path
    page.goto(live_server.url + "/w/acme/alerts")
    assert page.locator("main svg.chart").count() >= 1  # the spike's own chart
    assert "We know about the wheel recall" in page.locator("#crisis").inner_text()
    page.goto(live_server.url + "/w/acme/playbooks")
    assert "hostile" in page.locator("table.playbooks").inner_text()
    assert XSS_TEXTS[0] in page.locator("table.playbooks").inner_text()
    page.context.close()


def test_approving_a_draft_by_click_and_phone_layout(
    browser: Any, live_server: LiveServer, hostile: AlertWorld, tmp_path: Path, owner_cookie: str
) -> None:
    page, _ = _open(browser, live_server, "/w/acme/playbooks", DESKTOP, cookie=owner_cookie)
    draft = page.locator(f"#draft-{hostile.draft_id}")
    assert draft.count() == 1
    draft.get_by_role("button", name="Approve as manager").click()
    page.wait_for_load_state("load")
    assert page.locator(f"#draft-{hostile.draft_id}").count() == 0
    assert page.url.endswith("/w/acme/playbooks#drafts")
    page.context.close()
    page, _ = _open(browser, live_server, "/w/acme/alerts", PHONE, cookie=owner_cookie)
    for n, path in enumerate(pages(hostile)):
        page.goto(live_server.url + path)
        _screenshot_fits(page, tmp_path / f"alerts-{n}-phone.png")
    page.context.close()
