"""Mastodon API documents → normalised items.

One normaliser takes every JSON shape the Mastodon API returns for statuses and notifications
(single entities, arrays, contexts, search results, grouped notifications, streaming events),
so ``hubbub import --format mastodon`` and the live source share it. The mapping decisions are
explained in ``docs/connectors/mastodon.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import nh3
import orjson

from hubbub.core.clock import parse_timestamp, utcnow
from hubbub.core.errors import PartlyRejected, Rejected
from hubbub.core.items import (
    AuthorRef,
    DeleteItem,
    InteractionItem,
    Item,
    MediaKind,
    PostItem,
    RawEvent,
)
from hubbub.settings import get_settings
from hubbub.sources.base import normalisers
from hubbub.sources.decode import load_json, require, timestamp

FORMAT = "mastodon"

#: Notification types whose ``status`` is the post itself (someone wrote to or about us).
STATUS_NOTIFICATIONS = frozenset({"mention", "status", "update", "quote"})
#: Notification types the normaliser understands at all; others are rejected as unknown.
KNOWN_NOTIFICATIONS = STATUS_NOTIFICATIONS | {"favourite", "reblog", "follow"}
STREAM_EVENTS = frozenset({"update", "status.update", "delete", "notification"})

_MEDIA: dict[str, MediaKind] = {
    "image": "image",
    "gifv": "gif",
    "video": "video",
    "audio": "audio",
}

_BLOCK_TAGS = frozenset(
    {"p", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_ALLOWED_TAGS = _BLOCK_TAGS | {"br", "a", "span", "code", "b", "strong", "i", "em", "u", "del", "s"}
_SPACE = re.compile(r"[ \t\r\n\f]+")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+[^\s=/>]+(?:=\"[^\"]*\")?)*)\s*/?>")
_ATTR = re.compile(r'([^\s=/>]+)="([^"]*)"')
_BLANK_LINES = re.compile(r"\n{3,}")
_CLEANER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    attributes={"a": {"href", "class"}, "span": {"class"}},
    url_schemes={"http", "https"},
    link_rel=None,
    strip_comments=True,
)


# --------------------------------------------------------------------------- references


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, or None when it has no host."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


def local_ref(server: str, local_id: str) -> str:
    """The stable name of a status known only by its server-local id: its API URL there."""
    return f"{server}/api/v1/statuses/{local_id}"


def reshare_id(status_uri: str, actor_url: str) -> str:
    """A reshare's id: one account can reblog a status once, so the pair names the reblog."""
    return f"{status_uri}#reblogged-by:{actor_url}"


def like_id(status_uri: str, actor_url: str) -> str:
    """A favourite's id, from the (status, account) pair Mastodon keeps unique."""
    return f"{status_uri}#favourited-by:{actor_url}"


def follow_id(actor_url: str, target: str) -> str:
    """A follow's id, from the (follower, followed) pair."""
    return f"{actor_url}#follows:{target}"


def status_native_id(status: Any) -> str | None:
    """The native id this module gives a status document (reshares get the derived id)."""
    if not isinstance(status, dict) or not isinstance(status.get("uri"), str):
        return None
    inner = status.get("reblog")
    account = status.get("account")
    if isinstance(inner, dict) and isinstance(inner.get("uri"), str) and isinstance(account, dict):
        actor = account.get("url") or account.get("uri")
        if isinstance(actor, str):
            return reshare_id(inner["uri"], actor)
    uri: str = status["uri"]
    return uri


