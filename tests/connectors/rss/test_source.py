"""The live feed connector against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from hubbub.connectors.rss.normalise import normalise_feed
from hubbub.connectors.rss.source import RssConfig, RssConnector
from hubbub.core.errors import Rejected
from hubbub.core.items import PostItem, RawEvent
from hubbub.settings import Settings
from hubbub.sources.base import SourceContext, connectors, is_reported, normalisers
from tests.connectors.rss.feedserver import FeedServer, Reply, feed_server, run_until
from tests.support.data import shared_path

FIXTURES = Path(__file__).parent / "fixtures"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def connector(settings: Settings, url: str, **config: object) -> RssConnector:
    values: dict[str, object] = {"url": url, "interval_seconds": 0.05, **config}
    return RssConnector(RssConnector.parse_config(values), SourceContext(settings, "test-feed"))


def fixture(name: str, server: FeedServer) -> bytes:
    return (FIXTURES / name).read_text().replace("{base}", server.base).encode()


def koi8r() -> bytes:
    return shared_path("feeds", "feedparser", "illformed", "chardet", "koi8r.xml").read_bytes()


def events(batches: list[list[RawEvent]]) -> list[RawEvent]:
    return [event for batch in batches for event in batch]


def posts(event: RawEvent) -> list[PostItem]:
    items = normalise_feed(event)
    assert all(isinstance(item, PostItem) for item in items)
    return [item for item in items if isinstance(item, PostItem)]


def test_registered() -> None:
    assert connectors.get("rss") is RssConnector
    assert RssConnector.network == "rss"
    assert normalisers.get("feed") is normalise_feed


def test_conditional_get_yields_once_then_304s_yield_nothing(
    server: FeedServer, local_settings: Settings
) -> None:
    url = server.script("/feed", Reply(koi8r(), headers={"Content-Type": "text/xml"}, etag='"v1"'))
    batches = run_until(
        connector(local_settings, url), None, lambda _: len(server.hits("/feed")) >= 4
    )
    assert len(events(batches)) == 1
    event = events(batches)[0]
    assert event.meta["url"] == url
    assert event.meta["content_type"] == "text/xml"
    assert "received_at" in event.meta
    assert posts(event)[0].title == "Как пережить новогоднюю ночь"
    assert json.loads(event.cursor or "")["main"]["etag"] == '"v1"'
    later = server.hits("/feed")[1:]
    assert all(seen.headers.get("if-none-match") == '"v1"' for seen in later)
    assert all(seen.status == 304 for seen in later)

    # A restart from the saved cursor starts conditional: nothing is fetched twice.
    again = run_until(
        connector(local_settings, url), event.cursor, lambda _: len(server.hits("/feed")) >= 6
    )
    assert again == []
    assert server.hits("/feed")[-1].status == 304


def test_last_modified_is_sent_back(server: FeedServer, local_settings: Settings) -> None:
    stamp = "Tue, 03 Mar 2026 09:00:00 GMT"
    url = server.script("/feed", Reply(koi8r(), headers={"Last-Modified": stamp}))
    run_until(connector(local_settings, url), None, lambda _: len(server.hits("/feed")) >= 2)
    assert server.hits("/feed")[1].headers.get("if-modified-since") == stamp


def test_changed_etag_brings_new_entries(server: FeedServer, local_settings: Settings) -> None:
    url = server.script(
        "/feed",
        Reply(fixture("blog_v1.xml", server), headers=RSS, etag='"v1"'),
        Reply(fixture("blog_v1.xml", server), headers=RSS, etag='"v1"'),
        Reply(fixture("blog_v2.xml", server), headers=RSS, etag='"v2"'),
    )
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 2)
    first, second = (posts(event) for event in events(batches))
    assert [p.native_id for p in first] == ["https://blog.acme.example/?p=101"]
    assert [p.native_id for p in second] == [
        "https://blog.acme.example/?p=102",
        "https://blog.acme.example/?p=101",
    ]
    assert [seen.status for seen in server.hits("/feed")[:3]] == [200, 304, 200]
    assert json.loads(events(batches)[1].cursor or "")["main"]["etag"] == '"v2"'


def test_same_body_without_validators_is_not_yielded_again(
    server: FeedServer, local_settings: Settings
) -> None:
    url = server.script("/feed", Reply(koi8r()))
    batches = run_until(
        connector(local_settings, url), None, lambda _: len(server.hits("/feed")) >= 3
    )
    assert len(events(batches)) == 1


def test_comment_feeds_become_replies(server: FeedServer, local_settings: Settings) -> None:
    url = server.script(
        "/feed",
        Reply(fixture("blog_v1.xml", server), headers=RSS, etag='"v1"'),
        Reply(fixture("blog_v2.xml", server), headers=RSS, etag='"v2"'),
    )
    server.script(
        "/comments/101", Reply(fixture("comments_101.xml", server), headers=RSS, etag='"c"')
    )
    server.script("/comments/102", Reply(koi8r(), headers={"Content-Type": "text/xml"}))
    source = connector(local_settings, url, follow_comments=True)
    batches = run_until(source, None, lambda _: len(server.hits("/comments/102")) >= 2)
    by_url: dict[str, list[RawEvent]] = {}
    for event in events(batches):
        by_url.setdefault(event.meta["url"], []).append(event)
    assert len(by_url[url]) == 2
    (comments,) = by_url[server.base + "/comments/101"]  # later polls were 304
    assert comments.meta["parent"] == "https://blog.acme.example/?p=101"
    assert comments.meta["site"] == url
    (reply,) = posts(comments)
    assert reply.author.native_id == f"{url}#author:chloé"
    assert reply.reply_to == reply.thread_root == "https://blog.acme.example/?p=101"
    assert reply.native_id == "https://blog.acme.example/2026/03/cast-iron-pan/#comment-7"
    assert reply.author.display_name == "Chloé"
    assert reply.text == "By: Chloé\n\nDoes it work on induction? Mine keeps <sliding>."
    (russian,) = by_url[server.base + "/comments/102"]
    assert posts(russian)[0].reply_to == "https://blog.acme.example/?p=102"
    assert posts(russian)[0].title == "Как пережить новогоднюю ночь"
    assert all(s.headers.get("if-none-match") == '"c"' for s in server.hits("/comments/101")[1:])
    # The cursor remembers the comment feeds, so a restart keeps following them.
    saved = json.loads(events(batches)[-1].cursor or "")
    assert {c["url"] for c in saved["comments"]} == {
        server.base + "/comments/101",
        server.base + "/comments/102",
    }


def test_only_the_newest_entries_comment_feeds_are_tracked(
    server: FeedServer, local_settings: Settings
) -> None:
    url = server.script("/feed", Reply(fixture("blog_v2.xml", server), headers=RSS))
    server.script("/comments/102", Reply(koi8r(), etag='"k"'))
    source = connector(local_settings, url, follow_comments=True, comment_feeds_tracked=1)
    run_until(source, None, lambda _: len(server.hits("/comments/102")) >= 3)
    assert server.hits("/comments/101") == []  # the older entry (3 March) is not followed


def test_comments_not_followed_unless_enabled(server: FeedServer, local_settings: Settings) -> None:
    url = server.script("/feed", Reply(fixture("blog_v1.xml", server), headers=RSS))
    run_until(connector(local_settings, url), None, lambda _: len(server.hits("/feed")) >= 3)
    assert server.hits("/comments/101") == []


def test_429_retry_after_is_honoured(server: FeedServer, local_settings: Settings) -> None:
    url = server.script(
        "/feed", Reply(b"slow down", status=429, headers={"Retry-After": "1"}), Reply(koi8r())
    )
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 1)
    first, second = server.hits("/feed")[:2]
    assert first.status == 429
    assert second.at - first.at >= 0.95
    assert posts(events(batches)[0])


def test_5xx_backs_off_with_growing_capped_delays(
    server: FeedServer, local_settings: Settings
) -> None:
    failures = [Reply(b"oops", status=502) for _ in range(8)]
    url = server.script("/feed", *failures, Reply(koi8r()))
    source = connector(local_settings, url, interval_seconds=0.02, max_backoff_seconds=0.3)
    batches = run_until(source, None, lambda b: len(b) >= 1)
    hits = server.hits("/feed")
    assert [seen.status for seen in hits[:9]] == [502] * 8 + [200]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(hits[:9])]
    # Ceilings double from 0.02 and stop at the 0.3 cap; each delay is drawn from
    # [ceiling/2, ceiling]. Sleeps are never shorter than asked, so lower bounds are exact.
    assert gaps[3] >= 0.08
    assert all(gap >= 0.15 for gap in gaps[4:])
    # Uncapped, the eight delays would take at least 2.55 s; capped, at most 1.5 s.
    assert hits[8].at - hits[0].at < 2.5
    assert len(events(batches)) == 1


def test_slow_response_times_out_and_recovers(server: FeedServer, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, allowed_private_hosts=["127.0.0.1"], http_timeout_seconds=0.2
    )
    url = server.script("/feed", Reply(koi8r(), delay=1.5), Reply(koi8r()))
    batches = run_until(connector(settings, url), None, lambda b: len(b) >= 1)
    assert len(server.hits("/feed")) >= 2
    assert posts(events(batches)[0])


def test_gzip_bomb_is_rejected_and_polling_continues(
    server: FeedServer, local_settings: Settings
) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    url = server.script(
        "/feed",
        Reply(bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}),
        Reply(koi8r()),
    )
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 2)
    rejected, good = events(batches)[:2]
    assert rejected.meta["error"] == "too_large"
    with pytest.raises(Rejected) as caught:
        normalise_feed(rejected)
    assert caught.value.code == "too_large"
    assert posts(good)[0].title == "Как пережить новогоднюю ночь"


def test_oversize_body_is_rejected_and_polling_continues(
    server: FeedServer, local_settings: Settings
) -> None:
    huge = b"<rss><channel>" + b"<item><title>x</title></item>" * 40_000 + b"</channel></rss>"
    assert len(huge) > local_settings.max_payload_bytes
    url = server.script("/feed", Reply(huge), Reply(koi8r()))
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 2)
    rejected, good = events(batches)[:2]
    assert rejected.meta["error"] == "too_large"
    assert rejected.payload == b""
    assert posts(good)


def test_4xx_is_reported_once_per_streak(server: FeedServer, local_settings: Settings) -> None:
    url = server.script("/feed", *[Reply(b"gone", status=404)] * 4, Reply(koi8r()))
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 2)
    rejected, good = events(batches)[:2]
    assert rejected.meta["error"] == "http_status"
    assert "404" in rejected.meta["detail"]
    assert posts(good)
    assert len(server.hits("/feed")) >= 5


def test_a_refusal_after_another_problem_is_reported_again(
    server: FeedServer, local_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The listener stores the reported refusal as the source's last error and leaves out the
    log lines restating it (marked ``REPORTED``), so after a server error in between the 404
    is reported again: the source must not keep showing the 502."""
    replies = [Reply(b"gone", status=404)] * 2 + [Reply(b"oops", status=502)]
    url = server.script("/feed", *replies, Reply(b"gone", status=404))
    with caplog.at_level(logging.WARNING):
        batches = run_until(
            connector(local_settings, url, max_backoff_seconds=0.1), None, lambda b: len(b) >= 2
        )
    assert [e.meta["error"] for e in events(batches)[:2]] == ["http_status", "http_status"]
    marked = {
        ("404" if "404" in r.getMessage() else "502"): is_reported(r)
        for r in caplog.records
        if r.name == "hubbub.sources"
    }
    assert marked == {"404": True, "502": False}


