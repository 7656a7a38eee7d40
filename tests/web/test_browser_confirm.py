"""In Chromium: a button that removes, revokes or ends something asks first, naming what it
takes away, and nothing is sent unless the question is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from hubbub.listening.actions import add_topic
from hubbub.listening.models import Topic
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from tests.web.conftest import LiveServer
from tests.web.test_browser import DESKTOP

pytestmark = pytest.mark.db


def _topics(engine: Engine) -> set[str]:
    with transaction(engine) as session:
        return set(session.scalars(select(Topic.name)))


def test_removing_a_topic_asks_first_and_a_no_sends_nothing(
    browser: Any, live_server: LiveServer, engine: Engine, workspace_id: int, owner_cookie: str
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
        add_topic(session, workspace_id, "<i>globex", "globex", "competitor")
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": SESSION_COOKIE, "value": owner_cookie, "url": live_server.url}])
    page = context.new_page()
    asked: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog: Any) -> None:
        asked.append(dialog.message)
        if answer["accept"]:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(live_server.url + "/w/acme/topics", wait_until="load")
    row = page.locator("tr", has_text="<i>globex")
    row.get_by_role("button", name="Remove").click()
    page.wait_for_timeout(200)
    assert asked == ["Remove “<i>globex”? This cannot be undone."]  # shown as plain text
    assert _topics(engine) == {"skates", "<i>globex"}

    answer["accept"] = True
    with page.expect_navigation():
        row.get_by_role("button", name="Remove").click()
    assert len(asked) == 2 and _topics(engine) == {"skates"}
    context.close()
