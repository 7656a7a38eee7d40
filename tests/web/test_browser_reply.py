"""In a real browser: an agent assigns a complaint to themself, answers it, and the reply reaches
a local server speaking the Mastodon API exactly once (sent by the worker's pipeline, as under
`hubbub up`); then they resolve it. A viewer sees the conversation but no reply form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from hubbub.accounts.permissions import Role
from hubbub.settings import Settings
from hubbub.worker import Pipeline
from tests.inbox.conftest import mastodon_complaint
from tests.inbox.servers import MastodonServer
from tests.web.conftest import LiveServer, member, session_cookie
from tests.web.test_browser import DESKTOP, _open

COMPLAINT = "my Acme skates broke after one day, terrible"
ANSWER = "So sorry, Chen! A new pair ships today."


@pytest.fixture
def complaint(
    engine: Engine, settings: Settings, workspace_id: int
) -> Iterator[tuple[MastodonServer, int]]:
    with mastodon_complaint(engine, settings, workspace_id, COMPLAINT) as found:
        yield found


def test_assign_reply_once_and_resolve_in_the_browser(
    browser: Any,
    live_server: LiveServer,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    owner_cookie: str,
    owner_id: int,
    complaint: tuple[MastodonServer, int],
) -> None:
    server, conversation_id = complaint
    path = f"/w/acme/inbox/{conversation_id}"
    page, dialogs = _open(browser, live_server, path, DESKTOP, cookie=owner_cookie)
    assert COMPLAINT in page.locator("ol.posts").inner_text()

    page.select_option("select[name=assignee]", value=str(owner_id))
    page.get_by_role("button", name="Assign").click()
    page.wait_for_load_state("load")
    assert "olivia@acme.example" in page.locator("dl.facts").inner_text()

    page.fill("#reply-body", ANSWER)
    page.get_by_role("button", name="Queue reply").click()
    page.wait_for_load_state("load")
    assert "queued" in page.locator("li.reply").inner_text()
    pipeline = Pipeline(engine, settings)
    assert pipeline.tick().replies_sent == 1
    assert pipeline.tick().replies_sent == 0
    assert len(server.statuses) == 1
    (post,) = server.posts("POST", "/api/v1/statuses")
    assert post.body == {"status": f"@chen@mastodon.example {ANSWER}", "in_reply_to_id": "109999"}

    page.reload()
    assert "sent" in page.locator("li.reply").inner_text()
    page.locator("#resolve").click()
    page.wait_for_load_state("load")
    assert page.locator("#status").inner_text() == "resolved"
    assert dialogs == []
    page.context.close()

    viewer = member(engine, workspace_id, Role.VIEWER, "viewer@acme.example")
    as_viewer, _ = _open(
        browser, live_server, path, DESKTOP, cookie=session_cookie(engine, settings, viewer)
    )
    assert as_viewer.locator("#reply-body").count() == 0
    assert as_viewer.locator("li.reply").count() == 1
    as_viewer.context.close()
