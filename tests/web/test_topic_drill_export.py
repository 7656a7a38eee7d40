"""The topic drill-down's keyset pages and the CSV export: pages walk the slice once across
posts sharing a time, a forged cursor is a 400, the export streams the dashboard's period with
the per-topic sentiment, and unknown filter values are shown on pages and refused by the export."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.listening.actions import add_topic
from hubbub.listening.models import PostEnrichment, Topic, TopicMatch
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web import topics
from tests.support.factories import PERSONAS
from tests.web.conftest import ingest, record_event

pytestmark = pytest.mark.db

MIXED = "love acme, globex is awful"
# (n, network, text, hours ago); 3, 4 and 5 share one instant, so a page may end among them.
POSTS = [
    (1, "bluesky", "acme lost my parcel again, awful", 1),
    (2, "bluesky", "acme opens a store downtown", 2),
    (3, "bluesky", "acme tie one", 5),
    (4, "mastodon", "acme tie two", 5),
    (5, "bluesky", "acme tie three", 5),
    (6, "bluesky", MIXED, 6),
    (7, "bluesky", '=HYPERLINK("http://evil.example") acme', 7),
    (8, "mastodon", "acme on mastodon", 30),
    (9, "bluesky", "acme ten days ago", 24 * 10),
    (10, "bluesky", "acme two months ago", 24 * 60),
]


@pytest.fixture
def acme(engine: Engine, settings: Settings, workspace_id: int) -> None:
    """Topics acme (brand) and globex (competitor), then the posts above matched live."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme", "brand")
        add_topic(session, workspace_id, "globex", "globex", "competitor")
    now = utcnow().replace(microsecond=0)
    events = [
        record_event(
            n,
            network=network,
            native_id=f"{network}:amira:{n}",
            text=text,
            created_at=(now - timedelta(hours=hours)).isoformat(),
            url=f"https://{network}.example/p/{n}",
            likes=n,
            reshares=2 * n,
            replies=3,
            quotes=1,
        )
        for n, network, text, hours in POSTS
    ]
    assert ingest(engine, settings, workspace_id, events).rejected == 0


def _slice(engine: Engine, workspace_id: int, topic: str, network: str | None = None) -> list[int]:
    """The topic's posts of the last 30 days, newest first, straight from the store."""
    start, end = topics.Filters().window(utcnow())
    with Session(engine) as session:
        query = (
            select(Post.id)
            .join(TopicMatch, TopicMatch.post_id == Post.id)
            .join(Topic, Topic.id == TopicMatch.topic_id)
            .where(Topic.workspace_id == workspace_id, Topic.name == topic)
            .where(Post.created_at >= start, Post.created_at < end)
            .order_by(Post.created_at.desc(), Post.id.desc())
        )
        if network is not None:
            query = query.where(Post.network == network)
        return list(session.scalars(query))


def _walk(client: TestClient, url: str) -> tuple[list[int], list[str]]:
    """Every page from ``url`` by its "Older posts" link: the post ids and each page's count."""
    ids: list[int] = []
    counts: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        page = client.get(next_url)
        assert page.status_code == 200, page.text
        ids += [int(i) for i in re.findall(r'<li class="post" id="post-(\d+)"', page.text)]
        count = re.search(r'<span id="drill-count">([^<]*)</span>', page.text)
        assert count is not None
        counts.append(count.group(1))
        older = re.search(r'<a href="([^"]+)" rel="next" id="older">', page.text)
        next_url = older.group(1).replace("&amp;", "&") if older else None
        assert len(counts) < 20, "the pages never end"
    return ids, counts


def test_drill_down_pages_walk_the_slice_once_across_equal_times(
    client: TestClient, engine: Engine, workspace_id: int, acme: None
) -> None:
    expected = _slice(engine, workspace_id, "acme")
    assert len(expected) == 9  # the post of two months ago is out of the 30 days

    ids, counts = _walk(client, "/w/acme/topics/acme/posts?limit=2")
    assert ids == expected  # newest first, none repeated, none skipped at the tied instant
    assert counts == [
        "9 posts, showing 1–2",
        "9 posts, showing 3–4",
        "9 posts, showing 5–6",
        "9 posts, showing 7–8",
        "9 posts, showing 9–9",
    ]

    # The other pages keep every filter: the network, the term, the page size.
    bluesky, _ = _walk(client, "/w/acme/topics/acme/posts?network=bluesky&limit=3")
    assert bluesky == _slice(engine, workspace_id, "acme", "bluesky")
    ties, counts = _walk(client, "/w/acme/topics/acme/posts?term=tie&limit=1")
    assert len(ties) == 3 and set(ties) < set(expected)
    assert counts == ["3 posts, showing 1–1", "3 posts, showing 2–2", "3 posts, showing 3–3"]

    # The default page holds them all, with no way on.
    first = client.get("/w/acme/topics/acme/posts")
    assert "9 posts, showing 1–9" in first.text and 'rel="next"' not in first.text