def test_html_page_is_rejected_with_a_reason(server: FeedServer, local_settings: Settings) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>Acme</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
        b"<body><p>Hello</p></body></html>"
    )
    url = server.script("/", Reply(page, headers={"Content-Type": "text/html; charset=utf-8"}))
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 1)
    with pytest.raises(Rejected) as caught:
        normalise_feed(events(batches)[0])
    assert caught.value.code == "not_a_feed"
    assert server.base + "/feed.xml" in caught.value.detail


def test_loopback_refused_by_default(server: FeedServer, tmp_path: Path) -> None:
    url = server.script("/feed", Reply(koi8r()))
    batches = run_until(connector(Settings(home=tmp_path), url), None, lambda b: len(b) >= 1)
    (event,) = events(batches)
    assert event.meta["error"] == "unsafe_url"
    assert server.hits("/feed") == []
    with pytest.raises(Rejected) as caught:
        normalise_feed(event)
    assert caught.value.code == "unsafe_url"


def test_loopback_allowed_with_local_settings(server: FeedServer, local_settings: Settings) -> None:
    url = server.script("/feed", Reply(koi8r()))
    batches = run_until(connector(local_settings, url), None, lambda b: len(b) >= 1)
    assert posts(events(batches)[0])
    assert len(server.hits("/feed")) == 1


def test_unreadable_cursor_starts_afresh(server: FeedServer, local_settings: Settings) -> None:
    url = server.script("/feed", Reply(koi8r(), etag='"v1"'))
    batches = run_until(connector(local_settings, url), "{not json", lambda b: len(b) >= 1)
    assert posts(events(batches)[0])
    assert "if-none-match" not in server.hits("/feed")[0].headers


def test_config_validation() -> None:
    assert RssConfig(url="https://example.org/feed").interval_seconds == 900
    with pytest.raises(ValidationError, match="at least 60"):
        RssConfig(url="https://example.org/feed", interval_seconds=5)
    assert (
        RssConfig(url="http://127.0.0.1:8000/feed", interval_seconds=0.05).interval_seconds == 0.05
    )
    with pytest.raises(ValidationError):
        RssConfig(url="http://127.0.0.1:8000/feed", interval_seconds=0.001)
    with pytest.raises(ValidationError, match="http"):
        RssConfig(url="file:///etc/passwd")
    with pytest.raises(ValidationError):
        RssConfig.model_validate({"url": "https://example.org/feed", "intervall": 60})
