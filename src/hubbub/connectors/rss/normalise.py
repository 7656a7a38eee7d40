"""Feed documents (RSS 0.9x–2.0, RSS 1.0/RDF, Atom 0.3/1.0, JSON Feed 1.x) to posts.

One :class:`RawEvent` holds one whole feed document as received. XML feeds go through
feedparser, which already recovers from much ill-formed XML and odd encodings; JSON Feed is
decoded here because feedparser 6 does not read it. Both land in the same :class:`_Entry`
shape, so one function builds every :class:`PostItem`. HTML is never rendered: it is
stripped to clean text with nh3.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import feedparser
import nh3
import orjson

from hubbub.core.clock import parse_timestamp
from hubbub.core.errors import Rejected
from hubbub.core.items import AuthorRef, Item, MediaKind, PostItem, RawEvent
from hubbub.sources.base import normalisers
from hubbub.sources.decode import load_json, timestamp

FORMAT = "feed"

# Entry ids that already name the entry globally (URL, URN, tag URI) are used as they are;
# any other id is only unique inside its feed and gets the feed's key in front.
_GLOBAL_ID = re.compile(r"^(?:[a-z][a-z0-9+.-]*://\S+|urn:\S+|tag:\S+)$", re.IGNORECASE)
_XML_ENCODING_DECL = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
_BLOCK_END = re.compile(
    r"<br\s*/?>|</(?:p|div|li|h[1-6]|blockquote|pre|tr|ul|ol|table|section|article)\s*>",
    re.IGNORECASE,
)
_INLINE_SPACE = re.compile(r"[ \t\r\f\v]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LANG = re.compile(r"^[a-z]{2,3}$")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# feedparser flags these while still producing a correct parse of a real feed.
_SOFT_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_COMMENT_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml")


@dataclass(slots=True)
class _Author:
    name: str | None = None
    email: str | None = None
    url: str | None = None


@dataclass(slots=True)
class _Feed:
    """Feed-level facts shared by every entry of one document."""

    key: str
    title: str | None = None
    link: str | None = None
    author: _Author | None = None
    langs: tuple[str, ...] = ()
    updated: datetime | None = None


@dataclass(slots=True)
class _Entry:
    """One entry, independent of the feed format it came from."""

    id: str | None = None
    link: str | None = None
    title: str = ""
    body: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    date_text: str = ""
    author: _Author | None = None
    langs: tuple[str, ...] = ()
    links: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    comment_feed: str | None = None
    raw: str = ""


@dataclass(slots=True)
class ParsedFeed:
    """A normalised document: the posts, and the comment feed URL of each post that has one."""

    posts: list[PostItem]
    comment_feeds: dict[str, str]


# --------------------------------------------------------------------------- text helpers


class _AnchorCollector(HTMLParser):
    """Collects ``<a href>`` targets; parsing only, nothing is rendered."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value:
                    self.hrefs.append(value)


def html_to_text(markup: str) -> str:
    """Clean text from an HTML fragment: tags stripped by nh3, entities resolved once."""
    if not markup:
        return ""
    spaced = _BLOCK_END.sub("\n", markup)
    return _tidy(html.unescape(nh3.clean(spaced, tags=set())))


def _tidy(text: str) -> str:
    lines = (_INLINE_SPACE.sub(" ", line).strip() for line in _CONTROL.sub("", text).split("\n"))
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def _detail_text(value: str, content_type: str | None) -> str:
    if content_type and "html" in content_type:
        return html_to_text(value)
    return _tidy(value)


def _anchors(markup: str, base: str | None) -> list[str]:
    if "<a" not in markup.lower():
        return []
    collector = _AnchorCollector()
    try:
        collector.feed(markup)
        collector.close()
    except (ValueError, AssertionError):
        return []
    return [url for href in collector.hrefs if (url := _absolute(href, base))]


def _absolute(href: Any, base: str | None) -> str | None:
    """An absolute http(s) URL, or None for anything else (mailto:, javascript:, junk)."""
    if not isinstance(href, str) or not href.strip() or len(href) > 4096:
        return None
    try:
        url = urljoin(base or "", href.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _lang(value: Any) -> str | None:
    """The primary language subtag, lower case (``en-US`` → ``en``), as other networks give."""
    if not isinstance(value, str):
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if _LANG.match(primary) else None


def _langs(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for value in values if (code := _lang(value))))