def test_page_size_and_cursor_are_checked(client: TestClient, acme: None) -> None:
    url = "/w/acme/topics/acme/posts"
    for limit in ("0", "201", "x"):
        assert client.get(f"{url}?limit={limit}").status_code == 422, limit
    assert client.get(f"{url}?limit=200").status_code == 200

    def token(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    forged = [
        "not-a-cursor!",
        token("yesterday|12"),
        token("2024-05-01T10:00:00+00:00|twelve"),
        token(f"2024-05-01T10:00:00+00:00|{2**64}"),  # past any row id: the database refuses
        token("0001-01-01T00:00:00+05:00|1"),  # before year 1 once in UTC
    ]
    for cursor in forged:
        refused = client.get(url, params={"cursor": cursor})
        assert refused.status_code == 400, cursor
        assert "cursor is not one this server issued" in refused.text


def _volume(html: str) -> int:
    found = re.search(r'<span id="volume">(\d+)</span>', html)
    assert found is not None
    return int(found.group(1))


def _export(client: TestClient, query: str) -> list[dict[str, str]]:
    response = client.get(f"/w/acme/topics/{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_exports_the_dashboard_period_with_per_topic_sentiment(
    client: TestClient, engine: Engine, acme: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topics, "CSV_CHUNK", 2)  # several chunks, one boundary at the tie
    text = client.get("/w/acme/topics/acme.csv").text
    assert next(csv.reader(io.StringIO(text))) == [
        "created_at",
        "id",
        "network",
        "author",
        "author_name",
        "author_url",
        "followers",
        "lang",
        "sentiment",
        "sentiment_score",
        "title",
        "text",
        "url",
        "likes",
        "reshares",
        "replies",
        "quotes",
    ]
    for query, posts in (
        ("", 9),
        ("?period=7d", 8),
        ("?period=24h", 7),
        ("?network=mastodon", 2),
        ("?sentiment=negative", 1),
    ):
        page = client.get(f"/w/acme/topics/acme{query}")
        rows = _export(client, f"acme.csv{query}")
        assert len(rows) == _volume(page.text) == posts, query
        assert len({row["id"] for row in rows}) == len(rows), query
    # The page's link names the period it exports.
    assert (
        "Export posts of the last 7 days (CSV)" in client.get("/w/acme/topics/acme?period=7d").text
    )

    rows = {row["text"]: row for row in _export(client, "acme.csv")}
    assert len(rows) == 9 and "acme two months ago" not in rows
    assert '\'=HYPERLINK("http://evil.example") acme' in rows
    tie = rows["acme tie two"]
    assert (tie["network"], tie["lang"], tie["url"]) == (
        "mastodon",
        "en",
        "https://mastodon.example/p/4",
    )
    assert (tie["likes"], tie["reshares"], tie["replies"], tie["quotes"]) == ("4", "8", "3", "1")
    assert tie["author"] == PERSONAS["amira"]["handle"]

    # The mixed post counts as positive for acme and negative for globex, its own label being
    # positive: each export carries the topic's one, as the dashboard counts it.
    with Session(engine) as session:
        post_label = session.scalar(
            select(PostEnrichment.sentiment_label)
            .join(Post, Post.id == PostEnrichment.post_id)
            .where(Post.text == MIXED)
        )
    assert post_label == "positive"
    assert rows[MIXED]["sentiment"] == "positive"
    globex = {row["text"]: row for row in _export(client, "globex.csv")}
    assert globex[MIXED]["sentiment"] == "negative"
    assert float(globex[MIXED]["sentiment_score"]) < 0
    negative = _export(client, "globex.csv?sentiment=negative")
    assert [row["text"] for row in negative] == [MIXED]


def test_unknown_filter_values_are_shown_on_pages_and_refused_by_the_export(
    client: TestClient, acme: None
) -> None:
    page = client.get("/w/acme/topics/acme?period=7x&sentiment=happy&lang=english&network=nosuch")
    assert page.status_code == 200  # a stale link still opens, on the defaults
    assert _volume(page.text) == _volume(client.get("/w/acme/topics/acme").text) > 0
    notices = re.findall(r'<p class="warning" role="status">([^<]*)</p>', page.text)
    assert notices == [
        "Unknown period &#39;7x&#39; (use 24h, 7d, 30d, 90d): showing 30 days",
        "Unknown language &#39;english&#39; (use a code such as en): showing every language",
        "Unknown sentiment &#39;happy&#39; (use negative, neutral, positive): "
        "showing every sentiment",
        "Unknown network &#39;nosuch&#39; (use bluesky, hackernews, mastodon, rss): "
        "showing every network",
    ]
    # The export link of such a page is of what it shows, so it works.
    link = re.search(r'class="csv" href="([^"]+)"', page.text)
    assert link is not None and client.get(link.group(1)).status_code == 200
    drill = client.get("/w/acme/topics/acme/posts?sentiment=happy&network=nosuch")
    assert drill.status_code == 200 and "Unknown sentiment &#39;happy&#39;" in drill.text
    assert "Unknown network &#39;nosuch&#39;" in drill.text
    hostile = client.get("/w/acme/topics/acme?period=<b>x</b>")
    assert "<b>x</b>" not in hostile.text and "&lt;b&gt;x&lt;/b&gt;" in hostile.text
    assert 'class="warning"' not in client.get("/w/acme/topics/acme?period=7d&lang=EN").text

    for query, said in (
        ("period=7x", "unknown period &#39;7x&#39; (use 24h, 7d, 30d, 90d)"),
        ("sentiment=happy", "unknown sentiment &#39;happy&#39;"),
        ("lang=english", "unknown language &#39;english&#39;"),
        ("network=nosuch", "unknown network &#39;nosuch&#39; (use bluesky, hackernews"),
    ):
        refused = client.get(f"/w/acme/topics/acme.csv?{query}")
        assert refused.status_code == 400, query
        assert said in refused.text and "Nothing was exported" in refused.text
