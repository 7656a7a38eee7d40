"""feedparser's own odd-encoding, ill-formed, entity and JSON Feed documents, normalised.

Each document's comment header says what it is (``Description:``), what feedparser should
make of it (``Expect:``) and, for some, the HTTP header it is served with (``Header:``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hubbub.connectors.rss.normalise import normalise_feed
from hubbub.core.errors import Rejected
from hubbub.core.items import PostItem, RawEvent
from tests.support.data import SHARED_DATA, shared_path

CORPUS = SHARED_DATA / "feeds" / "feedparser"
RECEIVED = "2026-03-01T12:00:00+00:00"
REJECT_CODES = {
    "malformed_feed",
    "bad_encoding",
    "not_a_feed",
    "empty_body",
    "invalid_json",
    "invalid_utf8",
}
_HEADER = re.compile(rb"^Header:\s*Content-type:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_EXPECT = re.compile(r"^Expect:\s*(.+?)\s*$", re.MULTILINE)


def corpus_files(*folders: str) -> list[str]:
    """Relative paths, so test ids stay readable; empty when the shared data is absent."""
    root = CORPUS.joinpath(*folders)
    if not root.exists():
        return ["(shared data missing)"]
    return sorted(str(p.relative_to(CORPUS)) for p in root.rglob("*") if p.is_file())


def load(relative: str, received_at: str | None = RECEIVED) -> RawEvent:
    data = shared_path("feeds", "feedparser", *relative.split("/")).read_bytes()
    meta = {}
    if received_at:
        meta["received_at"] = received_at
    header = _HEADER.search(data)
    if header:
        meta["content_type"] = header.group(1).decode()
    return RawEvent(payload=data, format="feed", meta=meta)


def only_posts(event: RawEvent) -> list[PostItem]:
    items = normalise_feed(event)
    assert all(isinstance(item, PostItem) for item in items)
    return [item for item in items if isinstance(item, PostItem)]


@pytest.mark.parametrize("relative", corpus_files())
def test_every_document_gives_posts_or_a_reason(relative: str) -> None:
    event = load(relative)
    try:
        posts = only_posts(event)
    except Rejected as rejected:
        outcome: Rejected | None = rejected
    else:
        outcome = None
    if outcome is not None:
        assert outcome.code in REJECT_CODES
        assert outcome.detail
        return
    for post in posts:
        assert post.native_id
        assert post.created_at.tzinfo is not None
        assert post.author.native_id
        assert not _TAG.search(post.text), post.text  # HTML is stripped, never passed on


# Concrete results for documents whose entries carry text. ``title``/``text`` are exact.
EXPECTED: dict[str, dict[str, str]] = {
    "encoding/euc-kr-item.xml": {"text": "\ub144"},
    "encoding/demoronize-1.xml": {"text": "don\u2019t"},
    "encoding/demoronize-3.xml": {"text": "don\u2019t"},  # double-escaped: resolved once more
    "encoding/double-encoded-html.xml": {"text": "\u2026"},
    "encoding/http_text_xml_charset_2.xml": {
        "title": "Foo",
        "text": "Foo\n\nThis is a \xa3\u201ctest.\u201d",
    },
    "encoding/bozo_linenoise.xml": {"text": "\xe2\u20ac\u2122\xe2\u20ac\x9d\u0160"},
    "illformed/chardet/koi8r.xml": {"title": "Как пережить новогоднюю ночь"},
    "illformed/chardet/eucjp.xml": {"title": "ゲーム三昧な正月"},
    "illformed/chardet/euckr.xml": {"title": "EUC-KR 에서 TypeKey 한글닉네임 표시하기"},
    "illformed/chardet/gb2312.xml": {"title": "不归移民漫画系列：专业工作"},
    "illformed/chardet/shiftjis.xml": {"title": "DrecomRSSに記事投稿が反映されない…"},
    "illformed/rdf_channel_empty_textinput.xml": {"title": "crashes here"},
}


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_concrete_results(relative: str) -> None:
    (post, *_) = only_posts(load(relative))
    for name, value in EXPECTED[relative].items():
        assert getattr(post, name) == value


@pytest.mark.parametrize(
    ("relative", "start"),
    [
        ("illformed/chardet/tis620.xml", "สำนักงานส่งเสริมอุตสาหกรรมซอฟต์แวร์แห่งชาติ"),
        ("illformed/chardet/windows1255.xml", "האם תדפיס נייר של אתר אינטרנט"),
        ("illformed/chardet/koi8r.xml", "Как пережить новогоднюю ночь\n\nНаверное, единственное"),
    ],
)
def test_undeclared_encodings_are_detected(relative: str, start: str) -> None:
    (post,) = only_posts(load(relative))
    assert post.text.startswith(start)


def test_entries_recovered_from_ill_formed_xml_are_kept() -> None:
    (post,) = only_posts(load("illformed/rss_item_link_corrupted_ampersands.xml"))
    assert post.native_id == "http://link/get?a=1&b=2"
    assert post.url == "http://link/get?a=1&b=2"
    (entry,) = only_posts(load("entities/query_variable_entry.xml"))
    assert entry.url == "http://example/?a=1&b=2&c"


def test_html_in_attributes_does_not_leak_into_text() -> None:
    (post,) = only_posts(load("encoding/euc-kr-attribute.xml"))
    assert post.text == ""  # the only content is <img alt="년" />: no text, nothing rendered
    (linked,) = only_posts(load("encoding/encoding_attribute_crash_2.xml"))
    assert "http://example.com" in linked.links


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        ("illformed/aaa_illformed.xml", "malformed_feed"),
        ("illformed/undeclared_namespace.xml", "malformed_feed"),
        ("encoding/bozo_invalid-bytes-with-bom.xml", "malformed_feed"),
        ("illformed/rss_empty_document.xml", "not_a_feed"),
    ],
)
def test_nothing_usable_is_rejected(relative: str, code: str) -> None:
    with pytest.raises(Rejected) as caught:
        normalise_feed(load(relative))
    assert caught.value.code == code


def test_well_formed_feed_without_entries_is_empty_not_rejected() -> None:
    assert normalise_feed(load("encoding/big5.xml")) == []
    assert normalise_feed(load("encoding/http_i18n.xml")) == []


def test_json_feed() -> None:
    first, second = only_posts(load("json/example.json"))
    assert first.native_id == "https://example.org/feed.json#2"  # "2" is only unique in its feed
    assert first.title == "post 2"
    assert first.text == "post 2\n\nThis is a second item."
    assert first.media == ("video",)
    assert "https://example.org/second-item-show.mp4" in first.links
    assert first.author.native_id == "https://example.org/feed.json#author:me"  # feed author
    assert first.created_at.isoformat() == RECEIVED  # JSON items without dates
    assert second.text == "Hello, world!"  # <script> content dropped, tags stripped
    assert second.author.native_id == "https://example.org/feed.json#author:you"
    assert second.author.url == "http://example.net/~you"
    assert second.url == "https://example.org/initial-post"


def _entity_cases() -> list[str]:
    return [
        relative
        for relative in corpus_files("entities")
        if "feed['title']" in _read_text(relative) or "entries[0]['title']" in _read_text(relative)
    ] or ["(shared data missing)"]


def _read_text(relative: str) -> str:
    path = CORPUS / relative
    return path.read_text("utf-8", "replace") if path.exists() else ""


@pytest.mark.parametrize("relative", _entity_cases())
def test_entities_resolve(relative: str) -> None:
    """Each document names one entity in a title; moved into an entry, it must resolve the same."""
    event = load(relative)
    expect = _EXPECT.search(event.payload.decode("utf-8", "replace"))
    assert expect is not None
    wanted = ast.literal_eval(expect.group(1).split("==", 1)[1].strip())
    if "feed['title']" in expect.group(1):
        # The channel's title becomes an entry's title; the document is otherwise untouched.
        event.payload = event.payload.replace(b"<channel>", b"<channel><item>", 1).replace(
            b"</channel>", b"</item></channel>", 1
        )
    (post,) = only_posts(event)
    assert post.title == wanted.strip()


def test_corpus_is_complete() -> None:
    assert len(corpus_files()) == 358
    assert Path(shared_path("feeds", "feedparser", "json", "example.json")).exists()


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "text/plain", "text/html", ""]
)
def test_undeclared_encoding_detected_whatever_the_served_type(content_type: str) -> None:
    event = load("illformed/chardet/koi8r.xml")
    event.meta["content_type"] = content_type
    assert only_posts(event)[0].title == "Как пережить новогоднюю ночь"
