"""Jetstream v1 events (one JSON object each) turned into normalised items.

Identity fields (DIDs, record keys, references) are validated strictly because they become
stored keys; rich-text facets and embeds are best-effort, so a client's malformed link card
never costs us the post itself. Everything else that is wrong becomes a :class:`Rejected`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hubbub.connectors.bluesky.syntax import (
    is_at_uri,
    is_did,
    is_handle,
    is_record_key,
    parse_datetime,
)
from hubbub.core.errors import Rejected
from hubbub.core.items import (
    AuthorRef,
    AuthorUpdate,
    DeleteItem,
    InteractionItem,
    Item,
    MediaKind,
    PostItem,
    RawEvent,
)
from hubbub.settings import get_settings
from hubbub.sources.base import normalisers
from hubbub.sources.decode import load_json, require

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
LIKE = "app.bsky.feed.like"
FOLLOW = "app.bsky.graph.follow"
PROFILE = "app.bsky.actor.profile"
COLLECTIONS = (POST, REPOST, LIKE, FOLLOW, PROFILE)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Year 9999 in microseconds: later values cannot be represented as datetimes.
_MAX_TIME_US = 253_402_300_799_999_999
_MAX_LINK = 2048
_MAX_TAG = 640
_MAX_NAME = 640
_MAX_LIST = 64

_MENTION = "app.bsky.richtext.facet#mention"
_LINK = "app.bsky.richtext.facet#link"
_TAG = "app.bsky.richtext.facet#tag"
_IMAGES = "app.bsky.embed.images"
_VIDEO = "app.bsky.embed.video"
_EXTERNAL = "app.bsky.embed.external"
_RECORD = "app.bsky.embed.record"
_RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
_POST_PATH = f"/{POST}/"


def event_time(time_us: int) -> datetime:
    """The exact aware datetime of a Jetstream ``time_us`` (no float rounding)."""
    return _EPOCH + timedelta(microseconds=time_us)


def _time_us(data: dict[str, Any]) -> int:
    value = data.get("time_us")
    if value is None:
        raise Rejected("missing_field", "event has no 'time_us'")
    if type(value) is not int:
        raise Rejected("bad_field", f"event.time_us is {type(value).__name__}")
    if not 0 < value <= _MAX_TIME_US:
        raise Rejected("bad_timestamp", f"time_us {value} is out of range")
    return value


def _created_at(record: dict[str, Any], time_us: int) -> datetime:
    """``record.createdAt``; refused when malformed or dated well after Jetstream saw it."""
    value = record.get("createdAt")
    if value is None:
        raise Rejected("bad_timestamp", "record has no 'createdAt'")
    if type(value) is not str:
        raise Rejected("bad_timestamp", f"record.createdAt is {type(value).__name__}")
    parsed = parse_datetime(value)
    if parsed is None:
        raise Rejected("bad_timestamp", f"record.createdAt {value[:64]!r} is not a valid datetime")
    # Relative to the event's own time, so replaying old data gives the same answer.
    skew = get_settings().max_future_skew_seconds
    if parsed.timestamp() > time_us / 1_000_000 + skew:
        raise Rejected("future_timestamp", f"record.createdAt {value[:64]} is in the future")
    return parsed


def _field(mapping: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``require`` with a fast path for the usual case: present, with exactly that type."""
    value = mapping.get(key)
    if type(value) is kind:
        return value
    return require(mapping, key, kind, where)


def _ref_uri(container: dict[str, Any], key: str, where: str) -> str:
    """The at-uri of a strong reference ``{uri, cid}`` such as a reply parent or like subject."""
    ref: dict[str, Any] = _field(container, key, dict, where)
    uri = ref.get("uri")
    if type(uri) is not str:
        uri = str(require(ref, "uri", str, f"{where}.{key}"))
    if not is_at_uri(uri):
        raise Rejected("bad_uri", f"{where}.{key}.uri {uri[:200]!r} is not an at-uri")
    return uri


def _dedupe(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values)) if len(values) > 1 else tuple(values)


def _http_link(value: Any) -> str | None:
    if type(value) is str and len(value) <= _MAX_LINK and value.startswith(("https://", "http://")):
        return value
    return None