def _media_kind(mime: Any, medium: Any = None) -> MediaKind:
    kind = (mime if isinstance(mime, str) else "").lower()
    if kind == "image/gif":
        return "gif"
    for prefix in ("image", "video", "audio"):
        if kind.startswith(prefix + "/") or medium == prefix:
            return prefix
    return "other"


def _jsonable(value: Any) -> Any:
    if isinstance(value, time.struct_time):
        return list(value)
    return str(value)


def _dump(value: Any) -> str:
    return orjson.dumps(value, default=_jsonable, option=orjson.OPT_NON_STR_KEYS).decode()


def _struct_to_utc(value: Any) -> datetime | None:
    """feedparser's parsed dates are UTC ``struct_time``; junk years come back as None."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _text_field(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


# --------------------------------------------------------------------------- XML feeds


def _media_type(content_type: str) -> str:
    return content_type.split(";", maxsplit=1)[0].strip().lower()


def _charset_declared(payload: bytes, content_type: str) -> bool:
    """True when the bytes say how they are encoded (HTTP charset, BOM, XML declaration)."""
    if "charset" in content_type.lower():
        return True
    return payload.startswith(_BOMS) or bool(_XML_ENCODING_DECL.match(payload[:512]))


def _guess_charset(payload: bytes, content_type: str) -> str | None:
    """For undeclared, non-UTF-8 bytes: the detected charset, which feedparser would otherwise
    replace with windows-1252 and turn Cyrillic or CJK text into mojibake."""
    if _charset_declared(payload, content_type):
        return None
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(payload).best()
        return best.encoding if best is not None else None
    return None


def _feedparser_parse(raw: RawEvent) -> Any:
    content_type = raw.meta.get("content_type", "")
    headers: dict[str, str] = {}
    if raw.meta.get("url"):
        headers["content-location"] = raw.meta["url"]
    charset = _guess_charset(raw.payload, content_type)
    if charset is not None:
        # feedparser ignores a charset on non-XML types (octet-stream, text/plain, …).
        headers["content-type"] = f"application/xml; charset={charset}"
    else:
        # Without a content type feedparser assumes an HTTP answer without one (latin-1);
        # application/xml lets the XML declaration, BOM or UTF-8 default decide instead.
        headers["content-type"] = content_type or "application/xml"
    # A stream, never bytes or str: feedparser treats strings as URLs or file names. Its HTML
    # sanitiser is skipped: nh3 strips every tag afterwards anyway, so it would only cost time.
    return feedparser.parse(io.BytesIO(raw.payload), response_headers=headers, sanitize_html=False)


def _fp_author(detail: Any, name: Any) -> _Author | None:
    if isinstance(detail, Mapping):
        author = _Author(
            name=_text_field(detail.get("name")),
            email=_text_field(detail.get("email")),
            url=_text_field(detail.get("href")),
        )
        if author.name or author.email or author.url:
            return author
    if _text_field(name):
        return _Author(name=_text_field(name))
    return None


def _feed_key(meta_url: str | None, *candidates: Any) -> str:
    """What scopes entry and author ids: the feed URL, else the feed's own link or id."""
    for candidate in (meta_url, *candidates):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return "feed:unnamed"


def _fp_feed(result: Any, meta: Mapping[str, str]) -> _Feed:
    feed = result.get("feed", {})
    self_link = next(
        (
            link.get("href")
            for link in feed.get("links", [])
            if isinstance(link, Mapping) and link.get("rel") == "self"
        ),
        None,
    )
    key = _feed_key(meta.get("url"), self_link, feed.get("link"), feed.get("id"))
    if key == "feed:unnamed" and _text_field(feed.get("title")):
        digest = hashlib.sha256(feed["title"].encode()).hexdigest()[:16]
        key = f"feed:{digest}"
    title_detail = feed.get("title_detail") or {}
    return _Feed(
        key=key,
        title=_detail_text(feed.get("title", ""), title_detail.get("type")) or None,
        link=_absolute(feed.get("link"), meta.get("url")),
        author=_fp_author(feed.get("author_detail"), feed.get("author")),
        langs=_langs([feed.get("language"), title_detail.get("language")]),
        updated=_struct_to_utc(dict.get(feed, "updated_parsed") or feed.get("published_parsed")),
    )