@dataclass
class _Doc:
    """What the whole document (and its transport) tells about references inside it."""

    server: str | None
    id_map: dict[str, str] = field(default_factory=dict)
    account_url: str | None = None
    received_at: datetime | None = None
    thread_root: str | None = None

    def learn(self, statuses: list[Any]) -> None:
        """Remember local id → native id for every status the document carries."""
        for status in statuses:
            native = status_native_id(status)
            if native is not None and isinstance(status.get("id"), str):
                self.id_map.setdefault(status["id"], native)
            for nested in (status.get("reblog"), _quoted_status(status)):
                nested_id = status_native_id(nested)
                if isinstance(nested, dict) and nested_id and isinstance(nested.get("id"), str):
                    self.id_map.setdefault(nested["id"], nested_id)

    def resolve(self, local_id: str, status: dict[str, Any] | None = None) -> str | None:
        """A stable reference for a server-local status id (see docs for the order tried)."""
        if local_id in self.id_map:
            return self.id_map[local_id]
        if status is not None:
            derived = _derive_local_uri(local_id, status, self.server)
            if derived is not None:
                return derived
        server = self.server or (_local_server(status) if status is not None else None)
        return local_ref(server, local_id) if server else None


def _local_server(status: dict[str, Any]) -> str | None:
    """The server a document came from, when its author is local there (acct has no domain)."""
    account = status.get("account")
    if (
        isinstance(account, dict)
        and isinstance(account.get("acct"), str)
        and "@" not in account["acct"]
        and isinstance(status.get("uri"), str)
    ):
        return origin(status["uri"])
    return None


def _derive_local_uri(local_id: str, status: dict[str, Any], server: str | None) -> str | None:
    """Mastodon names local statuses ``/users/NAME/statuses/ID``; rebuild the parent's from it.

    Only when the parent's author is local to the same server: the status's own author (a
    thread) when the status's uri carries its local id, or a mentioned local account.
    """
    parent_account = status.get("in_reply_to_account_id")
    account = status.get("account")
    uri = status.get("uri")
    own_id = status.get("id")
    if isinstance(account, dict) and isinstance(uri, str) and isinstance(own_id, str):
        suffix = f"/statuses/{own_id}"
        if account.get("id") == parent_account and uri.endswith(suffix):
            return uri[: -len(own_id)] + local_id
    mentions = status.get("mentions")
    if server and isinstance(mentions, list):
        for mention in mentions:
            if (
                isinstance(mention, dict)
                and mention.get("id") == parent_account
                and isinstance(mention.get("acct"), str)
                and "@" not in mention["acct"]
                and isinstance(mention.get("username"), str)
            ):
                return f"{server}/users/{mention['username']}/statuses/{local_id}"
    return None


# --------------------------------------------------------------------------- HTML


