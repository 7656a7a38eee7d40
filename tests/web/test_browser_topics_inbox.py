"""Real-browser checks of the topic and inbox pages: hostile post text shows as text and never
runs (with the CSP and with escaping alone), and the pages fit a 390-px phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hubbub.listening.actions import add_topic
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.web.conftest import LiveServer, open_conversation
from tests.web.test_browser import DESKTOP, PHONE, XSS_TEXTS, _open, _screenshot_fits

PAGES = (
    "/w/acme/topics",
    "/w/acme/topics/skates",
    "/w/acme/topics/preview?rule=skates",
    "/w/acme/inbox",
)


@pytest.fixture
def hostile_inbox(engine: Engine, settings: Settings, workspace_id: int) -> list[int]:
    """A topic, and one conversation per XSS payload (each post also matches the topic)."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
        add_topic(
            session, workspace_id, "<img src=x onerror=alert('topic')>", "skates", "competitor"
        )
    return [
        open_conversation(engine, settings, workspace_id, n, f"{text} skates")
        for n, text in enumerate(XSS_TEXTS, start=1)
    ]


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_topic_and_inbox_pages_never_run_post_text(
    browser: Any,
    live_server: LiveServer,
    hostile_inbox: list[int],
    bypass_csp: bool,
    owner_cookie: str,
) -> None:
    page, dialogs = _open(browser, live_server, PAGES[0], DESKTOP, bypass_csp, owner_cookie)
    for path in (*PAGES, f"/w/acme/inbox/{hostile_inbox[0]}"):
        response = page.goto(live_server.url + path, wait_until="load")
        assert response is not None and response.status == 200, path
        page.wait_for_timeout(100)
        assert dialogs == [], path
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        for tag in ("script", "iframe", "img", "style", "i", "b"):
            assert page.locator(f"main {tag}").count() == 0, (path, tag)
        for attribute in ("onerror", "onload", "ontoggle"):
            assert page.locator(f"[{attribute}]").count() == 0, (path, attribute)
        assert page.locator("main .text details").count() == 0, path
        # the only SVG is our own chart, with nothing inside but bars, lines and labels
        assert page.locator("main svg").count() == (1 if path == "/w/acme/topics/skates" else 0)
        assert page.locator("main svg circle").count() == 0
        if path in ("/w/acme/topics/skates", "/w/acme/topics/preview?rule=skates"):
            shown = set(page.locator("li.post .text").all_inner_texts())
            assert {f"{text} skates" for text in XSS_TEXTS} <= shown, path
    page.context.close()


def test_topic_and_inbox_pages_fit_a_phone(
    browser: Any,
    live_server: LiveServer,
    hostile_inbox: list[int],
    tmp_path: Path,
    owner_cookie: str,
) -> None:
    page, _ = _open(browser, live_server, PAGES[0], PHONE, cookie=owner_cookie)
    for n, path in enumerate((*PAGES, f"/w/acme/inbox/{hostile_inbox[0]}")):
        page.goto(live_server.url + path)
        _screenshot_fits(page, tmp_path / f"page-{n}-phone.png")
    page.context.close()


def test_inbox_keyboard_shortcuts(
    browser: Any, live_server: LiveServer, hostile_inbox: list[int], owner_cookie: str
) -> None:
    """j/k/x/o on the list, r/e/u on a conversation — our one script, allowed by the CSP."""
    page, dialogs = _open(browser, live_server, "/w/acme/inbox", DESKTOP, cookie=owner_cookie)
    rows = page.locator("table.inbox tbody tr.current")
    assert rows.count() == 0
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert rows.count() == 1
    first = page.locator("table.inbox tbody tr").first
    assert "current" in (first.get_attribute("class") or "")
    page.keyboard.press("x")
    assert first.locator("input[type=checkbox]").is_checked()
    page.keyboard.press("o")
    page.wait_for_url("**/w/acme/inbox/*")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-body"
    page.keyboard.type("e")  # typed into the reply box: not a shortcut
    assert page.locator("#status").inner_text() != "resolved"
    page.evaluate("document.activeElement.blur()")
    with page.expect_navigation():
        page.keyboard.press("e")
    assert page.locator("#status").inner_text() == "resolved"
    page.keyboard.press("u")
    page.wait_for_url("**/w/acme/inbox")
    assert dialogs == []
    page.context.close()
