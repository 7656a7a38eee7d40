"""Whatever bytes arrive, the normaliser answers with posts or a reason, never a crash."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.connectors.rss.normalise import comment_feed_urls, normalise_feed
from hubbub.core.errors import Rejected
from hubbub.core.items import RawEvent

CONTENT_TYPES = st.sampled_from(
    ["", "application/rss+xml", "text/xml; charset=us-ascii", "application/feed+json", "text/html"]
)
META = st.fixed_dictionaries(
    {"content_type": CONTENT_TYPES},
    optional={
        "url": st.sampled_from(["https://a.example/feed", "not a url", ""]),
        "received_at": st.sampled_from(["2026-03-01T00:00:00Z", "garbage"]),
        "parent": st.just("https://a.example/p/1"),
    },
)
FRAGMENT = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


def rss_doc(title: str, body: str, date: str, guid: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        f"<item><title>{title}</title><description>{body}</description>"
        f"<pubDate>{date}</pubDate><guid>{guid}</guid></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")


def json_doc(title: str, body: str, date: str, guid: str) -> bytes:
    item = {"id": guid, "title": title, "content_html": body, "date_published": date}
    return orjson.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item, guid]})


def check(raw: RawEvent) -> None:
    try:
        items = normalise_feed(raw)
        urls = comment_feed_urls(raw)
    except Rejected as rejected:
        code: str | None = rejected.code
    else:
        code = None
        assert isinstance(items, list)
        assert isinstance(urls, dict)
    assert code is None or code.isidentifier()


@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(payload=st.binary(max_size=400), meta=META)
def test_arbitrary_bytes(payload: bytes, meta: dict[str, str]) -> None:
    check(RawEvent(payload, "feed", meta=meta))


@settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    shape=st.sampled_from([rss_doc, json_doc]),
    title=FRAGMENT,
    body=FRAGMENT,
    date=FRAGMENT,
    guid=FRAGMENT,
    meta=META,
)
def test_feeds_with_arbitrary_fields(
    shape: Callable[[str, str, str, str], bytes],
    title: str,
    body: str,
    date: str,
    guid: str,
    meta: dict[str, str],
) -> None:
    check(RawEvent(shape(title, body, date, guid), "feed", meta=meta))
