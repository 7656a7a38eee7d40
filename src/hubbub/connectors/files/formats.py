"""``jsonl`` and ``csv`` normalisers, and the jsonl writer used by ``hubbub posts --format jsonl``.

jsonl: one JSON object a line, ``{"v": 1, "type": "post", "network": …, "native_id": …,
"author": {…}, "created_at": ISO-8601, …}``; every PostItem field by name (docs/formats.md).
csv: a header row naming at least ``network, native_id, author, created_at, text``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson

from hubbub.core.errors import Rejected
from hubbub.core.items import AuthorRef, DeleteItem, Item, MediaKind, PostItem, RawEvent
from hubbub.sources.base import CSV_ERROR, normalisers, register_format
from hubbub.sources.decode import load_json, require, timestamp

JSONL_VERSION = 1
_LIST_FIELDS = ("langs", "mentions", "hashtags", "links", "media")
_TEXT_FIELDS = ("title", "url", "reply_to", "thread_root", "reshare_of", "quote_of")
_COUNT_FIELDS = ("likes", "reshares", "replies", "quotes")
_AUTHOR_TEXT = ("handle", "display_name", "url")
_AUTHOR_COUNTS = ("followers", "following", "posts_count")
_MEDIA = {"image", "video", "audio", "gif", "external", "other"}
CSV_REQUIRED = ("network", "native_id", "author", "created_at", "text")

register_format("jsonl", "jsonl", layout="lines")
register_format("csv", "csv", layout="csv")


def _opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected("bad_field", f"{where}.{key} is {type(value).__name__}, expected text")
    return value


def _opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        kind = type(value).__name__
        raise Rejected("bad_field", f"{where}.{key} is {kind}, expected a whole number")
    return value


def _str_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if isinstance(value, str):
        value = [part for part in value.split("|") if part]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Rejected("bad_field", f"{key} must be a list of strings")
    return tuple(value)


def _post_from_mapping(obj: Any, raw: str) -> PostItem:
    network = require(obj, "network", str)
    native_id = require(obj, "native_id", str)
    author_obj = require(obj, "author", (dict, str))
    if isinstance(author_obj, str):
        author = AuthorRef(native_id=author_obj, handle=_opt_str(obj, "author_handle", "row"))
    else:
        created = author_obj.get("created_at")
        author = AuthorRef(
            native_id=require(author_obj, "native_id", str, "author"),
            handle=_opt_str(author_obj, "handle", "author"),
            display_name=_opt_str(author_obj, "display_name", "author"),
            url=_opt_str(author_obj, "url", "author"),
            followers=_opt_int(author_obj, "followers", "author"),
            following=_opt_int(author_obj, "following", "author"),
            posts_count=_opt_int(author_obj, "posts_count", "author"),
            created_at=timestamp(created, "author.created_at") if created else None,
        )
    if not network or not native_id or not author.native_id:
        raise Rejected("missing_field", "network, native_id and author must not be empty")
    kind = obj.get("kind") or "post"
    if kind not in ("post", "reshare"):
        raise Rejected("bad_field", f"kind {kind!r} is neither post nor reshare")
    media = _str_list(obj, "media")
    if not set(media) <= _MEDIA:
        raise Rejected("bad_field", f"unknown media kinds {sorted(set(media) - _MEDIA)}")
    text = obj.get("text") or ""
    if not isinstance(text, str):
        raise Rejected("bad_field", "text is not a string")
    edited = obj.get("edited", False)
    raw_value = obj.get("raw")
    return PostItem(
        native_id=native_id,
        author=author,
        created_at=timestamp(obj.get("created_at"), "created_at"),
        text=text,
        kind="reshare" if kind == "reshare" else "post",
        title=_opt_str(obj, "title", "post"),
        langs=_str_list(obj, "langs"),
        url=_opt_str(obj, "url", "post"),
        reply_to=_opt_str(obj, "reply_to", "post"),
        thread_root=_opt_str(obj, "thread_root", "post"),
        reshare_of=_opt_str(obj, "reshare_of", "post"),
        quote_of=_opt_str(obj, "quote_of", "post"),
        mentions=_str_list(obj, "mentions"),
        hashtags=_str_list(obj, "hashtags"),
        links=_str_list(obj, "links"),
        media=cast(tuple[MediaKind, ...], media),
        likes=_opt_int(obj, "likes", "post"),
        reshares=_opt_int(obj, "reshares", "post"),
        replies=_opt_int(obj, "replies", "post"),
        quotes=_opt_int(obj, "quotes", "post"),
        edited=edited in (True, "true", "1"),
        raw=raw_value if isinstance(raw_value, str) else raw,
        network=network,
    )


@normalisers.register("jsonl")
def normalise_jsonl(event: RawEvent) -> list[Item]:
    """One line of Hubbub's export format."""
    obj = load_json(event.payload)
    version = obj.get("v") if isinstance(obj, dict) else None
    if version != JSONL_VERSION:
        raise Rejected(
            "unknown_version", f"jsonl version {version!r}; this Hubbub reads {JSONL_VERSION}"
        )
    if obj.get("type") != "post":
        raise Rejected("unknown_type", f"jsonl record type {obj.get('type')!r}")
    post = _post_from_mapping(obj, event.payload.decode())
    deleted_at = obj.get("deleted_at")
    if deleted_at is None:
        return [post]
    gone = DeleteItem(post.native_id, timestamp(deleted_at, "deleted_at"), post.network)
    return [post, gone]


@normalisers.register("csv")
def normalise_csv(event: RawEvent) -> list[Item]:
    """One CSV row, handed over as a JSON object of header → cell by the importer (or as its
    own bytes, with why the csv module could not read it)."""
    if CSV_ERROR in event.meta:
        raise Rejected("bad_csv", f"line {event.meta.get('line', '?')}: {event.meta[CSV_ERROR]}")
    row = load_json(event.payload)
    if not isinstance(row, dict):
        raise Rejected("bad_shape", "csv row is not a mapping")
    missing = [name for name in CSV_REQUIRED if not row.get(name)]
    if missing:
        raise Rejected("missing_field", f"csv row lacks {', '.join(missing)}")
    return [_post_from_mapping(row, event.payload.decode())]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_line(post: dict[str, Any], author: dict[str, Any]) -> bytes:
    """One jsonl line for a stored post (``Post.as_dict()``) and its author's row."""
    record: dict[str, Any] = {
        "v": JSONL_VERSION,
        "type": "post",
        "network": post["network"],
        "native_id": post["native_id"],
        "author": {
            "native_id": author["native_id"],
            **{k: author.get(k) for k in _AUTHOR_TEXT},
            **{k: author.get(k) for k in _AUTHOR_COUNTS},
            "created_at": _iso(author.get("account_created_at")),
        },
        "created_at": _iso(post["created_at"]),
        "kind": post["kind"],
        "text": post["text"],
        "edited": post.get("edited_at") is not None,
        **{k: post.get(k) for k in _TEXT_FIELDS},
        **{k: list(post.get(k) or []) for k in _LIST_FIELDS},
        **{k: post.get(k) for k in _COUNT_FIELDS},
        "raw": post.get("raw") or "",
    }
    if post.get("deleted"):  # the text is gone already; the import deletes it again
        record["deleted_at"] = _iso(post.get("deleted_at") or post["created_at"])
    return orjson.dumps(record)
