"""Hacker News payloads → normalised items.

Two shapes arrive under the one format ``hackernews``: an item of the official Firebase API
(``/v0/item/{id}.json``) and Algolia search results (a ``hits`` response or one hit). Both use
the HN item id as ``native_id``, so a story seen through search and again live is one post.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import nh3
import orjson

from hubbub.core.clock import from_unix, utcnow
from hubbub.core.errors import Rejected
from hubbub.core.items import AuthorRef, DeleteItem, Item, PostItem, RawEvent
from hubbub.sources.base import normalisers
from hubbub.sources.decode import load_json, require, timestamp

FORMAT = "hackernews"
ITEM_TYPES = ("story", "comment", "job", "poll", "pollopt")
ITEM_URL = "https://news.ycombinator.com/item?id={}"
USER_URL = "https://news.ycombinator.com/user?id={}"
META_FETCHED_AT = "fetched_at"
# The source's knowledge of a comment's story, which the Firebase item does not carry.
META_THREAD_ROOT = "thread_root"
# Key of the envelope the source yields for an item it could not get (see ``unfetched``).
UNFETCHED = "hubbub_unfetched"

_BREAK = re.compile(r"<\s*(?:p|br)\b[^>]*>|<\s*/\s*p\s*>", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")


class _LinkCollector(HTMLParser):
    """Collects ``<a href>`` targets; the parser unescapes entities such as ``&#x2F;``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        for name, value in attrs:
            if name == "href" and value and _is_web_url(value):
                self.links.append(value.strip())


def _is_web_url(value: str) -> bool:
    return value.strip().lower().startswith(("http://", "https://"))


def clean_text(markup: str) -> str:
    """HN's HTML as plain text: tags stripped by nh3, entities unescaped, paragraphs as newlines.

    The result is text to analyse and show escaped, never HTML to render.
    """
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    spaced = _BREAK.sub("\n\n", markup)
    stripped = nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style"})
    text = html.unescape(stripped)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def text_links(markup: str) -> list[str]:
    """The http(s) targets of links inside HN's HTML, in order."""
    if "<a" not in markup and "<A" not in markup:
        return []
    collector = _LinkCollector()
    collector.feed(markup)
    collector.close()
    return collector.links


def unfetched(item_id: int, url: str, code: str, detail: str, body: bytes | None = None) -> bytes:
    """The payload standing in for an item that could not be fetched, so it is dead-lettered.

    It names the item, so two failures never share bytes (dead letters are unique by payload
    hash, and a bare ``null`` would keep only the first missing item), and it keeps what the
    server sent, if anything.
    """
    envelope: dict[str, Any] = {"item": item_id, "url": url, "code": code, "detail": detail}
    if body is not None:
        envelope["body"] = body[:65_536].decode("utf-8", "backslashreplace")
    return orjson.dumps({UNFETCHED: envelope})


