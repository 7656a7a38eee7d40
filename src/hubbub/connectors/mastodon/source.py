"""Live Mastodon source: Server-Sent Events streaming with REST backfill by ``min_id``.

Each configured timeline runs its own loop: open the stream, backfill by REST from the last
seen id while the stream's first bytes wait in the socket, then read the stream; on any
disconnect, back off and do it again. So a gap between two connections is always filled by
REST, and a bounded set of recently seen ids keeps what is yielded free of duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hubbub.core.clock import parse_timestamp, utcnow
from hubbub.core.errors import RateLimited, Rejected, TransientError, UnsafeURL
from hubbub.core.items import RawEvent
from hubbub.sources.backoff import Backoff
from hubbub.sources.base import Connector, SourceContext, connectors
from hubbub.sources.decode import load_json
from hubbub.sources.net import SafeHTTP, raise_for_retry

from .normalise import FORMAT, origin, status_native_id

PAGE_LIMIT = 40
SEEN_PER_TIMELINE = 10_000
ID_CACHE = 50_000
NOTIFICATION_TYPES = ("mention", "status", "update", "quote", "favourite", "reblog", "follow")
FORWARDED_EVENTS = frozenset({"update", "status.update", "delete", "notification"})

State = Literal["starting", "ok", "rate_limited", "backing_off", "auth_failed", "config_error"]


class MastodonConfig(BaseModel):
    """One Mastodon server and the timelines to follow on it."""

    model_config = ConfigDict(extra="forbid")

    server: str = Field(description="Base URL of the server, e.g. https://mastodon.social.")
    timelines: list[str] = Field(
        default_factory=lambda: ["public"],
        description=(
            'Timelines to follow: "public", "public:local", "hashtag:NAME", "list:ID", '
            '"notifications".'
        ),
    )
    poll_seconds: float = Field(
        default=60.0, gt=0, description="REST polling interval when streaming is unavailable."
    )
    streaming: bool = Field(
        default=True, description="Use the streaming API; false polls REST only."
    )
    streaming_url: str | None = Field(
        default=None,
        description="Base URL of the streaming server when it is not the server itself.",
    )
    stream_idle_seconds: float = Field(
        default=90.0,
        gt=0,
        description="Reconnect when the stream sends nothing (not even a heartbeat) this long.",
    )
    retry_base_seconds: float = Field(
        default=1.0, gt=0, description="First backoff delay after a server or network error."
    )
    retry_cap_seconds: float = Field(default=300.0, gt=0, description="Longest backoff delay.")
    auth_retry_seconds: float = Field(
        default=900.0, gt=0, description="Wait after 401/403 (expired or revoked credentials)."
    )
    rate_limit_reserve: int = Field(
        default=10,
        ge=0,
        description="Requests kept in reserve: below this many left, wait for the limit to reset.",
    )

    @field_validator("server", "streaming_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("must be an https:// URL (http only for a local test server)")
        if not parts.hostname or parts.query or parts.fragment or parts.path not in ("", "/"):
            raise ValueError("must be a bare base URL like https://mastodon.social")
        return origin(value.strip())

    @field_validator("timelines", mode="before")
    @classmethod
    def _timelines_text(cls, value: Any) -> Any:
        """Accept ``public,hashtag:brand`` or a JSON array, as ``--set`` on the CLI gives text."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                raise ValueError("timelines is not a JSON array") from None
        return [part for part in value.split(",") if part.strip()]

    @field_validator("timelines")
    @classmethod
    def _timelines(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("at least one timeline is needed")
        cleaned: list[str] = []
        for value in values:
            spec = value.strip()
            kind, _, arg = spec.partition(":")
            valid = (
                spec in ("public", "public:local", "notifications")
                or (kind == "hashtag" and arg and "/" not in arg and " " not in arg)
                or (kind == "list" and arg.isdigit())
            )
            if not valid:
                raise ValueError(f"unknown timeline {value!r}")
            if kind == "hashtag":
                spec = f"hashtag:{arg.lstrip('#').lower()}"
            if spec not in cleaned:
                cleaned.append(spec)
        return cleaned


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where one timeline spec streams from and backfills from."""

    spec: str
    stream_path: str
    stream_params: dict[str, str]
    rest_path: str
    rest_params: dict[str, str | list[str]]

    @property
    def is_notifications(self) -> bool:
        return self.spec == "notifications"

    @classmethod
    def parse(cls, spec: str) -> Timeline:
        kind, _, arg = spec.partition(":")
        if spec == "public":
            return cls(spec, "/api/v1/streaming/public", {}, "/api/v1/timelines/public", {})
        if spec == "public:local":
            return cls(
                spec,
                "/api/v1/streaming/public/local",
                {},
                "/api/v1/timelines/public",
                {"local": "true"},
            )
        if kind == "hashtag":
            return cls(
                spec,
                "/api/v1/streaming/hashtag",
                {"tag": arg},
                f"/api/v1/timelines/tag/{quote(arg, safe='')}",
                {},
            )
        if kind == "list":
            return cls(
                spec, "/api/v1/streaming/list", {"list": arg}, f"/api/v1/timelines/list/{arg}", {}
            )
        return cls(
            spec,
            "/api/v1/streaming/user/notification",
            {},
            "/api/v1/notifications",
            {"types[]": list(NOTIFICATION_TYPES)},
        )


class AuthFailedError(Exception):
    """The server refused our credentials (401/403): nothing to do but wait and tell."""


class EndpointRefusedError(Exception):
    """A 4xx other than auth/rate limits: the timeline or stream is not available as configured."""


def id_key(value: str) -> tuple[int, str]:
    """Sort key for Mastodon ids: numeric strings of varying length, compared as numbers."""
    return (len(value), value) if value.isdigit() else (0, value)


def newer(a: str, b: str | None) -> bool:
    return b is None or id_key(a) > id_key(b)


@dataclass
class _Seen:
    """A bounded memory of ids already yielded on one timeline."""

    limit: int = SEEN_PER_TIMELINE
    order: deque[str] = field(default_factory=deque)
    ids: set[str] = field(default_factory=set)

    def add(self, value: str) -> bool:
        """True when ``value`` is new (and remember it)."""
        if value in self.ids:
            return False
        self.ids.add(value)
        self.order.append(value)
        if len(self.order) > self.limit:
            self.ids.discard(self.order.popleft())
        return True


class _RateGate:
    """Shared by every timeline of one server: slows down before the server's limit runs out."""

    def __init__(self, reserve: int) -> None:
        self.reserve = reserve
        self.remaining: int | None = None
        self.reset_in: float = 0.0
        self.blocked_until = 0.0

    def observe(self, headers: httpx.Headers) -> None:
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if remaining is None or not remaining.strip().lstrip("-").isdigit():
            return
        self.remaining = int(remaining)
        seconds = 0.0
        if reset:
            try:
                seconds = (parse_timestamp(reset) - utcnow()).total_seconds()
            except ValueError:
                seconds = 0.0
        self.reset_in = max(0.0, min(seconds, 3600.0))
        loop = asyncio.get_running_loop()
        if self.remaining <= self.reserve and self.reset_in > 0:
            self.blocked_until = loop.time() + self.reset_in

    def block_for(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self.blocked_until = max(self.blocked_until, loop.time() + seconds)

    async def wait(self) -> None:
        delay = self.blocked_until - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(slots=True)
class _SSEFrame:
    event: str
    data: bytes  # undecoded: bad UTF-8 goes on to be rejected with a reason, not replaced


class _SSEParser:
    """Incremental Server-Sent Events parser with a per-event size bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tail = b""
        self._event = ""
        self._data: list[bytes] = []
        self._size = 0
        self._oversized = False
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[_SSEFrame]:
        frames: list[_SSEFrame] = []
        lines = (self._tail + chunk).split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > self.limit:  # a line longer than any event may be: keep its head
            if self._tail.startswith(b"data:") and self._size <= self.limit:
                head = self._tail.removeprefix(b"data:").removeprefix(b" ")
                self._data.append(head[: self.limit + 1 - self._size])
                self._size = self.limit + 1
            self._tail = b""
            self._oversized = True
        for raw in lines:
            line = raw.removesuffix(b"\r")
            if not line:
                if self._oversized:
                    # Passed on cut to limit + 1 bytes: the ingest service refuses it as
                    # too_large and keeps what arrived as a dead letter, instead of losing it.
                    self.dropped += 1
                    kept = b"\n".join(self._data)[: self.limit + 1]
                    frames.append(_SSEFrame(self._event or "message", kept))
                elif self._data or self._event:
                    frames.append(_SSEFrame(self._event or "message", b"\n".join(self._data)))
                self._event, self._data, self._size, self._oversized = "", [], 0, False
                continue
            if line.startswith(b":"):
                continue
            name, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if name == b"event":
                self._event = value.decode("utf-8", errors="replace")
            elif name == b"data":
                if self._size <= self.limit:
                    self._data.append(value[: self.limit + 1 - self._size])
                self._size += len(value)
                if self._size > self.limit:
                    self._oversized = True
        return frames


@connectors.register("mastodon")
class MastodonSource(Connector):
    """Follows public, hashtag, list and notification timelines of one Mastodon server."""

    name: ClassVar[str] = "mastodon"
    network: ClassVar[str] = "mastodon"
    Config: ClassVar[type[BaseModel]] = MastodonConfig
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)

    def __init__(self, config: BaseModel, ctx: SourceContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, MastodonConfig)
        self.cfg = config
        self.log = ctx.log
        self.state: State = "starting"
        self.states: dict[str, State] = {}
        self.last_ids: dict[str, str] = {}
        self.account_url: str | None = None
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._gate = _RateGate(config.rate_limit_reserve)
        self._token = ctx.credentials.get("access_token") or ""

    # ------------------------------------------------------------------ cursor

    def _load_cursor(self, cursor: str | None) -> None:
        self.last_ids = {}
        if not cursor:
            return
        try:
            data = orjson.loads(cursor)
        except orjson.JSONDecodeError:
            self.log.warning("mastodon %s: unreadable cursor ignored", self.ctx.source_name)
            return
        if not isinstance(data, dict) or not isinstance(data.get("timelines"), dict):
            self.log.warning("mastodon %s: cursor of unknown shape ignored", self.ctx.source_name)
            return
        if data.get("server") != self.cfg.server:
            self.log.warning(
                "mastodon %s: cursor belongs to %s, starting fresh on %s",
                self.ctx.source_name,
                data.get("server"),
                self.cfg.server,
            )
            return
        self.last_ids = {
            k: v for k, v in data["timelines"].items() if isinstance(v, str) and v.isdigit()
        }

    def _cursor(self) -> str:
        return orjson.dumps(
            {"server": self.cfg.server, "timelines": self.last_ids}, option=orjson.OPT_SORT_KEYS
        ).decode()

    # ------------------------------------------------------------------ state

    def _set_state(self, timeline: str, state: State, detail: str = "") -> None:
        previous = self.states.get(timeline)
        self.states[timeline] = state
        order: list[State] = [
            "auth_failed",
            "config_error",
            "rate_limited",
            "backing_off",
            "starting",
            "ok",
        ]
        self.state = min(self.states.values(), key=order.index)
        if previous == state:
            return
        level = logging.ERROR if state in ("auth_failed", "config_error") else logging.INFO
        if state in ("backing_off", "rate_limited"):
            level = logging.WARNING
        self.log.log(
            level,
            "mastodon %s [%s] %s: %s",
            self.ctx.source_name,
            timeline,
            state,
            detail or "-",
        )

    # ------------------------------------------------------------------ events

    def _remember(self, status: Any) -> None:
        """Keep local id → native id, so later deletes and replies name the right post."""
        for entity in (status, status.get("reblog") if isinstance(status, dict) else None):
            native = status_native_id(entity)
            if (
                native is not None
                and isinstance(entity, dict)
                and isinstance(entity.get("id"), str)
            ):
                self._ids[entity["id"]] = native
                self._ids.move_to_end(entity["id"])
        while len(self._ids) > ID_CACHE:
            self._ids.popitem(last=False)

    def _event(self, timeline: Timeline, payload: bytes, refs: list[str]) -> RawEvent:
        meta = {
            "server": self.cfg.server,
            "timeline": timeline.spec,
            "received_at": utcnow().isoformat(),
        }
        known = {ref: self._ids[ref] for ref in refs if ref in self._ids}
        if known:
            meta["id_map"] = orjson.dumps(known).decode()
        if self.account_url:
            meta["account"] = self.account_url
        return RawEvent(payload=payload, format=FORMAT, cursor=self._cursor(), meta=meta)

    @staticmethod
    def _refs(status: Any) -> list[str]:
        refs: list[str] = []
        if isinstance(status, dict):
            if isinstance(status.get("in_reply_to_id"), str):
                refs.append(status["in_reply_to_id"])
            quote_ = status.get("quote")
            if isinstance(quote_, dict) and isinstance(quote_.get("quoted_status_id"), str):
                refs.append(quote_["quoted_status_id"])
        return refs

    def _accept_entity(
        self, timeline: Timeline, entity: Any, seen: _Seen, payload: bytes
    ) -> RawEvent | None:
        """A RawEvent for a new status/notification, advancing the cursor; None for repeats."""
        entity_id = entity.get("id") if isinstance(entity, dict) else None
        if isinstance(entity_id, str):
            if not seen.add(entity_id):
                return None
            if entity_id.isdigit() and newer(entity_id, self.last_ids.get(timeline.spec)):
                self.last_ids[timeline.spec] = entity_id
        status = (
            entity.get("status")
            if timeline.is_notifications and isinstance(entity, dict)
            else entity
        )
        refs = self._refs(status)
        if isinstance(status, dict):
            self._remember(status)
        return self._event(timeline, payload, refs)

    # ------------------------------------------------------------------ REST

    def _url(self, path: str, streaming: bool = False) -> str:
        base = self.cfg.streaming_url if streaming and self.cfg.streaming_url else self.cfg.server
        return f"{base}{path}"

    def _check_status(self, status: int, url: str) -> None:
        if status in (401, 403):
            raise AuthFailedError(
                f"HTTP {status} from {url}: the access token is missing, expired or revoked"
            )
        if status >= 400:
            raise EndpointRefusedError(f"HTTP {status} from {url}")

    async def _get_json(self, http: SafeHTTP, path: str, params: dict[str, Any]) -> Any:
        await self._gate.wait()
        url = self._url(path)
        try:
            fetched = await http.get(url, params=params)
        except RateLimited as exc:
            self._gate.block_for(exc.retry_after)
            raise
        self._gate.observe(fetched.headers)
        self._check_status(fetched.status, url)
        try:
            return load_json(fetched.content)
        except Rejected as exc:
            raise TransientError(f"unreadable JSON from {url}: {exc.detail}") from None

    async def _whoami(self, http: SafeHTTP) -> None:
        """Learn our own profile URL once, so follow notifications name whom they follow."""
        if self.account_url or not self._token:
            return
        try:
            me = await self._get_json(http, "/api/v1/accounts/verify_credentials", {})
        except (AuthFailedError, EndpointRefusedError, TransientError, RateLimited) as exc:
            self.log.info("mastodon %s: own account unknown (%s)", self.ctx.source_name, exc)
            return
        if isinstance(me, dict) and isinstance(me.get("url"), str):
            self.account_url = me["url"]

    async def _backfill(
        self, http: SafeHTTP, timeline: Timeline, seen: _Seen, out: asyncio.Queue[list[RawEvent]]
    ) -> None:
        """Page forward from the last seen id with ``min_id`` until the server has nothing newer.

        Without a last id (first start) one page of the newest entries seeds the cursor.
        """
        while True:
            since = self.last_ids.get(timeline.spec)
            params: dict[str, Any] = {**timeline.rest_params, "limit": PAGE_LIMIT}
            if since:
                params["min_id"] = since
            page = await self._get_json(http, timeline.rest_path, params)
            if not isinstance(page, list):
                raise TransientError(f"{timeline.rest_path} did not return an array")
            entities = [e for e in page if isinstance(e, dict) and isinstance(e.get("id"), str)]
            if len(entities) != len(page):
                self.log.warning(
                    "mastodon %s [%s]: %d malformed entries in a page",
                    self.ctx.source_name,
                    timeline.spec,
                    len(page) - len(entities),
                )
            entities.sort(key=lambda e: id_key(e["id"]))
            batch: list[RawEvent] = []
            for entity in entities:
                if since is not None and not newer(entity["id"], since):
                    continue
                event = self._accept_entity(timeline, entity, seen, orjson.dumps(entity))
                if event is not None:
                    batch.append(event)
            if batch:
                await out.put(batch)
            if since is None or len(page) < PAGE_LIMIT or self.last_ids.get(timeline.spec) == since:
                return

    # ------------------------------------------------------------------ streaming

    def _stream_event(self, timeline: Timeline, frame: _SSEFrame, seen: _Seen) -> RawEvent | None:
        """A RawEvent for one SSE frame; malformed content still goes on to be rejected."""
        if frame.event not in FORWARDED_EVENTS:
            self.log.debug("mastodon stream event %r ignored", frame.event)
            return None
        try:
            data = frame.data.decode("utf-8")
        except UnicodeDecodeError:
            return self._event(timeline, frame.data, [])  # rejected as invalid_utf8
        wrapped = orjson.dumps({"event": frame.event, "payload": data})
        if frame.event == "delete":
            return self._event(timeline, wrapped, [data.strip()])
        try:
            entity = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._event(timeline, wrapped, [])
        if frame.event == "status.update":
            if isinstance(entity, dict):
                self._remember(entity)
            return self._event(timeline, wrapped, self._refs(entity))
        if frame.event == "notification" and not timeline.is_notifications:
            return None
        return self._accept_entity(timeline, entity, seen, wrapped)

    async def _stream(
        self, http: SafeHTTP, timeline: Timeline, seen: _Seen, out: asyncio.Queue[list[RawEvent]]
    ) -> None:
        """Connect, backfill while the stream waits, then read it until it ends or fails."""
        timeout = httpx.Timeout(
            self.ctx.settings.http_timeout_seconds, read=self.cfg.stream_idle_seconds
        )
        url = self._url(timeline.stream_path, streaming=True)
        headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
        await self._gate.wait()
        async with http.open(
            url, headers=headers, params=timeline.stream_params or None, timeout=timeout
        ) as response:
            raise_for_retry(response)
            if response.status_code in (401, 403) and not self._token:
                status = response.status_code
                raise EndpointRefusedError(f"{url} needs an access token (HTTP {status})")
            self._check_status(response.status_code, url)
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise EndpointRefusedError(f"{url} answered {content_type or 'no content type'}")
            if response.headers.get("content-encoding", "identity") != "identity":
                raise EndpointRefusedError(f"{url} compressed the stream; refused")
            await self._backfill(http, timeline, seen, out)
            self._set_state(timeline.spec, "ok", "streaming")
            parser = _SSEParser(self.ctx.settings.max_payload_bytes)
            try:
                async for chunk in response.aiter_raw():
                    batch = []
                    for frame in parser.feed(chunk):
                        event = self._stream_event(timeline, frame, seen)
                        if event is not None:
                            batch.append(event)
                    if parser.dropped:
                        self.log.warning(
                            "mastodon %s [%s]: %d stream events over %d bytes passed on cut"
                            " (dead letters)",
                            self.ctx.source_name,
                            timeline.spec,
                            parser.dropped,
                            parser.limit,
                        )
                        parser.dropped = 0
                    if batch:
                        await out.put(batch)
            except httpx.TimeoutException as exc:
                raise TransientError(
                    f"stream idle past {self.cfg.stream_idle_seconds}s: {exc!r}"
                ) from None
            except httpx.TransportError as exc:
                raise TransientError(f"stream dropped: {exc!r}") from None
        raise TransientError("stream ended by the server")

    # ------------------------------------------------------------------ loop

    async def _follow(
        self, http: SafeHTTP, timeline: Timeline, out: asyncio.Queue[list[RawEvent]]
    ) -> None:
        """One timeline, forever: stream with backfill, or poll; every failure only waits."""
        backoff = Backoff(self.cfg.retry_base_seconds, self.cfg.retry_cap_seconds)
        seen = _Seen()
        streaming = self.cfg.streaming
        stream_retry_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if timeline.is_notifications:
                    await self._whoami(http)
                if streaming and loop.time() >= stream_retry_at:
                    try:
                        await self._stream(http, timeline, seen, out)
                    except EndpointRefusedError as exc:
                        self.log.warning(
                            "mastodon %s [%s]: streaming unavailable (%s); polling REST",
                            self.ctx.source_name,
                            timeline.spec,
                            exc,
                        )
                        stream_retry_at = loop.time() + self.cfg.auth_retry_seconds
                        continue
                else:
                    await self._backfill(http, timeline, seen, out)
                    self._set_state(timeline.spec, "ok", "polling")
                    backoff.reset()
                    await asyncio.sleep(self.cfg.poll_seconds)
            except RateLimited as exc:
                self._set_state(
                    timeline.spec, "rate_limited", f"retry after {exc.retry_after:.1f}s"
                )
                await asyncio.sleep(min(exc.retry_after, self.cfg.auth_retry_seconds))
            except AuthFailedError as exc:
                self._set_state(timeline.spec, "auth_failed", str(exc))
                await asyncio.sleep(self.cfg.auth_retry_seconds)
            except (EndpointRefusedError, UnsafeURL) as exc:
                self._set_state(timeline.spec, "config_error", str(exc))
                await asyncio.sleep(self.cfg.auth_retry_seconds)
            except (TransientError, Rejected) as exc:
                was_ok = self.states.get(timeline.spec) == "ok"
                if was_ok:
                    backoff.reset()
                self._set_state(timeline.spec, "backing_off", str(exc))
                await asyncio.sleep(backoff.next_delay())

    async def stream(self, cursor: str | None) -> AsyncIterator[list[RawEvent]]:
        """Yield batches from every configured timeline; network trouble never escapes."""
        self._load_cursor(cursor)
        out: asyncio.Queue[list[RawEvent]] = asyncio.Queue(maxsize=64)
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        async with SafeHTTP(self.ctx.settings, headers=headers) as http:
            tasks = [
                asyncio.create_task(self._follow(http, Timeline.parse(spec), out), name=spec)
                for spec in self.cfg.timelines
            ]
            for spec in self.cfg.timelines:
                self.states[spec] = "starting"
            try:
                while True:
                    getter = asyncio.create_task(out.get())
                    done, _ = await asyncio.wait(
                        [getter, *tasks], return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter not in done:
                        getter.cancel()
                        for task in done:
                            task.result()  # a bug in a timeline loop surfaces, never hangs
                        continue
                    batch = list(getter.result())
                    while not out.empty() and len(batch) < self.ctx.settings.ingest_batch_size:
                        batch.extend(out.get_nowait())
                    yield batch
            finally:
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*tasks, return_exceptions=True)