class _TextExtractor:
    """Walks sanitised HTML collecting plain text and anchors; nothing is ever rendered.

    It reads nh3's output only, which html5ever has re-serialised (every attribute quoted,
    every ``<`` and ``&`` in text escaped), so a tokenizer this small is exact for it.
    """

    def __init__(self, drop_quote_inline: bool) -> None:
        self.drop_quote_inline = drop_quote_inline
        self.parts: list[str] = []
        self.anchors: list[tuple[str, str, str]] = []  # (href, class, text)
        self._anchor: tuple[str, str] | None = None
        self._anchor_text: list[str] = []
        self._skip_depth = 0
        self._span_stack: list[bool] = []
        self._has_text = False
        self._trailing = 0  # newlines at the end of the output so far

    def _newline(self, count: int) -> None:
        """End a block: make sure ``count`` newlines separate it from what follows."""
        if self._has_text and self._trailing < count:
            self.parts.append("\n" * (count - self._trailing))
            self._trailing = count

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str]]) -> None:
        values = dict(attrs)
        if tag == "span":
            skipping = self.drop_quote_inline and "quote-inline" in values.get("class", "").split()
            self._span_stack.append(skipping)
            if skipping:
                self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag == "br":
            self.parts.append("\n")
            self._trailing += 1
        elif tag in ("p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._newline(2)
        elif tag == "li":
            self._newline(1)
        elif tag == "a":
            self._anchor = (values.get("href", ""), values.get("class", ""))
            self._anchor_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            if self._span_stack and self._span_stack.pop():
                self._skip_depth -= 1
            return
        if self._skip_depth:
            return
        if tag in _BLOCK_TAGS:
            self._newline(2 if tag != "li" else 1)
        elif tag == "a" and self._anchor is not None:
            href, css = self._anchor
            self.anchors.append((href, css, "".join(self._anchor_text).strip()))
            self._anchor = None

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        text = _SPACE.sub(" ", data)
        if self._trailing:
            text = text.lstrip(" ")
        if text:
            self.parts.append(text)
            if text.strip():
                self._has_text = True
                self._trailing = 0
        if self._anchor is not None:
            self._anchor_text.append(text)


def html_to_text(
    html: str, drop_quote_inline: bool = False
) -> tuple[str, list[tuple[str, str, str]]]:
    """Plain text and anchors (href, class, text) of status HTML, sanitised by nh3 first.

    nh3 removes scripts, styles, event handlers and non-http(s) link targets before anything
    reads the markup, so hostile content can only ever reach us as inert text.
    """
    clean = _CLEANER.clean(html)
    parser = _TextExtractor(drop_quote_inline)
    position = 0
    for match in _TAG.finditer(clean):
        if match.start() > position:
            parser.handle_data(unescape(clean[position : match.start()]))
        position = match.end()
        name = match.group(2).lower()
        if match.group(1):
            parser.handle_endtag(name)
        else:
            attrs = [(str(k).lower(), unescape(v)) for k, v in _ATTR.findall(match.group(3))]
            parser.handle_starttag(name, attrs)
    if position < len(clean):
        parser.handle_data(unescape(clean[position:]))
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return text, parser.anchors


# --------------------------------------------------------------------------- entities


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any, where: str) -> list[Any]:
    """An optional array field: absent or null is empty, anything else but an array is refused."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected("bad_field", f"{where} is {type(value).__name__}, expected an array")
    return value


def _lenient_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def author_ref(account: Any, doc: _Doc, where: str = "account") -> AuthorRef:
    """An account as an AuthorRef keyed by its profile URL (what mention objects carry too)."""
    if not isinstance(account, dict):
        raise Rejected("bad_shape", f"{where} is {type(account).__name__}, expected an object")
    url = _str(account.get("url")) or _str(account.get("uri"))
    if url is None:
        raise Rejected("missing_field", f"{where} has no 'url'")
    acct = _str(account.get("acct")) or _str(account.get("username"))
    handle = None
    if acct is not None:
        if "@" in acct:
            handle = acct
        else:
            host = urlsplit(doc.server).hostname if doc.server else urlsplit(url).hostname
            handle = f"{acct}@{host}" if host else acct
    return AuthorRef(
        native_id=url,
        handle=handle,
        display_name=_str(account.get("display_name")),
        followers=_int(account.get("followers_count")),
        following=_int(account.get("following_count")),
        posts_count=_int(account.get("statuses_count")),
        created_at=_lenient_time(account.get("created_at")),
        url=url,
    )


def _quoted_status(status: dict[str, Any]) -> dict[str, Any] | None:
    """The full quoted status of a Mastodon 4.4 Quote, or of the older quote-as-status form."""
    quote = status.get("quote")
    if not isinstance(quote, dict):
        return None
    inner = quote.get("quoted_status")
    if isinstance(inner, dict):
        return inner
    if "uri" in quote and "account" in quote:
        return quote
    return None


def _raw(status: dict[str, Any]) -> str:
    """The status's own JSON, with nested statuses cut down to their ids (they are items too)."""
    trimmed = dict(status)
    inner = trimmed.get("reblog")
    if isinstance(inner, dict):
        trimmed["reblog"] = {"id": inner.get("id"), "uri": inner.get("uri")}
    quote = trimmed.get("quote")
    quoted = _quoted_status(status)
    if isinstance(quote, dict) and quoted is not None:
        if quoted is quote:
            trimmed["quote"] = {"id": quote.get("id"), "uri": quote.get("uri")}
        else:
            trimmed["quote"] = {
                **quote,
                "quoted_status": {"id": quoted.get("id"), "uri": quoted.get("uri")},
            }
    return orjson.dumps(trimmed).decode()


