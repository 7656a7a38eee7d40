"""The feed normaliser's rules: ids, authors, text, links, media, dates, replies, rejections."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubbub.connectors.rss.normalise import comment_feed_urls, html_to_text, normalise_feed
from hubbub.core.errors import Rejected
from hubbub.core.items import PostItem, RawEvent

FIXTURES = Path(__file__).parent / "fixtures"
FEED_URL = "https://blog.acme.example/feed/"
BASE = "http://127.0.0.1:9"


def event(payload: bytes | str, **meta: str) -> RawEvent:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawEvent(payload=data, format="feed", meta=meta)


def posts(raw: RawEvent) -> list[PostItem]:
    items = normalise_feed(raw)
    assert all(isinstance(item, PostItem) for item in items)
    return [item for item in items if isinstance(item, PostItem)]


def blog(name: str = "blog_v2.xml") -> RawEvent:
    text = (FIXTURES / name).read_text().replace("{base}", BASE)
    return event(text, url=FEED_URL, content_type="application/rss+xml; charset=UTF-8")


def rss(items: str, channel: str = "") -> str:
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    return f"{head}{channel}{items}</channel></rss>"


def test_blog_entry_fields() -> None:
    sale, pan = posts(blog())
    assert pan.native_id == "https://blog.acme.example/?p=101"
    assert pan.title == "Our new cast-iron pan"
    assert pan.text == "Our new cast-iron pan\n\nWe made a pan & it is heavy.\nRead the care guide."
    assert "track()" not in pan.text
    assert pan.url == "https://blog.acme.example/2026/03/cast-iron-pan/"
    assert pan.links == (
        "https://blog.acme.example/2026/03/cast-iron-pan/",
        "https://blog.acme.example/media/pan.jpg",
        "https://blog.acme.example/care-guide/",
    )
    assert pan.media == ("image",)
    assert pan.langs == ("en",)
    assert pan.created_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert pan.author.native_id == f"{FEED_URL}#author:amira haddad"
    assert pan.author.display_name == "Amira Haddad"
    assert pan.reply_to is None
    assert pan.raw.startswith("{")
    assert sale.author.native_id == f"{FEED_URL}#author:ben ortiz"


def test_comment_feed_urls() -> None:
    assert comment_feed_urls(blog()) == {
        "https://blog.acme.example/?p=102": f"{BASE}/comments/102",
        "https://blog.acme.example/?p=101": f"{BASE}/comments/101",
    }


def test_atom_replies_link_is_a_comment_feed() -> None:
    atom = """<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr-CA"><title>A</title>
      <id>tag:acme.example,2026:feed</id><author><name>Zoé</name></author>
      <entry><id>tag:acme.example,2026:1</id><title type="html">&lt;b&gt;Bonjour&lt;/b&gt;</title>
        <updated>2026-03-01T10:00:00+01:00</updated>
        <link rel="alternate" href="/1"/>
        <link rel="replies" type="application/atom+xml" href="/1/comments.atom"/>
      </entry></feed>"""
    raw = event(atom, url="https://acme.example/feed.atom")
    (post,) = posts(raw)
    assert post.native_id == "tag:acme.example,2026:1"
    assert post.title == "Bonjour"
    assert post.langs == ("fr",)
    assert post.created_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert post.url == "https://acme.example/1"
    assert post.author.native_id == "https://acme.example/feed.atom#author:zoé"
    assert comment_feed_urls(raw) == {post.native_id: "https://acme.example/1/comments.atom"}


def test_comment_feed_entries_are_replies_to_the_parent() -> None:
    text = (FIXTURES / "comments_101.xml").read_text()
    raw = event(text, url=f"{BASE}/comments/101", parent="https://blog.acme.example/?p=101")
    (reply,) = posts(raw)
    assert reply.author.native_id == f"{BASE}/comments/101#author:chloé"
    raw.meta["site"] = FEED_URL  # the connector names the blog the comment feed belongs to
    (reply,) = posts(raw)
    assert reply.author.native_id == f"{FEED_URL}#author:chloé"
    assert reply.reply_to == "https://blog.acme.example/?p=101"
    assert reply.thread_root == "https://blog.acme.example/?p=101"
    assert reply.kind == "post"


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        ("https://acme.example/p/1", "https://acme.example/p/1"),
        (
            "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
            "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
        ),
        ("tag:acme.example,2026:post-1", "tag:acme.example,2026:post-1"),
        ("1234", f"{FEED_URL}#1234"),
    ],
)
def test_native_id_from_guid(guid: str, expected: str) -> None:
    doc = rss(
        f'<item><guid isPermaLink="false">{guid}</guid><title>x</title>'
        "<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>"
    )
    (post,) = posts(event(doc, url=FEED_URL))
    assert post.native_id == expected


def test_native_id_falls_back_to_link_then_to_a_stable_hash() -> None:
    linked = rss("<item><title>x</title><link>https://acme.example/a</link></item>")
    assert posts(event(linked, url=FEED_URL, received_at="2026-03-01T00:00:00Z"))[0].native_id == (
        "https://acme.example/a"
    )
    bare = rss("<item><title>same</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>")
    first = posts(event(bare, url=FEED_URL))[0].native_id
    again = posts(event(bare.replace("<title>T</title>", "<title>Renamed</title>"), url=FEED_URL))
    assert first.startswith(f"{FEED_URL}#sha256:")
    assert again[0].native_id == first  # stable across polls, independent of the channel
    other = rss("<item><title>other</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>")
    assert posts(event(other, url=FEED_URL))[0].native_id != first


def test_feed_without_author_names_is_the_author() -> None:
    doc = rss(
        "<item><title>x</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>",
        channel="<link>https://acme.example/</link>",
    )
    (post,) = posts(event(doc, url=FEED_URL))
    assert post.author.native_id == FEED_URL
    assert post.author.display_name == "T"
    assert post.author.handle == "acme.example"


def test_dates_fall_back_then_reject() -> None:
    undated = rss("<item><title>x</title></item>")
    received = posts(event(undated, received_at="2026-03-01T12:00:00Z"))[0]
    assert received.created_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    channel_dated = rss(
        "<item><title>x</title></item>",
        channel="<lastBuildDate>Sun, 01 Mar 2026 08:00:00 GMT</lastBuildDate>",
    )
    assert posts(event(channel_dated))[0].created_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(Rejected) as caught:
        normalise_feed(event(undated))
    assert caught.value.code == "bad_timestamp"
    with pytest.raises(Rejected) as bad:
        normalise_feed(event(undated, received_at="yesterday"))
    assert bad.value.code == "bad_timestamp"


def test_edited_when_updated_after_published() -> None:
    atom = """<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:x</id>
      <entry><id>urn:e</id><title>t</title><published>2026-03-01T10:00:00Z</published>
      <updated>2026-03-02T10:00:00Z</updated></entry></feed>"""
    (post,) = posts(event(atom))
    assert post.edited
    assert post.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_enclosure_kinds() -> None:
    doc = rss(
        "<item><title>ep</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate>"
        '<enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/></item>'
    )
    (post,) = posts(event(doc))
    assert post.media == ("audio",)
    assert "https://cdn.example/ep1.mp3" in post.links


def test_html_to_text() -> None:
    assert (
        html_to_text("<p>a &amp;lt; b</p><p>c&nbsp;d</p><style>p{}</style>") == "a &lt; b\nc\xa0d"
    )
    assert html_to_text("<img src=x onerror=alert(1)>") == ""
    assert html_to_text("Tom &amp; Jerry&#8217;s") == "Tom & Jerry\u2019s"


def test_unsafe_links_are_dropped() -> None:
    doc = rss(
        "<item><title>x</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate>"
        '<description><![CDATA[<a href="javascript:alert(1)">x</a> <a href="mailto:a@b">m</a>'
        '<a href="https://ok.example/">ok</a>]]></description></item>'
    )
    (post,) = posts(event(doc))
    assert post.links == ("https://ok.example/",)


@pytest.mark.parametrize("payload", [b"", b"   \n\t", b"\xef\xbb\xbf \n"])
def test_empty_body_is_rejected(payload: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        normalise_feed(event(payload))
    assert caught.value.code == "empty_body"


def test_html_page_is_rejected_with_the_advertised_feed() -> None:
    page = (
        "<!doctype html><html><head><link rel='alternate' type='application/atom+xml' "
        "href='/atom.xml'></head><body>hi</body></html>"
    )
    with pytest.raises(Rejected) as caught:
        normalise_feed(event(page, url="https://acme.example/", content_type="text/html"))
    assert caught.value.code == "not_a_feed"
    assert "https://acme.example/atom.xml" in caught.value.detail


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"<?xml version='1.0'?><catalog><book/></catalog>", "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "missing_field"),
        (b'{"hello": "world"}', "not_a_feed"),
        (b"[1, 2]", "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "invalid_json"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [3]}', "bad_shape"),
        (b"\xff\xfe{\x00", "invalid_utf8"),
    ],
)
def test_unusable_documents_are_rejected(payload: bytes, code: str) -> None:
    raw = event(payload, content_type="application/json" if b"{" in payload else "text/xml")
    with pytest.raises(Rejected) as caught:
        normalise_feed(raw)
    assert caught.value.code == code


def test_json_feed_1_1_authors_language_and_dates() -> None:
    doc = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "J", "language": "de-DE",
      "home_page_url": "https://j.example/", "items": [
        {"id": "https://j.example/1", "content_html": "<p>Hallo <a href='/x'>Welt</a></p>",
         "authors": [{"name": "Lena"}], "date_published": "2026-03-01T10:00:00+02:00",
         "date_modified": "2026-03-01T12:00:00+02:00", "image": "https://j.example/i.png"},
        {"id": 7, "content_text": "plain <not a tag>", "date_published": "not a date"}]}"""
    first, second = posts(event(doc, received_at="2026-03-05T00:00:00Z"))
    assert first.text == "Hallo Welt"
    assert first.links == ("https://j.example/x",)
    assert first.langs == ("de",)
    assert first.author.native_id == "https://j.example/#author:lena"
    assert first.created_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert first.edited
    assert first.media == ("image",)
    assert second.native_id == "https://j.example/#7"
    assert second.text == "plain <not a tag>"  # content_text is text, not HTML
    assert second.created_at == datetime(2026, 3, 5, 0, 0, tzinfo=UTC)


def test_fetch_error_carried_by_the_connector_is_a_rejection() -> None:
    with pytest.raises(Rejected) as caught:
        normalise_feed(RawEvent(b"", "feed", meta={"error": "too_large", "detail": "1 MB"}))
    assert (caught.value.code, caught.value.detail) == ("too_large", "1 MB")


def test_charset_from_http_header_wins_over_declaration() -> None:
    doc = rss("<item><title>Caf\xe9</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>")
    payload = doc.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-8"?>')
    raw = event(
        payload.encode("iso-8859-1"), content_type="application/rss+xml; charset=iso-8859-1"
    )
    assert posts(raw)[0].title == "Café"