class _Rich:
    """Mentions, links, tags, media and quote collected from facets and embeds."""

    __slots__ = ("hashtags", "links", "media", "mentions", "quote_of")

    def __init__(self) -> None:
        self.mentions: list[str] = []
        self.links: list[str] = []
        self.hashtags: list[str] = []
        self.media: list[MediaKind] = []
        self.quote_of: str | None = None

    def facets(self, facets: Any) -> None:
        if type(facets) is not list:
            return
        for facet in facets[:_MAX_LIST]:
            features = facet.get("features") if type(facet) is dict else None
            if type(features) is not list:
                continue
            for feature in features[:_MAX_LIST]:
                if type(feature) is not dict:
                    continue
                kind = feature.get("$type")
                if kind == _MENTION:
                    did = feature.get("did")
                    if type(did) is str and is_did(did):
                        self.mentions.append(did)
                elif kind == _LINK:
                    link = _http_link(feature.get("uri"))
                    if link is not None:
                        self.links.append(link)
                elif kind == _TAG:
                    tag = feature.get("tag")
                    if type(tag) is str and len(tag) <= _MAX_TAG:
                        tag = tag.lstrip("#").strip().lower()
                        if tag:
                            self.hashtags.append(tag)

    def embed(self, embed: Any, nested: bool = False) -> None:
        if type(embed) is not dict:
            return
        kind = embed.get("$type")
        if kind == _IMAGES:
            images = embed.get("images")
            count = len(images) if type(images) is list else 0
            self.media.extend(["image"] * min(max(count, 1), 10))
        elif kind == _VIDEO:
            self.media.append("video")
        elif kind == _EXTERNAL:
            external = embed.get("external")
            if type(external) is dict:
                link = _http_link(external.get("uri"))
                if link is not None:
                    self.links.append(link)
            self.media.append("external")
        elif kind == _RECORD and not nested:
            self._quote(embed.get("record"))
        elif kind == _RECORD_WITH_MEDIA and not nested:
            inner = embed.get("record")
            if type(inner) is dict:
                self._quote(inner.get("record"))
            self.embed(embed.get("media"), nested=True)

    def _quote(self, ref: Any) -> None:
        # Only posts count as quotes; embedded lists, feeds or starter packs do not.
        uri = ref.get("uri") if type(ref) is dict else None
        if type(uri) is str and _POST_PATH in uri and is_at_uri(uri):
            self.quote_of = uri


@dataclass(slots=True)
class _Commit:
    """One create/update commit, validated up to the record."""

    did: str
    rkey: str
    uri: str
    record: dict[str, Any]
    edited: bool
    time_us: int
    raw: str


def _post(c: _Commit) -> list[Item]:
    record, did = c.record, c.did
    text = record.get("text")
    if text is None:
        raise Rejected("missing_field", "post record has no 'text'")
    if type(text) is not str:
        raise Rejected("bad_field", f"record.text is {type(text).__name__}")
    created_at = _created_at(record, c.time_us)
    langs: tuple[str, ...] = ()
    raw_langs = record.get("langs")
    if raw_langs is not None:
        if type(raw_langs) is not list:
            raise Rejected("bad_field", f"record.langs is {type(raw_langs).__name__}")
        langs = tuple(lang for lang in raw_langs[:_MAX_LIST] if type(lang) is str and lang)
    reply_to = thread_root = None
    reply = record.get("reply")
    if reply is not None:
        if type(reply) is not dict:
            raise Rejected("bad_field", f"record.reply is {type(reply).__name__}")
        reply_to = _ref_uri(reply, "parent", "record.reply")
        thread_root = _ref_uri(reply, "root", "record.reply")
    rich = _Rich()
    facets = record.get("facets")
    if facets is not None:
        rich.facets(facets)
    embed = record.get("embed")
    if embed is not None:
        rich.embed(embed)
    return [
        PostItem(
            native_id=c.uri,
            author=AuthorRef(native_id=did),
            created_at=created_at,
            text=text,
            langs=langs,
            url=f"https://bsky.app/profile/{did}/post/{c.rkey}",
            reply_to=reply_to,
            thread_root=thread_root,
            quote_of=rich.quote_of,
            mentions=_dedupe(rich.mentions),
            hashtags=_dedupe(rich.hashtags),
            links=_dedupe(rich.links),
            media=tuple(rich.media),
            edited=c.edited,
            raw=c.raw,
        )
    ]


def _repost(c: _Commit) -> list[Item]:
    subject = _ref_uri(c.record, "subject", "record")
    return [
        PostItem(
            native_id=c.uri,
            author=AuthorRef(native_id=c.did),
            created_at=_created_at(c.record, c.time_us),
            kind="reshare",
            reshare_of=subject,
            edited=c.edited,
            raw=c.raw,
        )
    ]


def _like(c: _Commit) -> list[Item]:
    subject = _ref_uri(c.record, "subject", "record")
    return [
        InteractionItem(
            native_id=c.uri,
            kind="like",
            actor=AuthorRef(native_id=c.did),
            created_at=_created_at(c.record, c.time_us),
            target_post=subject,
        )
    ]