def status_items(status: Any, doc: _Doc, where: str = "status", nested: bool = False) -> list[Item]:
    """A status as items: the post, plus the reblogged or quoted status it carries.

    ``nested`` statuses (a quoted one) are not part of the document's thread.
    """
    if not isinstance(status, dict):
        raise Rejected("bad_shape", f"{where} is {type(status).__name__}, expected an object")
    require(status, "id", str, where)
    uri = require(status, "uri", str, where)
    created_at = timestamp(status.get("created_at"), f"{where}.created_at")
    if doc.received_at is not None:
        skew = timedelta(seconds=get_settings().max_future_skew_seconds)
        if created_at > doc.received_at + skew:
            raise Rejected(
                "future_timestamp", f"{where}.created_at {created_at.isoformat()} is in the future"
            )
    author = author_ref(require(status, "account", dict, where), doc, f"{where}.account")

    inner = status.get("reblog")
    if inner is not None:
        inner_items = status_items(inner, doc, f"{where}.reblog", nested=True)
        inner_uri = inner["uri"]
        reshare = PostItem(
            native_id=reshare_id(inner_uri, author.native_id),
            author=author,
            created_at=created_at,
            kind="reshare",
            url=_str(status.get("url")),
            reshare_of=inner_uri,
            raw=_raw(status),
        )
        return [reshare, *inner_items]

    items: list[Item] = []
    quote_of: str | None = None
    quoted = _quoted_status(status)
    if quoted is not None:
        items.extend(status_items(quoted, doc, f"{where}.quote", nested=True))
        quote_of = quoted["uri"]
    elif isinstance(status.get("quote"), dict):
        quoted_id = status["quote"].get("quoted_status_id")
        if isinstance(quoted_id, str):
            quote_of = doc.resolve(quoted_id)

    content = status.get("content")
    if content is not None and not isinstance(content, str):
        raise Rejected("bad_field", f"{where}.content is {type(content).__name__}")
    text, anchors = html_to_text(content or "", drop_quote_inline=quote_of is not None)
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}".strip()

    mention_urls: list[str] = []
    for mention in _list(status.get("mentions"), f"{where}.mentions"):
        if isinstance(mention, dict) and isinstance(mention.get("url"), str):
            mention_urls.append(mention["url"])
    hashtags: list[str] = []
    for tag in _list(status.get("tags"), f"{where}.tags"):
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            name = tag["name"].lower()
            if name not in hashtags:
                hashtags.append(name)
    links: list[str] = []
    mention_set = set(mention_urls)
    for href, css, anchor_text in anchors:
        classes = css.split()
        if not href or "mention" in classes or "hashtag" in classes or href in mention_set:
            continue
        if anchor_text.startswith(("#", "@")):
            continue
        if href not in links:
            links.append(href)
    card = status.get("card")
    if isinstance(card, dict):
        card_url = _str(card.get("url"))
        if card_url and urlsplit(card_url).scheme in ("http", "https") and card_url not in links:
            links.append(card_url)
    media: list[MediaKind] = []
    for attachment in _list(status.get("media_attachments"), f"{where}.media_attachments"):
        if isinstance(attachment, dict):
            media.append(_MEDIA.get(str(attachment.get("type")), "other"))

    reply_to = None
    parent_id = status.get("in_reply_to_id")
    if isinstance(parent_id, str) and parent_id:
        reply_to = doc.resolve(parent_id, status)
    language = _str(status.get("language"))
    post = PostItem(
        native_id=uri,
        author=author,
        created_at=created_at,
        text=text,
        langs=(language,) if language else (),
        url=_str(status.get("url")),
        reply_to=reply_to,
        thread_root=doc.thread_root if reply_to is not None and not nested else None,
        quote_of=quote_of,
        mentions=tuple(mention_urls),
        hashtags=tuple(hashtags),
        links=tuple(links),
        media=tuple(media),
        likes=_int(status.get("favourites_count")),
        reshares=_int(status.get("reblogs_count")),
        replies=_int(status.get("replies_count")),
        quotes=_int(status.get("quotes_count")),
        edited=bool(status.get("edited_at")),
        raw=_raw(status),
    )
    return [post, *items]