def _fp_body(entry: Any) -> tuple[str, str | None]:
    """The fullest body: HTML content first, else any content, else the summary."""
    contents = [c for c in entry.get("content", []) if isinstance(c, Mapping) and c.get("value")]
    contents.sort(key=lambda c: "html" not in str(c.get("type", "")))
    if contents:
        return str(contents[0]["value"]), str(contents[0].get("type", "text/html"))
    summary = entry.get("summary")
    if isinstance(summary, str) and summary:
        return summary, str((entry.get("summary_detail") or {}).get("type", "text/html"))
    return "", None


def _fp_entry(entry: Any, feed: _Feed, base: str | None) -> _Entry:
    link = _absolute(entry.get("link"), base)
    title_detail = entry.get("title_detail") or {}
    body_markup, body_type = _fp_body(entry)
    markup_base = link or base
    links: list[str] = []
    media: list[str] = []
    comment_feed = _absolute(entry.get("wfw_commentrss"), markup_base)
    for item in entry.get("links", []):
        if not isinstance(item, Mapping):
            continue
        href = _absolute(item.get("href"), markup_base)
        rel = item.get("rel", "alternate")
        if href is None:
            continue
        if rel == "enclosure":
            media.append(_media_kind(item.get("type")))
            links.append(href)
        elif rel == "replies" and str(item.get("type", "")).lower() in _COMMENT_FEED_TYPES:
            comment_feed = comment_feed or href
        elif rel in ("alternate", "related", "via"):
            links.append(href)
    for item in entry.get("media_content", []):
        if isinstance(item, Mapping) and item.get("url"):
            media.append(_media_kind(item.get("type"), item.get("medium")))
    if body_type and "html" in body_type:
        links.extend(_anchors(body_markup, markup_base))
    content_langs = [c.get("language") for c in entry.get("content", []) if isinstance(c, Mapping)]
    return _Entry(
        id=_text_field(entry.get("id")),
        link=link,
        title=_detail_text(entry.get("title", ""), title_detail.get("type")),
        body=_detail_text(body_markup, body_type),
        published=_struct_to_utc(entry.get("published_parsed") or entry.get("created_parsed")),
        updated=_struct_to_utc(dict.get(entry, "updated_parsed")),
        date_text=str(entry.get("published") or dict.get(entry, "updated") or ""),
        author=_fp_author(entry.get("author_detail"), entry.get("author")),
        langs=_langs(
            [
                title_detail.get("language"),
                *content_langs,
                (entry.get("summary_detail") or {}).get("language"),
            ]
        ),
        links=links,
        media=media,
        comment_feed=comment_feed,
        raw=_dump(entry),
    )


def _looks_like_html(raw: RawEvent) -> bool:
    return "html" in _media_type(raw.meta.get("content_type", "")) or bool(
        _HTML_START.match(raw.payload[:4096])
    )


def _html_rejection(raw: RawEvent) -> Rejected:
    """A clear reason for a web page given as a feed, naming the feed it advertises if any."""
    hint = ""
    match = re.search(
        rb"<link[^>]+type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", raw.payload, re.I
    )
    if match:
        href = re.search(rb"href=[\"']([^\"']+)[\"']", match.group(0))
        if href:
            url = _absolute(href.group(1).decode("utf-8", "replace"), raw.meta.get("url"))
            hint = f"; the page advertises a feed at {url}" if url else ""
    return Rejected("not_a_feed", f"got an HTML page, not a feed{hint}")


