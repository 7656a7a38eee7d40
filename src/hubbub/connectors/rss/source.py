"""The live RSS/Atom/JSON Feed source: polite conditional polling of one feed.

Each poll sends the validators (ETag, Last-Modified) of the previous answer, so an unchanged
feed costs one 304 and yields nothing. The cursor is a JSON string holding those validators
and the tracked comment feeds, so a restart neither refetches everything nor forgets comments.
Network trouble never ends the stream: 429/5xx/timeouts back off with jitter (Retry-After
honoured); a body that cannot be used (too large, a bomb, an unsafe URL, a 4xx) is yielded
once as an event whose normalisation is rejected with the reason, so it reaches the dead
letters instead of vanishing, and polling carries on.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hubbub.connectors.rss.normalise import FORMAT, parse
from hubbub.core.clock import utcnow
from hubbub.core.errors import RateLimited, Rejected, TransientError, UnsafeURL
from hubbub.core.items import RawEvent
from hubbub.sources.backoff import Backoff
from hubbub.sources.base import REPORTED, Connector, connectors
from hubbub.sources.net import SafeHTTP

MIN_INTERVAL_SECONDS = 60.0
"""Shortest polling interval for any feed on another machine: be a polite client."""

LOCAL_MIN_INTERVAL_SECONDS = 0.01
"""Shortest interval for feeds on a loopback host (local test servers and fixtures only)."""

RETRY_AFTER_CEILING_SECONDS = 86_400.0
"""A Retry-After longer than a day is taken as a day, so a typo cannot park a source forever."""


def _is_loopback_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RssConfig(BaseModel):
    """One polled feed."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="URL of the RSS, Atom or JSON feed (http or https).")
    interval_seconds: float = Field(
        default=900.0,
        ge=LOCAL_MIN_INTERVAL_SECONDS,
        description=(
            f"Seconds between polls; at least {MIN_INTERVAL_SECONDS:g} except for feeds on a "
            f"loopback host, which may go down to {LOCAL_MIN_INTERVAL_SECONDS:g} (tests)."
        ),
    )
    follow_comments: bool = Field(
        default=False,
        description=(
            "Also poll each new entry's comment feed (wfw:commentRss or Atom rel=replies) "
            "and ingest its entries as replies to that entry."
        ),
    )
    comment_feeds_tracked: int = Field(
        default=20,
        ge=1,
        le=500,
        description="How many of the newest entries' comment feeds are polled each round.",
    )
    max_backoff_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Longest wait between retries while the feed keeps failing.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        return value.strip()

    @model_validator(mode="after")
    def _polite_interval(self) -> RssConfig:
        if self.interval_seconds < MIN_INTERVAL_SECONDS and not _is_loopback_host(self.url):
            raise ValueError(
                f"interval_seconds must be at least {MIN_INTERVAL_SECONDS:g} for remote feeds"
            )
        return self


@dataclass(slots=True)
class _Validators:
    """What the last good answer of one feed URL looked like."""

    url: str
    parent: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(slots=True)
class _State:
    """The cursor, decoded: the main feed's validators and the tracked comment feeds."""

    main: _Validators
    comments: dict[str, _Validators] = field(default_factory=dict)

    def dump(self) -> str:
        return orjson.dumps(
            {
                "v": 1,
                "main": asdict(self.main),
                "comments": [asdict(c) for c in self.comments.values()],
            }
        ).decode()

    @classmethod
    def load(cls, cursor: str | None, url: str) -> _State:
        """The saved state; a cursor for another URL or an unreadable one starts afresh."""
        fresh = cls(_Validators(url))
        if not cursor:
            return fresh
        try:
            data: Any = orjson.loads(cursor)
            main = _Validators(**data["main"])
            comments = [_Validators(**item) for item in data.get("comments", [])]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return fresh
        if main.url != url:
            return fresh
        return cls(main, {c.url: c for c in comments})