def _ref(status: Any) -> Any:
    """A nested status cut down to its ids, for the raw JSON of the item that points at it."""
    if isinstance(status, dict):
        return {"id": status.get("id"), "uri": status.get("uri")}
    return status


def _require_status(status: Any, kind: str, where: str) -> dict[str, Any]:
    if status is None:
        raise Rejected(
            "missing_status",
            f"{where} ({kind}) has no status: it was deleted or is not visible to this account",
        )
    if not isinstance(status, dict):
        raise Rejected("bad_shape", f"{where}.status is {type(status).__name__}")
    return status


def _interactions(
    kind: str,
    actors: list[AuthorRef],
    status: dict[str, Any] | None,
    *,
    at: datetime,
    doc: _Doc,
    where: str,
    raw: dict[str, Any],
) -> list[Item]:
    """Likes, reshares and follows from one notification (or notification group)."""
    items: list[Item] = []
    if kind == "follow":
        followed = doc.account_url
        for actor in actors:
            native = follow_id(actor.native_id, followed or f"{doc.server or 'unknown'}/me")
            items.append(InteractionItem(native, "follow", actor, at, target_author=followed))
        return items
    status = _require_status(status, kind, where)
    target_items = status_items(status, doc, f"{where}.status")
    target = next(item for item in target_items if isinstance(item, PostItem))
    for actor in actors:
        if kind == "favourite":
            items.append(
                InteractionItem(
                    like_id(target.native_id, actor.native_id),
                    "like",
                    actor,
                    at,
                    target_post=target.native_id,
                    target_author=target.author.native_id,
                )
            )
        else:
            items.append(
                PostItem(
                    native_id=reshare_id(target.native_id, actor.native_id),
                    author=actor,
                    created_at=at,
                    kind="reshare",
                    reshare_of=target.native_id,
                    raw=orjson.dumps(raw).decode(),
                )
            )
    return [*items, *target_items]


def notification_items(notification: Any, doc: _Doc, where: str = "notification") -> list[Item]:
    """A v1 Notification: the status for mentions, an interaction for likes/reblogs/follows."""
    if not isinstance(notification, dict):
        raise Rejected("bad_shape", f"{where} is {type(notification).__name__}, expected an object")
    require(notification, "id", str, where)
    kind = require(notification, "type", str, where)
    if kind not in KNOWN_NOTIFICATIONS:
        raise Rejected("unknown_type", f"{where} type {kind[:64]!r} carries no post or interaction")
    at = timestamp(notification.get("created_at"), f"{where}.created_at")
    status = notification.get("status")
    if kind in STATUS_NOTIFICATIONS:
        return status_items(_require_status(status, kind, where), doc, f"{where}.status")
    actor = author_ref(require(notification, "account", dict, where), doc, f"{where}.account")
    return _interactions(
        kind,
        [actor],
        status,
        at=at,
        doc=doc,
        where=where,
        raw={**notification, "status": _ref(status)},
    )