def _drop_nul(value: Any) -> Any:
    """NUL characters out of every string of a parsed feed, in place (feedparser's dicts map
    key aliases, so they are kept, not rebuilt): PostgreSQL text cannot hold them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        value[:] = [_drop_nul(item) for item in value]
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = _drop_nul(value[key])
    return value


def _parse_xml(raw: RawEvent) -> tuple[_Feed, list[_Entry]]:
    try:
        result = _feedparser_parse(raw)
    except Exception as exc:  # feedparser is robust, but a crash must become a reason
        raise Rejected("malformed_feed", f"feed parser failed: {exc!r}"[:300]) from None
    if b"\x00" in raw.payload or b"&#0" in raw.payload or b"&#x0" in raw.payload.lower():
        _drop_nul(result)  # a NUL byte or reference (or UTF-16, whose NULs are harmless)
    entries = result.get("entries", [])
    version = result.get("version", "")
    problem = result.get("bozo_exception")
    if not entries:
        if isinstance(problem, feedparser.CharacterEncodingUnknown):
            raise Rejected("bad_encoding", f"no character encoding decodes it: {problem}")
        if not version:
            if _looks_like_html(raw):
                raise _html_rejection(raw)
            reason = f": {problem}" if result.get("bozo") else ""
            raise Rejected("not_a_feed", f"not an RSS, Atom or JSON feed{reason}"[:300])
        if result.get("bozo") and not isinstance(problem, _SOFT_BOZO):
            raise Rejected("malformed_feed", f"ill-formed {version} with no entries: {problem}")
    feed = _fp_feed(result, raw.meta)
    base = raw.meta.get("url") or feed.link
    return feed, [_fp_entry(entry, feed, base) for entry in entries]


# --------------------------------------------------------------------------- JSON Feed


def _json_author(value: Any) -> _Author | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, Mapping)), None)
    if not isinstance(value, Mapping):
        return None
    author = _Author(name=_text_field(value.get("name")), url=_text_field(value.get("url")))
    return author if author.name or author.url else None


def _json_date(value: Any, where: str) -> datetime | None:
    """A malformed date loses only itself: the entry falls back like an undated one."""
    if value is None:
        return None
    try:
        return timestamp(value, where)
    except Rejected:
        return None


def _json_entry(item: Any, index: int, feed: _Feed, base: str | None) -> _Entry:
    where = f"items[{index}]"
    if not isinstance(item, Mapping):
        raise Rejected("bad_shape", f"{where} is {type(item).__name__}, expected an object")
    raw_id = item.get("id")
    link = _absolute(item.get("url"), base)
    content_html = _str(item.get("content_html"))
    body = html_to_text(content_html) if content_html else ""
    body = body or _tidy(_str(item.get("content_text")) or _str(item.get("summary")))
    links = [url for url in (link, _absolute(item.get("external_url"), base)) if url]
    links.extend(_anchors(content_html, link or base))
    media: list[str] = []
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, Mapping) and _absolute(attachment.get("url"), base):
            media.append(_media_kind(attachment.get("mime_type")))
            links.append(str(_absolute(attachment.get("url"), base)))
    if _absolute(item.get("image"), base):
        media.append("image")
    published = item.get("date_published")
    return _Entry(
        id=str(raw_id).strip() or None if isinstance(raw_id, str | int) else None,
        link=link,
        title=_tidy(item["title"]) if isinstance(item.get("title"), str) else "",
        body=body,
        published=_json_date(published, f"{where}.date_published"),
        updated=_json_date(item.get("date_modified"), f"{where}.date_modified"),
        date_text=str(published or item.get("date_modified") or ""),
        author=_json_author(item.get("authors") or item.get("author")),
        langs=_langs([item.get("language")]),
        links=links,
        media=media,
        raw=_dump(item),
    )


def _parse_json(raw: RawEvent) -> tuple[_Feed, list[_Entry]]:
    document = load_json(raw.payload.removeprefix(b"\xef\xbb\xbf"))
    if not isinstance(document, Mapping):
        raise Rejected("not_a_feed", "JSON document is not an object")
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise Rejected("not_a_feed", "JSON document has no JSON Feed version")
    items = document.get("items")
    if not isinstance(items, list):
        raise Rejected("missing_field", "JSON Feed has no items list")
    feed = _Feed(
        key=_feed_key(raw.meta.get("url"), document.get("feed_url"), document.get("home_page_url")),
        title=_tidy(document["title"]) if isinstance(document.get("title"), str) else None,
        link=_absolute(document.get("home_page_url"), raw.meta.get("url")),
        author=_json_author(document.get("authors") or document.get("author")),
        langs=_langs([document.get("language")]),
    )
    base = raw.meta.get("url") or feed.link
    return feed, [_json_entry(item, index, feed, base) for index, item in enumerate(items)]


def _is_json(raw: RawEvent) -> bool:
    if "json" in _media_type(raw.meta.get("content_type", "")):
        return True
    return raw.payload.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{"


# --------------------------------------------------------------------------- posts


def _native_id(entry: _Entry, feed: _Feed) -> str:
    if entry.id and _GLOBAL_ID.match(entry.id):
        return entry.id
    if entry.id:
        return f"{feed.key}#{entry.id}"
    if entry.link:
        return entry.link
    basis = f"{entry.title}\x00{entry.date_text}" if entry.title or entry.date_text else entry.body
    basis = basis or entry.raw
    return f"{feed.key}#sha256:{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def _author_ref(entry: _Entry, feed: _Feed, site: str | None) -> AuthorRef:
    """Authors are only known by name inside one feed, so their ids are scoped to it — or to
    the blog (``site``) for comment feeds, so one commenter on two posts is one author. A feed
    without author names is its own author."""
    author = entry.author or feed.author
    label = author and (author.name or author.email or author.url)
    if author is None or not label:
        host = urlsplit(feed.link or feed.key).hostname
        return AuthorRef(native_id=feed.key, handle=host, display_name=feed.title, url=feed.link)
    return AuthorRef(
        native_id=f"{site or feed.key}#author:{' '.join(label.split()).casefold()}",
        handle=author.email or author.name,
        display_name=author.name or author.email,
        url=_absolute(author.url, feed.link),
    )


def _created_at(entry: _Entry, feed: _Feed, meta: Mapping[str, str], index: int) -> datetime:
    """Entry date; else when we first received it; else the feed's own date; else refuse."""
    if entry.published or entry.updated:
        return entry.published or entry.updated  # type: ignore[return-value]
    if meta.get("received_at"):
        try:
            return parse_timestamp(meta["received_at"])
        except ValueError:
            raise Rejected(
                "bad_timestamp", f"meta received_at {meta['received_at'][:64]!r} is not ISO 8601"
            ) from None
    if feed.updated is not None:
        return feed.updated
    raise Rejected(
        "bad_timestamp",
        f"entry {index} ({entry.title[:60]!r}) has no usable date, and neither the feed "
        "nor the event's received_at gives one",
    )


