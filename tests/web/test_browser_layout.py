"""Real-browser checks of wide tables: on a 1280-px laptop the influencer table fits its box,
Mark form included, and on every table page, laptop or 390-px phone, no header, button or
network name is broken mid-word (a table too wide for a phone scrolls in its own box)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from hubbub.core.clock import utcnow
from hubbub.inbox.actions import add_account
from hubbub.listening.actions import add_topic
from hubbub.reports.actions import add_schedule
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.web.conftest import LiveServer, ingest, open_conversation, record_event
from tests.web.test_browser import DESKTOP, PHONE, _open

pytestmark = pytest.mark.db

TABLE_PAGES = ("topics", "sources", "members", "audit", "inbox", "reports", "influencers")

# Words (runs of non-space) of the matched elements whose letters sit on more than one line.
BROKEN_WORDS = """selector => {
  const broken = [];
  for (const element of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
          .map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(word[0]);
      }
    }
  }
  return broken;
}"""

# Where the influencer table's Mark forms end against its scrolling box and the window.
MARK_GEOMETRY = """() => {
  const table = document.querySelector('table.influencers');
  const box = table.parentElement;
  const forms = [...table.querySelectorAll('form[action$="/influencers/mark"]')];
  return {
    forms: forms.length,
    right: Math.max(...forms.map(f => f.getBoundingClientRect().right)),
    boxRight: box.getBoundingClientRect().right,
    boxScroll: box.scrollWidth,
    boxClient: box.clientWidth,
    window: document.documentElement.clientWidth,
  };
}"""


@pytest.fixture
def tables(engine: Engine, settings: Settings, workspace_id: int) -> None:
    """Something in every table: influencers with long handles on two networks, topics, own
    accounts on Bluesky, Mastodon and Hacker News, an inbox conversation and a schedule."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates" OR #skates', "brand")
        add_topic(session, workspace_id, "rivals", "globex OR initech", "competitor")
    open_conversation(engine, settings, workspace_id, 900, "hello @acme.bsky.social, skates?")
    start = utcnow() - timedelta(hours=6)
    authors = [
        ("bluesky", f"did:plc:{name}", f"{name}.bsky.social")
        for name in ("hannahcarter315", "marcus-commutes", "amira")
    ] + [
        ("mastodon", f"https://mastodon.social/@{name}", f"{name}@mastodon.social")
        for name in ("felix_becker492", "grace_moves")
    ]
    events = []
    for n, (network, native_id, handle) in enumerate(authors, start=1):
        author = {"native_id": native_id, "handle": handle, "followers": 186_400 * n}
        fields = {"network": network, "author": author, "hashtags": ["skates"]}
        created = (start + timedelta(minutes=n)).isoformat()
        events.append(
            record_event(
                n, native_id=f"{network}:{n}", text="skates!", created_at=created, **fields
            )
        )
        if n > 1:  # each reshares the first post: the first author has reach
            events.append(
                record_event(
                    100 + n,
                    native_id=f"{network}:r{n}",
                    kind="reshare",
                    reshare_of="bluesky:1",
                    text="skates!",
                    created_at=created,
                    **fields,
                )
            )
    first = {"network": "bluesky", "author": {"native_id": "did:plc:hannahcarter315"}}
    for n in range(2, 27):  # the first author says the same 26 times: "26/26 posts", a flag
        created = (start + timedelta(minutes=10 + n)).isoformat()
        text = "Rocket skates are the best skates I ever had, honestly #skates"
        events.append(
            record_event(200 + n, native_id=f"bluesky:{n}", text=text, created_at=created, **first)
        )
    result = ingest(engine, settings, workspace_id, events)
    assert result.rejected == result.dropped == 0
    with transaction(engine) as session:
        add_account(
            session,
            settings,
            workspace_id,
            "mastodon",
            "https://mastodon.social/@acme",
            "acme@mastodon.social",
            service_url="https://mastodon.social",
        )
        add_account(session, settings, workspace_id, "hackernews", "acme", "acme")
        add_schedule(
            session, workspace_id, "Weekly digest", "week", ["boss@acme.example"], topics=["skates"]
        )


@pytest.mark.usefixtures("tables")
def test_the_influencer_table_and_its_mark_form_fit_a_laptop(
    browser: Any, live_server: LiveServer, owner_cookie: str
) -> None:
    page, _ = _open(browser, live_server, "/w/acme/influencers", DESKTOP, cookie=owner_cookie)
    found = page.evaluate(MARK_GEOMETRY)
    assert found["forms"] >= 3, found
    # Every Mark form ends inside the table's box and the window: nothing to scroll sideways to.
    assert found["right"] <= found["boxRight"] <= found["window"], found
    assert found["boxScroll"] <= found["boxClient"], found
    page.context.close()


@pytest.mark.usefixtures("tables")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_table_words_stay_whole(
    browser: Any, live_server: LiveServer, owner_cookie: str, viewport: dict[str, int]
) -> None:
    """Headers, buttons and network names keep their words whole ("N/a/m/e", "Remov/e" and
    "mastodo/n" were seen); the page itself never scrolls sideways."""
    page, _ = _open(browser, live_server, "/w/acme/topics", viewport, cookie=owner_cookie)
    for name in TABLE_PAGES:
        response = page.goto(f"{live_server.url}/w/acme/{name}", wait_until="load")
        assert response is not None and response.status == 200, name
        assert page.locator("main table").count() > 0, name
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page is {width}px wide"
        broken = page.evaluate(
            BROKEN_WORDS, "main table th, main table button, table.accounts td:first-child"
        )
        assert broken == [], f"{name} at {viewport['width']}px breaks {broken}"
    page.context.close()