def _grouped_items(document: dict[str, Any], doc: _Doc) -> list[Item]:
    """Grouped notifications (v2): each group's sample accounts stand for its interactions."""
    groups = require(document, "notification_groups", list, "grouped notifications")
    statuses = {
        s["id"]: s
        for s in _list(document.get("statuses"), "statuses")
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    }
    accounts = {
        a["id"]: a
        for key in ("accounts", "partial_accounts")
        for a in _list(document.get(key), key)
        if isinstance(a, dict) and isinstance(a.get("id"), str)
    }
    doc.learn(list(statuses.values()))

    def one(index: int, group: Any) -> list[Item]:
        where = f"notification_groups[{index}]"
        kind = require(group, "type", str, where)
        if kind not in KNOWN_NOTIFICATIONS:
            raise Rejected("unknown_type", f"{where} type {kind[:64]!r} carries no post")
        status_id = group.get("status_id")
        status = statuses.get(status_id) if isinstance(status_id, str) else None
        if isinstance(status_id, str) and status is None:
            raise Rejected(
                "missing_status", f"{where} names status {status_id} not in the document"
            )
        if kind in STATUS_NOTIFICATIONS:
            return status_items(_require_status(status, kind, where), doc, f"{where}.status")
        at = timestamp(
            group.get("latest_page_notification_at"), f"{where}.latest_page_notification_at"
        )
        actors = []
        for account_id in _list(group.get("sample_account_ids"), f"{where}.sample_account_ids"):
            if not isinstance(account_id, str) or account_id not in accounts:
                raise Rejected(
                    "missing_field",
                    f"{where} names account {str(account_id)[:40]} not in the document",
                )
            actors.append(author_ref(accounts[account_id], doc, f"{where}.account"))
        return _interactions(kind, actors, status, at=at, doc=doc, where=where, raw=dict(group))

    def alone(group: Any) -> dict[str, Any]:
        """One group with the statuses and accounts of the document it names."""
        names = group if isinstance(group, dict) else {}
        ids = names.get("sample_account_ids")
        ids = ids if isinstance(ids, list) else []
        status_id = names.get("status_id")
        return {
            "notification_groups": [group],
            "statuses": [statuses[status_id]]
            if isinstance(status_id, str) and status_id in statuses
            else [],
            "accounts": [accounts[i] for i in ids if isinstance(i, str) and i in accounts],
        }

    return _each(groups, one, "notification_groups", alone)


def _stream_items(document: dict[str, Any], doc: _Doc) -> list[Item]:
    """One streaming API event: ``payload`` is the entity as a JSON string (or a bare id)."""
    event = document["event"]
    if event not in STREAM_EVENTS:
        raise Rejected("unknown_type", f"streaming event {str(event)[:64]!r} carries no post")
    payload = document.get("payload")
    if event == "delete":
        if isinstance(payload, int) and not isinstance(payload, bool):
            payload = str(payload)
        if not isinstance(payload, str) or not payload.strip():
            raise Rejected("missing_field", "delete event has no status id payload")
        local_id = payload.strip()
        native = doc.resolve(local_id)
        if native is None:
            raise Rejected(
                "missing_field", f"delete of local id {local_id[:32]} needs meta 'server' to map"
            )
        return [DeleteItem(native_id=native, at=doc.received_at or utcnow())]
    if isinstance(payload, str):
        entity = load_json(payload)
    elif isinstance(payload, dict):
        entity = payload
    else:
        raise Rejected("missing_field", f"{event} event has no JSON payload")
    if event == "notification":
        return notification_items(entity, doc)
    return status_items(entity, doc)


def _each(values: list[Any], one: Any, where: str, part: Any = None) -> list[Item]:
    """Items of every element; all-bad arrays are rejected, and when only some elements are
    bad, each becomes a dead letter of its own (``part(value)``: what it needs to be read
    alone; the element itself by default) while the others are stored."""
    items: list[Item] = []
    failures: list[tuple[int, Rejected]] = []
    for index, value in enumerate(values):
        try:
            items.extend(one(index, value))
        except Rejected as exc:
            failures.append((index, exc))
    if failures and len(failures) == len(values):
        index, first = failures[0]
        raise Rejected(first.code, f"all {len(values)} {where} rejected; [{index}]: {first.detail}")
    if failures:
        raise PartlyRejected(
            items,
            [
                (
                    Rejected(failure.code, _located(failure.detail, f"{where}[{index}]")),
                    orjson.dumps(part(values[index]) if part else values[index]),
                )
                for index, failure in failures
            ],
        )
    return items


def _located(detail: str, where: str) -> str:
    """The detail, saying which part of the document it is about (once)."""
    return detail if detail.startswith(where) else f"{where}: {detail}"


def _looks_like_status(value: dict[str, Any]) -> bool:
    """A Status has an account and a uri (or at least an id and content, to reject it by name).

    Admin accounts (``account`` + ``id``) and StatusEdits (``account`` + ``content``, no id)
    are not statuses.
    """
    return "account" in value and ("uri" in value or ("id" in value and "content" in value))