def _follow(c: _Commit) -> list[Item]:
    subject: str = _field(c.record, "subject", str, "record")
    if not is_did(subject):
        raise Rejected("bad_did", f"record.subject {subject[:200]!r} is not a DID")
    return [
        InteractionItem(
            native_id=c.uri,
            kind="follow",
            actor=AuthorRef(native_id=c.did),
            created_at=_created_at(c.record, c.time_us),
            target_author=subject,
        )
    ]


def _profile(c: _Commit) -> list[Item]:
    name = c.record.get("displayName")
    if name is not None and type(name) is not str:
        raise Rejected("bad_field", f"record.displayName is {type(name).__name__}")
    if name is not None:
        name = name[:_MAX_NAME]
    author = AuthorRef(native_id=c.did, display_name=name)
    return [AuthorUpdate(author=author, at=event_time(c.time_us))]


_HANDLERS = {POST: _post, REPOST: _repost, LIKE: _like, FOLLOW: _follow, PROFILE: _profile}


def _commit(data: dict[str, Any], did: str, time_us: int, payload: bytes) -> list[Item]:
    commit = _field(data, "commit", dict, "event")
    operation = _field(commit, "operation", str, "commit")
    collection = _field(commit, "collection", str, "commit")
    rkey = _field(commit, "rkey", str, "commit")
    handler = _HANDLERS.get(collection)
    if handler is None:
        raise Rejected("unknown_collection", f"collection {collection[:100]!r} is not collected")
    if not is_record_key(rkey):
        raise Rejected("bad_rkey", f"commit.rkey {rkey[:100]!r} is not a record key")
    uri = f"at://{did}/{collection}/{rkey}"
    if operation == "delete":
        return [DeleteItem(native_id=uri, at=event_time(time_us))]
    if operation not in ("create", "update"):
        raise Rejected("unknown_type", f"commit operation {operation[:40]!r}")
    record = _field(commit, "record", dict, "commit")
    declared = record.get("$type")
    if declared is not None and declared != collection:
        raise Rejected(
            "type_mismatch", f"record $type {str(declared)[:100]!r} in collection {collection}"
        )
    edited = operation == "update"
    return handler(_Commit(did, rkey, uri, record, edited, time_us, payload.decode()))


def _identity(data: dict[str, Any], did: str, time_us: int) -> list[Item]:
    identity = require(data, "identity", dict, "event")
    _same_did(identity, did, "identity")
    handle = identity.get("handle")
    if handle is not None:
        if type(handle) is not str:
            raise Rejected("bad_field", f"identity.handle is {type(handle).__name__}")
        if not is_handle(handle):
            raise Rejected("bad_handle", f"identity.handle {handle[:260]!r} is not a handle")
        handle = handle.lower()
    return [AuthorUpdate(author=AuthorRef(native_id=did, handle=handle), at=event_time(time_us))]


def _account(data: dict[str, Any], did: str, time_us: int) -> list[Item]:
    account = require(data, "account", dict, "event")
    _same_did(account, did, "account")
    active: bool = require(account, "active", bool, "account")
    return [AuthorUpdate(author=AuthorRef(native_id=did), at=event_time(time_us), active=active)]


def _same_did(inner: dict[str, Any], did: str, where: str) -> None:
    inner_did = inner.get("did")
    if inner_did is not None and inner_did != did:
        raise Rejected("bad_did", f"{where}.did differs from the event's did")


@normalisers.register("jetstream")
def normalise_jetstream(event: RawEvent) -> list[Item]:
    """One Jetstream v1 event → items; bad input raises :class:`Rejected` with a reason.

    A connector that could not even produce JSON (decompression failed, frame too large)
    passes its reason in ``meta["error"]``/``meta["detail"]``, so it is dead-lettered here
    with that reason instead of a misleading ``invalid_json``.
    """
    if event.meta:
        error = event.meta.get("error")
        if error:
            raise Rejected(error, event.meta.get("detail", ""))
    data = load_json(event.payload)
    if type(data) is not dict:
        raise Rejected("bad_shape", f"event is {type(data).__name__}, expected an object")
    did = _field(data, "did", str, "event")
    if not is_did(did):
        raise Rejected("bad_did", f"event.did {did[:200]!r} is not a DID")
    time_us = _time_us(data)
    kind = _field(data, "kind", str, "event")
    if kind == "commit":
        return _commit(data, did, time_us, event.payload)
    if kind == "identity":
        return _identity(data, did, time_us)
    if kind == "account":
        return _account(data, did, time_us)
    raise Rejected("unknown_type", f"event kind {kind[:40]!r}")
