"""The normalised items every connector produces: one model for all networks.

Connectors turn a raw payload into a list of these; the ingest service stores them.
Network-specific fields stay in ``raw`` (the item's own JSON text, as received).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

PostKind = Literal["post", "reshare"]
InteractionKind = Literal["like", "follow"]
MediaKind = Literal["image", "video", "audio", "gif", "external", "other"]


@dataclass(slots=True)
class AuthorRef:
    """An author as one payload describes them; ``native_id`` is stable across handle changes."""

    native_id: str
    handle: str | None = None
    display_name: str | None = None
    followers: int | None = None
    following: int | None = None
    posts_count: int | None = None
    created_at: datetime | None = None
    url: str | None = None


@dataclass(slots=True)
class PostItem:
    """A post, reply, quote or reshare.

    Reference fields (``reply_to``, ``thread_root``, ``reshare_of``, ``quote_of``) hold the
    native id of the other post on the same network, which may not be stored (yet).
    ``mentions`` holds mentioned authors' native ids where the network gives them.
    """

    native_id: str
    author: AuthorRef
    created_at: datetime
    text: str = ""
    kind: PostKind = "post"
    title: str | None = None
    langs: tuple[str, ...] = ()
    url: str | None = None
    reply_to: str | None = None
    thread_root: str | None = None
    reshare_of: str | None = None
    quote_of: str | None = None
    mentions: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    media: tuple[MediaKind, ...] = ()
    likes: int | None = None
    reshares: int | None = None
    replies: int | None = None
    quotes: int | None = None
    edited: bool = False
    raw: str = ""
    network: str | None = None


@dataclass(slots=True)
class InteractionItem:
    """A like or follow: engagement and graph signal without text of its own."""

    native_id: str
    kind: InteractionKind
    actor: AuthorRef
    created_at: datetime
    target_post: str | None = None
    target_author: str | None = None
    network: str | None = None


@dataclass(slots=True)
class DeleteItem:
    """The network says this post or interaction is gone: we drop its text, keep the tombstone."""

    native_id: str
    at: datetime
    network: str | None = None


@dataclass(slots=True)
class AuthorUpdate:
    """An identity or profile change (new handle, display name, counts)."""

    author: AuthorRef
    at: datetime
    active: bool | None = None
    network: str | None = None


# ``network`` on an item is only set by formats that span networks (Hubbub's own jsonl and
# csv); otherwise the ingest service takes it from the connector that registered the format.

Item = PostItem | InteractionItem | DeleteItem | AuthorUpdate


@dataclass(slots=True)
class RawEvent:
    """One payload as received, before any decoding.

    ``cursor`` is the source position *after* this event: saving it in the same transaction
    as the event's items is what makes resume exact. ``meta`` carries transport facts the
    normaliser may need (HTTP content type, the feed URL, the parent entry of a comment feed).
    """

    payload: bytes
    format: str
    cursor: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
