"""Fixed personas and small factories, instead of one-off setup in every test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from hubbub.core.items import AuthorRef, PostItem, RawEvent

BASE_TIME = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)

PERSONAS: dict[str, dict[str, Any]] = {
    "amira": {
        "native_id": "did:plc:amira0000000000000000000",
        "handle": "amira.bsky.social",
        "display_name": "Amira",
        "followers": 1200,
    },
    "bruno": {
        "native_id": "did:plc:bruno0000000000000000000",
        "handle": "bruno.bsky.social",
        "display_name": "Bruno",
        "followers": 40,
    },
    "chen": {
        "native_id": "https://mastodon.example/@chen",
        "handle": "chen@mastodon.example",
        "display_name": "Chen",
        "followers": 310,
    },
}


def example_author(name: str, **changes: Any) -> AuthorRef:
    return AuthorRef(**{**PERSONAS[name], **changes})


def example_post(
    n: int, author: str = "amira", text: str | None = None, **changes: Any
) -> PostItem:
    values: dict[str, Any] = {
        "native_id": f"at://{PERSONAS[author]['native_id']}/app.bsky.feed.post/{n:013d}",
        "author": example_author(author),
        "created_at": BASE_TIME + timedelta(minutes=n),
        "text": text if text is not None else f"Post number {n} about the Acme rocket skates",
        "langs": ("en",),
    }
    values.update(changes)
    return PostItem(**values)


def jsonl_line(n: int, network: str = "bluesky", author: str = "amira", **changes: Any) -> bytes:
    """A line of Hubbub's own export format."""
    record: dict[str, Any] = {
        "v": 1,
        "type": "post",
        "network": network,
        "native_id": f"{network}:{author}:{n}",
        "author": {
            "native_id": PERSONAS[author]["native_id"],
            "handle": PERSONAS[author]["handle"],
        },
        "created_at": (BASE_TIME + timedelta(minutes=n)).isoformat(),
        "text": f"Line {n}: Acme's new rocket skates are amazing",
        "langs": ["en"],
        "hashtags": ["acme"],
        "links": [],
        "mentions": [],
        "media": [],
    }
    record.update(changes)
    return orjson.dumps(record)


def jsonl_event(n: int, **changes: Any) -> RawEvent:
    return RawEvent(payload=jsonl_line(n, **changes), format="jsonl", cursor=str(n))
