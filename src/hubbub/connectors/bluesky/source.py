"""The live Bluesky listener: a Jetstream websocket subscription that never gives up.

Jetstream turns the AT Protocol firehose into small JSON events and replays from a
``time_us`` cursor, which is what lets a restart resume without gaps. Every frame received
is passed on as a :class:`RawEvent`, even one that cannot be read, so the ingest service
can dead-letter it with a reason instead of it vanishing here.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
import websockets
import zstandard
from pydantic import BaseModel, ConfigDict, Field, field_validator
from websockets.asyncio.client import ClientConnection, connect

from hubbub.connectors.bluesky.normalise import COLLECTIONS, FOLLOW, LIKE, POST, REPOST
from hubbub.connectors.bluesky.syntax import is_did, is_nsid
from hubbub.core.errors import ConfigError, TransientError, UnsafeURL
from hubbub.core.items import RawEvent
from hubbub.sources.backoff import Backoff
from hubbub.sources.base import Connector, SourceContext, connectors
from hubbub.sources.net import check_url, host_allowed, is_public_address

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
FORMAT = "jetstream"
MIN_FRAME_BYTES = 16 * 1024 * 1024
# Jetstream's own limits on one subscription.
MAX_COLLECTIONS = 100
MAX_DIDS = 10_000
# Past this many DIDs the query string gets too long; they are sent in an options message.
MAX_QUERY_DIDS = 50
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Event times further ahead of our clock than this do not move the cursor.
MAX_AHEAD_US = 3600 * 1_000_000


class JetstreamConfig(BaseModel):
    """What to subscribe to; validated before the source is saved."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        default=DEFAULT_URL,
        description="Jetstream subscribe endpoint (ws:// or wss://).",
    )
    collections: list[str] = Field(
        default_factory=lambda: [POST, REPOST, LIKE, FOLLOW],
        min_length=1,
        max_length=MAX_COLLECTIONS,
        description=(
            "Record collections to receive (NSIDs; a trailing '.*' takes a whole namespace). "
            "Identity and account events always arrive."
        ),
    )
    wanted_dids: list[str] = Field(
        default_factory=list,
        max_length=MAX_DIDS,
        description="Only these accounts' records (DIDs); empty means everyone.",
    )
    compress: bool = Field(
        default=False,
        description="Ask for zstd-compressed frames (roughly half the bandwidth).",
    )
    zstd_dictionary: Path | None = Field(
        default=None,
        description=(
            "Path of the zstd dictionary the server compresses with (Jetstream publishes "
            "its own); without it frames must be plain zstd."
        ),
    )
    resume_rewind_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description=(
            "How far before the saved cursor to resume: Jetstream's time_us is only roughly "
            "ordered, so a small overlap (deduplicated on ingest) avoids gaps."
        ),
    )

    @field_validator("url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError("must be a ws:// or wss:// URL with a host")
        return value

    @field_validator("collections")
    @classmethod
    def _nsids(cls, values: list[str]) -> list[str]:
        for value in values:
            if value.endswith(".*"):
                prefix = value[:-2]
                if not prefix or not is_nsid(prefix + ".a.b"):
                    raise ValueError(f"{value!r} is not an NSID prefix")
            elif not is_nsid(value):
                raise ValueError(f"{value!r} is not a collection NSID")
            elif value not in COLLECTIONS:
                raise ValueError(
                    f"{value} is not turned into items (only {', '.join(COLLECTIONS)}); "
                    "its events would all be dead-lettered"
                )
        return values

    @field_validator("wanted_dids")
    @classmethod
    def _dids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not is_did(value):
                raise ValueError(f"{value[:100]!r} is not a DID")
        return values


def _time_us(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    try:
        value = int(cursor)
    except ValueError:
        raise ConfigError(f"Jetstream cursor {cursor[:40]!r} is not a time_us integer") from None
    return value if value > 0 else None


class _Frames:
    """Turns received websocket messages into raw events, decompressing with a bound."""

    def __init__(self, limit: int, compress: bool, dictionary: bytes | None) -> None:
        self.limit = limit
        self._decompressor: zstandard.ZstdDecompressor | None = None
        if compress:
            dict_data = zstandard.ZstdCompressionDict(dictionary) if dictionary else None
            self._decompressor = zstandard.ZstdDecompressor(dict_data=dict_data)
        self.last_time_us: int | None = None

    def event(self, message: bytes) -> RawEvent:
        """One frame as a raw event whose cursor is its time_us, or the previous one."""
        meta: dict[str, str] = {}
        payload = message
        # A server that ignored compress=true sends plain JSON, which is taken as it is.
        if self._decompressor is not None and message[:4] == ZSTD_MAGIC:
            payload, error = self._decompress(message)
            if error is not None:
                meta = {"error": error[0], "detail": error[1]}
                payload = message
        time_us = None if meta else _frame_time_us(payload)
        if time_us is not None and (self.last_time_us is None or time_us > self.last_time_us):
            self.last_time_us = time_us
        cursor = None if self.last_time_us is None else str(self.last_time_us)
        return RawEvent(payload=payload, format=FORMAT, cursor=cursor, meta=meta)

    def _decompress(self, message: bytes) -> tuple[bytes, tuple[str, str] | None]:
        assert self._decompressor is not None
        parts: list[bytes] = []
        size = 0
        try:
            reader = self._decompressor.stream_reader(io.BytesIO(message))
            while size <= self.limit:
                chunk = reader.read(self.limit + 1 - size)
                if not chunk:
                    break
                parts.append(chunk)
                size += len(chunk)
        except zstandard.ZstdError as exc:
            return message, ("bad_encoding", f"zstd frame cannot be decompressed: {exc}")
        if size > self.limit:
            return message, ("too_large", f"frame decompresses past {self.limit} bytes")
        return b"".join(parts), None


def _frame_time_us(payload: bytes) -> int | None:
    """The event's ``time_us``, or None when the frame is not a readable event.

    A value far ahead of our clock is not believed: saved as the cursor, it would make every
    later resume start in the future and skip what happened meanwhile.
    """
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    value = data.get("time_us") if type(data) is dict else None
    if type(value) is not int or value <= 0:
        return None
    return value if value <= time.time() * 1_000_000 + MAX_AHEAD_US else None


@connectors.register("bluesky")
class JetstreamConnector(Connector):
    """Streams Bluesky records from a Jetstream instance, resuming from ``time_us``."""

    name: ClassVar[str] = "bluesky"
    network: ClassVar[str] = "bluesky"
    Config: ClassVar[type[BaseModel]] = JetstreamConfig

    def __init__(self, config: BaseModel, ctx: SourceContext) -> None:
        super().__init__(config, ctx)
        if not isinstance(config, JetstreamConfig):
            config = JetstreamConfig.model_validate(config.model_dump())
        self.cfg: JetstreamConfig = config
        self.backoff = Backoff(base=1.0, cap=60.0)

    def subscribe_url(self, time_us: int | None) -> str:
        """The subscribe URL with filters and the cursor as Jetstream's query parameters."""
        parts = urlsplit(self.cfg.url)
        query: list[tuple[str, str]] = [("wantedCollections", c) for c in self.cfg.collections]
        if 0 < len(self.cfg.wanted_dids) <= MAX_QUERY_DIDS:
            query += [("wantedDids", did) for did in self.cfg.wanted_dids]
        elif self.cfg.wanted_dids:
            query.append(("requireHello", "true"))
        if self.cfg.compress:
            query.append(("compress", "true"))
        query.append(("maxMessageSizeBytes", str(self.max_frame_bytes)))
        if time_us is not None:
            query.append(("cursor", str(time_us)))
        existing = parts.query + "&" if parts.query else ""
        return urlunsplit(parts._replace(query=existing + urlencode(query)))

    @property
    def max_frame_bytes(self) -> int:
        """Largest frame accepted: generous, so oversize events reach ingest to be refused
        with a reason; only frames past this are dropped, by the server when it complies."""
        return max(MIN_FRAME_BYTES, 8 * self.ctx.settings.max_payload_bytes)

    def _resume_from(self, time_us: int | None) -> int | None:
        if time_us is None:
            return None
        return max(1, time_us - int(self.cfg.resume_rewind_seconds * 1_000_000))

    def _check_peer(self, ws: ClientConnection, url: str) -> None:
        """Refuse a connection that landed on a private address (DNS rebinding)."""
        settings = self.ctx.settings
        parts = urlsplit(url)
        if parts.hostname and host_allowed(settings, parts.hostname, parts.port):
            return
        peer = ws.transport.get_extra_info("peername") if ws.transport else None
        if peer and not is_public_address(ipaddress.ip_address(peer[0])):
            raise UnsafeURL(f"{parts.hostname} connected to non-public address {peer[0]}")

    def _dictionary(self) -> bytes | None:
        path = self.cfg.zstd_dictionary
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read zstd dictionary {path}: {exc}") from None

    async def _hello(self, ws: ClientConnection) -> None:
        """Send the DID filter in an options message when it is too long for the URL."""
        if len(self.cfg.wanted_dids) <= MAX_QUERY_DIDS:
            return
        payload = {
            "wantedCollections": self.cfg.collections,
            "wantedDids": self.cfg.wanted_dids,
            "maxMessageSizeBytes": self.max_frame_bytes,
        }
        await ws.send(orjson.dumps({"type": "options_update", "payload": payload}).decode())

    async def stream(self, cursor: str | None) -> AsyncIterator[list[RawEvent]]:
        """Batches of frames from ``cursor`` on; network trouble means reconnect, not raise.

        Raises only for configuration problems: an unsafe URL (SSRF guard), an unreadable
        dictionary, a cursor that is not a number.
        """
        settings = self.ctx.settings
        log = self.ctx.log
        frames = _Frames(settings.max_payload_bytes, self.cfg.compress, self._dictionary())
        frames.last_time_us = _time_us(cursor)
        while True:
            url = self.subscribe_url(self._resume_from(frames.last_time_us))
            received = 0
            try:
                await check_url(url, settings)
                async with connect(
                    url,
                    max_size=self.max_frame_bytes,
                    compression=None,
                    proxy=None,
                    open_timeout=settings.http_timeout_seconds,
                    user_agent_header=settings.user_agent,
                    ping_interval=20,
                    ping_timeout=30,
                ) as ws:
                    self._check_peer(ws, url)
                    await self._hello(ws)
                    log.info("bluesky %s: connected to %s", self.ctx.source_name, url[:200])
                    async with aclosing(self._batches(ws, frames)) as batches:
                        async for batch in batches:
                            received += len(batch)
                            self.backoff.reset()
                            yield batch
            except (UnsafeURL, ConfigError):
                raise
            except (
                OSError,
                TimeoutError,
                TransientError,
                websockets.ConnectionClosed,
                websockets.InvalidHandshake,
                websockets.InvalidURI,
            ) as exc:
                log.warning(
                    "bluesky %s: connection lost after %d events (%s); reconnecting",
                    self.ctx.source_name,
                    received,
                    repr(exc)[:300],
                )
            except Exception:
                # A listener must outlive surprises; the traceback goes to the log.
                log.exception(
                    "bluesky %s: unexpected error after %d events; reconnecting",
                    self.ctx.source_name,
                    received,
                )
            delay = self.backoff.next_delay()
            await asyncio.sleep(delay)

    async def _batches(
        self, ws: ClientConnection, frames: _Frames
    ) -> AsyncGenerator[list[RawEvent], None]:
        """Group frames into batches of ``ingest_batch_size`` or ``ingest_batch_seconds``.

        When the connection drops, the partial batch is delivered before the error goes
        on, so nothing received is thrown away.
        """
        settings = self.ctx.settings
        size = settings.ingest_batch_size
        window = settings.ingest_batch_seconds
        batch: list[RawEvent] = []
        loop = asyncio.get_running_loop()
        deadline = 0.0
        while True:
            try:
                if not batch:
                    message = await ws.recv(decode=False)
                    deadline = loop.time() + window
                else:
                    # timeout_at, not wait_for: no task per message (recv is cancel-safe).
                    async with asyncio.timeout_at(deadline):
                        message = await ws.recv(decode=False)
            except TimeoutError:
                yield batch
                batch = []
                continue
            except (OSError, websockets.ConnectionClosed):
                if batch:
                    yield batch
                raise
            batch.append(frames.event(message))
            if len(batch) >= size:
                yield batch
                batch = []