def _element(doc: _Doc) -> Any:
    def one(index: int, value: Any) -> list[Item]:
        where = f"[{index}]"
        if (
            isinstance(value, dict)
            and "type" in value
            and "account" in value
            and "uri" not in value
        ):
            return notification_items(value, doc, where)
        if isinstance(value, dict) and _looks_like_status(value):
            return status_items(value, doc, where)
        raise Rejected("unknown_type", f"{where} is not a status or notification")

    return one


def document_items(document: Any, doc: _Doc) -> list[Item]:
    """Dispatch on the document's shape (see the module docstring for the shapes)."""
    if isinstance(document, list):
        doc.learn([s for s in document if isinstance(s, dict)])
        if not document:
            return []
        return _each(document, _element(doc), "elements")
    if not isinstance(document, dict):
        raise Rejected("bad_shape", f"document is {type(document).__name__}, expected an object")
    if isinstance(document.get("event"), str):
        return _stream_items(document, doc)
    if isinstance(document.get("error"), str):
        raise Rejected("api_error", f"the server answered with an error: {document['error'][:200]}")
    if "ancestors" in document or "descendants" in document:
        return _context_items(document, doc)
    if "notification_groups" in document:
        return _grouped_items(document, doc)
    if "type" in document and "account" in document and "uri" not in document:
        return notification_items(document, doc)
    if _looks_like_status(document):
        return status_items(document, doc)
    if isinstance(document.get("statuses"), list) and (
        "accounts" in document or "hashtags" in document
    ):
        statuses = document["statuses"]
        doc.learn([s for s in statuses if isinstance(s, dict)])
        return _each(statuses, lambda i, s: status_items(s, doc, f"statuses[{i}]"), "statuses")
    keys = ", ".join(sorted(str(k) for k in document)[:8]) or "none"
    raise Rejected(
        "unknown_type",
        f"not a Mastodon status, notification, context, search or streaming event (keys: {keys})",
    )


def _context_items(document: dict[str, Any], doc: _Doc) -> list[Item]:
    """A Context: parents are resolved inside it, and its root becomes every reply's thread root."""
    ancestors = document.get("ancestors")
    descendants = document.get("descendants")
    ancestors = [] if ancestors is None else ancestors
    descendants = [] if descendants is None else descendants
    if not isinstance(ancestors, list) or not isinstance(descendants, list):
        raise Rejected("bad_field", "context ancestors/descendants are not arrays")
    statuses = [*ancestors, *descendants]
    doc.learn([s for s in statuses if isinstance(s, dict)])
    if ancestors and isinstance(ancestors[0], dict) and ancestors[0].get("in_reply_to_id") is None:
        doc.thread_root = status_native_id(ancestors[0])
    elif not ancestors and descendants and isinstance(descendants[0], dict):
        focal_id = descendants[0].get("in_reply_to_id")
        if isinstance(focal_id, str):
            doc.thread_root = doc.resolve(focal_id, descendants[0])
    if not statuses:
        return []
    return _each(statuses, lambda i, s: status_items(s, doc, f"context[{i}]"), "context statuses")


def _doc_from_meta(meta: dict[str, str]) -> _Doc:
    server = meta.get("server")
    server = origin(server) if server else None
    id_map: dict[str, str] = {}
    if meta.get("id_map"):
        try:
            loaded = orjson.loads(meta["id_map"])
        except orjson.JSONDecodeError:
            raise Rejected("bad_meta", "meta id_map is not JSON") from None
        if isinstance(loaded, dict):
            id_map = {str(k): v for k, v in loaded.items() if isinstance(v, str)}
    received = _lenient_time(meta.get("received_at"))
    return _Doc(
        server=server,
        id_map=id_map,
        account_url=meta.get("account") or None,
        received_at=received,
    )


@normalisers.register(FORMAT)
def normalise(event: RawEvent) -> list[Item]:
    """Any Mastodon status/notification document → items; bad input raises Rejected."""
    document = load_json(event.payload)
    return document_items(document, _doc_from_meta(event.meta))