class _UnusableError(Exception):
    """A fetch that produced no usable body, reported once as a rejected event."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@connectors.register("rss")
class RssConnector(Connector):
    """Polls one feed (and optionally its entries' comment feeds) forever."""

    name: ClassVar[str] = "rss"
    network: ClassVar[str] = "rss"
    Config: ClassVar[type[BaseModel]] = RssConfig

    @property
    def settings(self) -> RssConfig:
        assert isinstance(self.config, RssConfig)
        return self.config

    async def stream(self, cursor: str | None) -> AsyncIterator[list[RawEvent]]:
        """Yield one batch per poll that found something new; sleep between polls."""
        config = self.settings
        state = _State.load(cursor, config.url)
        backoff = Backoff(base=min(config.interval_seconds, 30.0), cap=config.max_backoff_seconds)
        reported: str | None = None
        async with SafeHTTP(self.ctx.settings) as http:
            while True:
                batch: list[RawEvent] = []
                delay = config.interval_seconds
                reachable = True
                try:
                    event = await self._poll(http, state.main, state)
                    if event is not None:
                        batch.append(event)
                        if config.follow_comments:
                            await self._track_comments(event, state)
                    backoff.reset()
                    reported = None
                except RateLimited as exc:
                    reachable = False
                    reported = None  # another problem: a refusal after it is reported again
                    wait = min(exc.retry_after, RETRY_AFTER_CEILING_SECONDS)
                    delay = max(wait, backoff.next_delay())
                    self.ctx.log.warning(
                        "rss %s: rate limited, next try in %.2fs", config.url, delay
                    )
                except TransientError as exc:
                    reachable = False
                    reported = None
                    delay = backoff.next_delay()
                    self.ctx.log.warning("rss %s: %s; next try in %.2fs", config.url, exc, delay)
                except _UnusableError as exc:
                    delay = backoff.next_delay()
                    self.ctx.log.error(
                        "rss %s: %s; next try in %.2fs", config.url, exc, delay, extra=REPORTED
                    )
                    if reported != exc.code:
                        batch.append(self._rejected_event(state.main, state, exc))
                    reported = exc.code
                if config.follow_comments and reachable:
                    # Comment feeds usually live on the same server: spare it while it struggles.
                    batch.extend(await self._poll_comments(http, state))
                if batch:
                    yield batch
                await asyncio.sleep(delay)

    async def _poll(self, http: SafeHTTP, target: _Validators, state: _State) -> RawEvent | None:
        """Fetch one feed conditionally; None when it has not changed since the last poll."""
        try:
            fetched = await http.get(target.url, headers=target.request_headers())
        except Rejected as exc:
            raise _UnusableError(exc.code, exc.detail) from None
        except UnsafeURL as exc:
            raise _UnusableError("unsafe_url", str(exc)) from None
        if fetched.status == 304:
            return None
        if not 200 <= fetched.status < 300:
            raise _UnusableError("http_status", f"HTTP {fetched.status} from {target.url}")
        target.etag = fetched.headers.get("etag") or None
        target.last_modified = fetched.headers.get("last-modified") or None
        digest = hashlib.sha256(fetched.content).hexdigest()
        if digest == target.sha256:
            return None
        target.sha256 = digest
        meta = {
            "url": target.url,
            "content_type": fetched.headers.get("content-type", ""),
            "received_at": utcnow().isoformat(),
        }
        if target.parent is not None:
            meta["parent"] = target.parent
            meta["site"] = state.main.url
        return RawEvent(payload=fetched.content, format=FORMAT, cursor=state.dump(), meta=meta)

    def _rejected_event(self, target: _Validators, state: _State, exc: _UnusableError) -> RawEvent:
        meta = {"url": target.url, "error": exc.code, "detail": exc.detail[:500]}
        if target.parent is not None:
            meta["parent"] = target.parent
        return RawEvent(payload=b"", format=FORMAT, cursor=state.dump(), meta=meta)

    async def _track_comments(self, event: RawEvent, state: _State) -> None:
        """Follow the comment feeds of the newest entries (by date), keeping what was known
        of those already followed; entries that drop out are no longer polled."""
        try:
            # Parsing a large feed takes a while; keep the event loop free meanwhile.
            parsed = await asyncio.to_thread(parse, event)
        except Rejected:
            return  # the feed itself is rejected by the normaliser; nothing to follow
        dated = {post.native_id: post.created_at for post in parsed.posts}
        newest = sorted(parsed.comment_feeds.items(), key=lambda item: dated[item[0]], reverse=True)
        tracked: dict[str, _Validators] = {}
        for parent, url in newest:
            if url == state.main.url or url in tracked:
                continue
            tracked[url] = state.comments.get(url) or _Validators(url, parent=parent)
            if len(tracked) == self.settings.comment_feeds_tracked:
                break
        state.comments = tracked
        event.cursor = state.dump()

    async def _poll_comments(self, http: SafeHTTP, state: _State) -> list[RawEvent]:
        """Poll every tracked comment feed once; a failing one is skipped until next round."""
        events: list[RawEvent] = []
        for target in list(state.comments.values()):
            try:
                event = await self._poll(http, target, state)
            except RateLimited:
                self.ctx.log.warning("rss %s: rate limited on comment feeds", target.url)
                break
            except TransientError as exc:
                self.ctx.log.warning("rss comment feed %s: %s", target.url, exc)
                continue
            except _UnusableError as exc:
                self.ctx.log.error("rss comment feed %s: %s", target.url, exc, extra=REPORTED)
                if target.sha256 != f"rejected:{exc.code}":
                    target.sha256 = f"rejected:{exc.code}"
                    events.append(self._rejected_event(target, state, exc))
                continue
            if event is not None:
                events.append(event)
        return events