def _post(entry: _Entry, feed: _Feed, meta: Mapping[str, str], index: int) -> PostItem:
    parent = meta.get("parent") or None
    text = entry.title
    if entry.body and entry.body != entry.title:
        text = f"{entry.title}\n\n{entry.body}" if entry.title else entry.body
    links = list(dict.fromkeys(url for url in [entry.link, *entry.links] if url))
    edited = bool(entry.published and entry.updated and entry.updated > entry.published)
    return PostItem(
        native_id=_native_id(entry, feed),
        author=_author_ref(entry, feed, meta.get("site") or None),
        created_at=_created_at(entry, feed, meta, index),
        text=text,
        title=entry.title or None,
        langs=entry.langs or feed.langs,
        url=entry.link,
        reply_to=parent,
        thread_root=parent,
        links=tuple(links),
        media=tuple(entry.media),  # type: ignore[arg-type]
        edited=edited,
        raw=entry.raw,
    )


def parse(raw: RawEvent) -> ParsedFeed:
    """Decode one feed document, or raise :class:`Rejected` saying why it is unusable."""
    if "error" in raw.meta:
        # The connector could not fetch a usable body and says why (see source.py).
        raise Rejected(raw.meta["error"], raw.meta.get("detail", "fetch failed"))
    if not raw.payload.removeprefix(b"\xef\xbb\xbf").strip():
        raise Rejected("empty_body", "the feed document is empty")
    feed, entries = _parse_json(raw) if _is_json(raw) else _parse_xml(raw)
    posts: list[PostItem] = []
    comment_feeds: dict[str, str] = {}
    for index, entry in enumerate(entries):
        post = _post(entry, feed, raw.meta, index)
        posts.append(post)
        if entry.comment_feed:
            comment_feeds[post.native_id] = entry.comment_feed
    return ParsedFeed(posts, comment_feeds)


@normalisers.register(FORMAT)
def normalise_feed(raw: RawEvent) -> list[Item]:
    """One feed document to its entries as posts (comment-feed entries as replies)."""
    return list(parse(raw).posts)


def comment_feed_urls(raw: RawEvent) -> dict[str, str]:
    """Native id → comment feed URL (``wfw:commentRss`` or Atom ``rel="replies"``), for the
    connector: :class:`PostItem` has no field for it."""
    return parse(raw).comment_feeds