def _optional(mapping: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``mapping[key]`` when present and not null, checked for type (bools are not ints)."""
    value = mapping.get(key)
    if value is None:
        return None
    if kind is int and isinstance(value, bool):
        raise Rejected("bad_field", f"{where}.{key} is bool, expected int")
    if not isinstance(value, kind):
        raise Rejected("bad_field", f"{where}.{key} is {type(value).__name__}")
    return value


def _count(mapping: dict[str, Any], key: str, where: str) -> int | None:
    value = _optional(mapping, key, int, where)
    if value is not None and value < 0:
        raise Rejected("bad_field", f"{where}.{key} is negative")
    return value  # type: ignore[no-any-return]


def _item_id(value: Any, where: str, text_ok: bool = False) -> str:
    """An HN id (int; Algolia's objectID is a digit string) as the canonical decimal string."""
    if type(value) is int and value > 0:
        return str(value)
    if text_ok and isinstance(value, str) and value.isascii() and value.isdigit() and int(value):
        return str(int(value))
    raise Rejected("bad_field", f"{where} {str(value)[:40]!r} is not a positive item id")


def _unix_time(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected("bad_timestamp", f"{where} is {type(value).__name__}, expected Unix seconds")
    try:
        when = from_unix(value)
    except (OverflowError, OSError, ValueError):
        raise Rejected("bad_timestamp", f"{where} {value!r} is out of range") from None
    if value < 0:
        raise Rejected("bad_timestamp", f"{where} {value!r} is before 1970")
    return when


def _links(url: str | None, markup: str | None) -> tuple[str, ...]:
    found: list[str] = []
    if url and _is_web_url(url):
        found.append(url.strip())
    if markup:
        found.extend(text_links(markup))
    return tuple(dict.fromkeys(found))


def _author(name: Any, where: str) -> AuthorRef:
    if not isinstance(name, str) or not name.strip():
        raise Rejected("bad_field", f"{where} is not a username")
    return AuthorRef(native_id=name, handle=name, url=USER_URL.format(name))


def _deleted_at(event: RawEvent, item: dict[str, Any]) -> datetime:
    """When we learnt of the deletion: the fetch time if the source recorded it, else item time."""
    fetched = event.meta.get(META_FETCHED_AT)
    if fetched:
        return timestamp(fetched, META_FETCHED_AT)
    if item.get("time") is not None:
        return _unix_time(item["time"], "item.time")
    return utcnow()


def firebase_item(event: RawEvent, item: dict[str, Any], raw: str) -> list[Item]:
    """One item of the official API; a deleted item becomes a tombstone.

    A dead item (flagged, or killed by the spam filter) is refused, not tombstoned: tombstones
    are permanent in the store, and a dead item can be vouched back to life, after which
    ``updates.json`` brings it again.
    """
    native_id = _item_id(item.get("id"), "item.id")
    if item.get("deleted") is True:
        return [DeleteItem(native_id=native_id, at=_deleted_at(event, item))]
    if item.get("dead") is True:
        raise Rejected("dead", f"item {native_id} is dead (flagged or killed, hidden on HN)")
    kind = require(item, "type", str, "item")
    if kind not in ITEM_TYPES:
        raise Rejected("unknown_type", f"item type {kind[:40]!r} is not one of {ITEM_TYPES}")
    where = f"{kind} {native_id}"
    author = _author(require(item, "by", str, where), f"{where}.by")
    created_at = _unix_time(require(item, "time", (int, float), where), f"{where}.time")
    markup = _optional(item, "text", str, where) or ""
    url = _optional(item, "url", str, where) or None
    title = _optional(item, "title", str, where)
    kids = _optional(item, "kids", list, where)
    if kids is not None and not all(type(kid) is int for kid in kids):
        raise Rejected("bad_field", f"{where}.kids holds a non-integer id")
    reply_to = thread_root = None
    if kind in ("comment", "pollopt"):
        reply_to = _item_id(require(item, "parent", int, where), f"{where}.parent")
        # A poll option's parent is always its poll; a comment's root is not in the payload,
        # but the live source looks it up and passes it along.
        known = event.meta.get(META_THREAD_ROOT, "")
        thread_root = reply_to if kind == "pollopt" else (known if known.isdigit() else None)
    return [
        PostItem(
            native_id=native_id,
            author=author,
            created_at=created_at,
            text=clean_text(markup),
            title=title.strip() if title else None,
            url=ITEM_URL.format(native_id),
            reply_to=reply_to,
            thread_root=thread_root,
            links=_links(url, markup),
            likes=_count(item, "score", where),
            replies=_count(item, "descendants", where),
            raw=raw,
        )
    ]


def _hit_type(tags: list[Any], where: str) -> str:
    for tag in tags:
        if tag in ITEM_TYPES:
            return str(tag)
    raise Rejected("unknown_type", f"{where}._tags names no item type of {ITEM_TYPES}")


def algolia_hit(hit: Any, where: str = "hit") -> PostItem:
    """One Algolia search hit; ``story_id`` gives comments their thread root."""
    if not isinstance(hit, dict):
        raise Rejected("bad_shape", f"{where} is {type(hit).__name__}, expected an object")
    native_id = _item_id(require(hit, "objectID", str, where), f"{where}.objectID", True)
    where = f"{where} {native_id}"
    tags = require(hit, "_tags", list, where)
    kind = _hit_type(tags, where)
    author = _author(require(hit, "author", str, where), f"{where}.author")
    if hit.get("created_at_i") is not None:
        created_at = _unix_time(hit["created_at_i"], f"{where}.created_at_i")
    else:
        # Far-future dates are refused by the ingest service, against the configured skew.
        created_at = timestamp(require(hit, "created_at", str, where), f"{where}.created_at")
    text_field = "comment_text" if kind == "comment" else "story_text"
    markup = _optional(hit, text_field, str, where) or ""
    url = _optional(hit, "url", str, where) or None
    title = _optional(hit, "title", str, where)
    reply_to = thread_root = None
    parent = hit.get("parent_id")
    if kind in ("comment", "pollopt"):
        if parent is None:
            raise Rejected("missing_field", f"{where} has no 'parent_id'")
        reply_to = _item_id(parent, f"{where}.parent_id")
    story = hit.get("story_id")
    if story is not None:
        story_id = _item_id(story, f"{where}.story_id")
        thread_root = story_id if story_id != native_id else None
    return PostItem(
        native_id=native_id,
        author=author,
        created_at=created_at,
        text=clean_text(markup),
        title=title.strip() if title else None,
        url=ITEM_URL.format(native_id),
        reply_to=reply_to,
        thread_root=thread_root,
        links=_links(url, markup),
        likes=_count(hit, "points", where),
        replies=_count(hit, "num_comments", where),
        raw=orjson.dumps(hit).decode(),
    )


@normalisers.register(FORMAT)
def normalise(event: RawEvent) -> list[Item]:
    """A Firebase item, an Algolia hit, or an Algolia ``hits`` response → items."""
    data = load_json(event.payload)
    if data is None:
        item = event.meta.get("item_id", "?")
        raise Rejected("not_found", f"item {item} is null (missing, or not yet visible)")
    if not isinstance(data, dict):
        raise Rejected("bad_shape", f"payload is {type(data).__name__}, expected an object")
    failure = data.get(UNFETCHED)
    if isinstance(failure, dict):
        code, detail = failure.get("code"), failure.get("detail")
        raise Rejected(
            code[:40] if isinstance(code, str) and code else "fetch_failed",
            f"item {failure.get('item')}: {str(detail)[:2000]}",
        )
    if "hits" in data:
        hits = data["hits"]
        if not isinstance(hits, list):
            raise Rejected("bad_field", f"hits is {type(hits).__name__}, expected a list")
        return [algolia_hit(hit, f"hits[{index}]") for index, hit in enumerate(hits)]
    if "objectID" in data:
        return [algolia_hit(data)]
    if "id" in data:
        raw = event.payload.decode("utf-8") if isinstance(event.payload, bytes) else event.payload
        return firebase_item(event, data, raw)
    raise Rejected("unknown_type", "payload is neither an HN item nor an Algolia hit/response")
