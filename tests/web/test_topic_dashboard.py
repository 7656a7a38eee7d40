"""The topic dashboard's filters, top terms panel and drill-down: every panel honours the period
and the network / language / sentiment filters, the CSV link keeps them, drill-down lists show
the posts behind a figure, all escaped and fitting a 390-px phone."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.listening.actions import add_topic
from hubbub.posts.models import Author
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.web.conftest import LiveServer, ingest, record_event
from tests.web.test_browser import PHONE, _open, _screenshot_fits

pytestmark = pytest.mark.db

# (author, network, text, langs, hours ago)
POSTS = [
    ("amira", "bluesky", "Rocket skates are great, wheels spin fast", ["en"], 2),
    ("bruno", "bluesky", "<b>skates</b> wheels broke on day one", ["en"], 30),
    ("chen", "mastodon", "Die Skates und die Rollen sind toll", ["de"], 3),
    ("amira", "mastodon", "skates wheels and more wheels", ["en"], 24 * 10),
    ("bruno", "bluesky", "old skates story from long ago", ["en"], 24 * 60),
]


@pytest.fixture
def dashboard(engine: Engine, settings: Settings, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
    now = utcnow()
    events = [
        record_event(
            n,
            author={"native_id": f"did:plc:{author}", "handle": f"{author}.example"},
            network=network,
            native_id=f"{network}:{author}:{n}",
            text=text,
            langs=langs,
            hashtags=[],
            created_at=(now - timedelta(hours=hours)).isoformat(),
        )
        for n, (author, network, text, langs, hours) in enumerate(POSTS, start=1)
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0


def _panel(html: str, key: str) -> str:
    return html.split(f'id="{key}"')[1].split("</section>", maxsplit=1)[0]


def _rows(panel: str) -> dict[str, int]:
    """label → count of a panel's table (labels are the links' text)."""
    found = re.findall(r"<tr><td><a [^>]*>([^<]*)</a>.*?</td><td class=\"num\">(\d+)</td>", panel)
    return {label: int(n) for label, n in found}


def test_period_and_filters_apply_to_every_panel(client: TestClient, dashboard: None) -> None:
    page = client.get("/w/acme/topics/skates")  # 30 days: the 60-day-old post is out
    assert page.status_code == 200
    assert '<span id="volume">4</span>' in page.text
    assert _rows(_panel(page.text, "networks")) == {"bluesky": 2, "mastodon": 2}
    assert _rows(_panel(page.text, "terms"))["wheels"] == 3
    assert _rows(_panel(page.text, "terms"))["skates"] == 4
    assert "story" not in _panel(page.text, "terms")

    window = page.text.split('id="window">')[1].split("</p>")[0]  # what "30 d" counts
    start = (utcnow() - timedelta(days=29)).strftime("%Y-%m-%d 00:00")
    assert window.startswith(start) and "whole UTC days, today so far" in window

    week = client.get("/w/acme/topics/skates?period=7d")
    assert '<span id="volume">3</span>' in week.text
    day = client.get("/w/acme/topics/skates?period=24h")
    assert '<span id="volume">2</span>' in day.text  # 2 h and 3 h ago; 30 h is out
    assert len(re.findall(r'class="bar"', day.text)) == 24

    german = client.get("/w/acme/topics/skates?lang=de")
    assert '<span id="volume">1</span>' in german.text
    assert _rows(_panel(german.text, "languages")) == {"de": 1}
    assert _rows(_panel(german.text, "authors")) == {"chen.example": 1}
    terms = _rows(_panel(german.text, "terms"))
    assert terms == {"skates": 1, "rollen": 1, "toll": 1}  # German stopwords dropped
    assert "wheels" not in german.text

    mastodon = client.get("/w/acme/topics/skates?network=mastodon&period=90d")
    assert '<span id="volume">2</span>' in mastodon.text
    assert _rows(_panel(mastodon.text, "networks")) == {"mastodon": 2}
    voice = _panel(mastodon.text, "voice")
    assert "competitor" in voice  # no competitors: the hint, not figures

    empty = client.get("/w/acme/topics/skates?sentiment=negative&network=rss")
    assert '<span id="volume">0</span>' in empty.text
    assert 'class="warning"' not in empty.text  # a connector's network: truly none, no notice
    assert "No terms." in empty.text
    # Unknown values fall back to "all", never an error page.
    fallback = client.get("/w/acme/topics/skates?period=5y&sentiment=angry")
    assert fallback.status_code == 200 and '<span id="volume">4</span>' in fallback.text


def test_csv_link_and_drill_downs_keep_the_filters(
    client: TestClient, engine: Engine, dashboard: None
) -> None:
    page = client.get("/w/acme/topics/skates?network=bluesky&period=7d")
    link = re.search(r'class="csv" href="([^"]+)"', page.text)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query) == {"network": ["bluesky"], "period": ["7d"]}
    rows = list(csv.DictReader(io.StringIO(client.get(href).text)))
    assert {r["network"] for r in rows} == {"bluesky"} and len(rows) == 2  # not 60 days ago

    # A term links to the posts containing it, within the same filters.
    terms = _panel(page.text, "terms")
    wheels = re.search(r'href="([^"]+)">wheels</a>', terms)
    assert wheels is not None
    drill = client.get(wheels.group(1).replace("&amp;", "&"))
    assert drill.status_code == 200
    shown = re.findall(r'<p class="text">([^<]*)</p>', drill.text)
    assert shown == [
        "Rocket skates are great, wheels spin fast",
        "&lt;b&gt;skates&lt;/b&gt; wheels broke on day one",
    ]

    # An author links to their posts; a network label to its posts.
    with Session(engine) as session:
        chen = session.scalar(select(Author.id).where(Author.handle == "chen.example"))
    by_author = client.get(f"/w/acme/topics/skates/posts?author={chen}")
    assert re.findall(r'<p class="text">([^<]*)</p>', by_author.text) == [
        "Die Skates und die Rollen sind toll"
    ]
    assert "chen.example" in _drill_summary(by_author.text)
    by_network = client.get("/w/acme/topics/skates/posts?network=mastodon&period=90d")
    assert len(re.findall(r'<li class="post"', by_network.text)) == 2
    # Filters read as the API reads them: case aside, and a language by its primary code.
    for same in ("network=MASTODON", "network=Mastodon"):
        page = client.get(f"/w/acme/topics/skates/posts?{same}&period=90d")
        assert len(re.findall(r'<li class="post"', page.text)) == 2, same
    german = [
        re.findall(
            r'<p class="text">([^<]*)</p>',
            client.get(f"/w/acme/topics/skates/posts?lang={lang}&period=90d").text,
        )
        for lang in ("de", "DE", "de-AT")
    ]
    assert german[0] == german[1] == german[2] == ["Die Skates und die Rollen sind toll"]

    # What the user typed is shown escaped, and an author of another workspace is not named.
    hostile = client.get("/w/acme/topics/skates/posts?term=%3Cb%3Eskates%3C/b%3E&author=999999")
    assert hostile.status_code == 200
    assert "&lt;b&gt;skates&lt;/b&gt;" in _drill_summary(hostile.text)
    assert "<b>" not in hostile.text
    assert len(re.findall(r'<li class="post"', hostile.text)) == 0
    # An id no row can have is refused, not passed to the database.
    assert client.get(f"/w/acme/topics/skates/posts?author={2**64}").status_code == 422


def _drill_summary(html: str) -> str:
    return html.split('id="drill"')[1].split("</p>", maxsplit=1)[0]


def test_dashboard_and_drill_down_fit_a_phone(
    browser: Any, live_server: LiveServer, dashboard: None, tmp_path: Path, owner_cookie: str
) -> None:
    paths = (
        "/w/acme/topics/skates?period=90d&network=bluesky&lang=en&sentiment=positive",
        "/w/acme/topics/skates/posts?term=wheels&period=90d",
    )
    page, dialogs = _open(browser, live_server, paths[0], PHONE, cookie=owner_cookie)
    for n, path in enumerate(paths):
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        _screenshot_fits(page, tmp_path / f"dashboard-{n}.png")
        assert page.locator("main b").count() == 0 and dialogs == []
    # The filter form submits as a GET that every panel reads.
    page.goto(live_server.url + "/w/acme/topics/skates")
    page.select_option("select[name=period]", "7d")
    page.fill("input[name=lang]", "de")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_load_state()
    query = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    assert query["period"] == ["7d"] and query["lang"] == ["de"]
    assert page.locator("#volume").inner_text() == "1"
    page.context.close()
