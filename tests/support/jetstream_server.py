"""A local server speaking Jetstream's subscribe protocol, for connector and crash tests.

It replays a fixed list of events in ``time_us`` order and honours what a real Jetstream
honours (``cursor``, ``wantedCollections``, ``wantedDids``, ``compress``, the
``requireHello`` options message), plus fault knobs a test needs: drop the connection after
K messages, slip malformed frames in, slow every message down.

In-process::

    async with JetstreamServer(lines) as url: ...

As a script (prints its URL once listening, serves until killed)::

    python -m tests.support.jetstream_server --port 0 --generate 10000 --seed 1 --rate 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

import orjson
import zstandard
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

# Frames a broken or hostile server might send; each must reach the ingest service as a
# dead letter rather than stop the listener.
MALFORMED_FRAMES: tuple[bytes, ...] = (
    b"{not json",
    b'{"did":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa","kind":"commit"}',
    b"\xff\xfe not utf-8 \xc3\x28",
    b"[1, 2, 3]",
)


@dataclass
class _Event:
    time_us: int
    kind: str
    did: str
    collection: str | None
    line: bytes


def _parse(line: bytes) -> _Event:
    data = orjson.loads(line)
    commit = data.get("commit") or {}
    return _Event(
        time_us=int(data["time_us"]),
        kind=str(data.get("kind")),
        did=str(data.get("did")),
        collection=commit.get("collection"),
        line=line,
    )


def _wanted(collection: str | None, wanted: Sequence[str]) -> bool:
    if not wanted or collection is None:
        return True
    for pattern in wanted:
        if pattern.endswith(".*"):
            if collection.startswith(pattern[:-1]):
                return True
        elif collection == pattern:
            return True
    return False


@dataclass
class Subscription:
    """What one client asked for, kept so tests can check the query the connector sent."""

    path: str
    collections: list[str]
    dids: list[str]
    cursor: int | None
    compress: bool
    max_message_bytes: int = 0
    sent: int = 0


@dataclass
class JetstreamServer:
    """Serves ``lines`` (one JSON event each) to every subscriber, filtered and replayed.

    ``close_after``: drop each of the first ``close_times`` connections after that many
    messages (abruptly, as a crashed server would). ``malformed_every``: after every N-th event
    send one of :data:`MALFORMED_FRAMES` (as binary frames when they are not UTF-8).
    ``delay``: seconds to wait before each message. ``refuse_connections``: answer the first
    that many handshakes with HTTP 503. ``zstd_dictionary``: compress with it when asked to.
    ``honour_compress=False``: ignore ``compress=true`` and send plain JSON, as old servers do.
    """

    lines: Iterable[bytes]
    host: str = "127.0.0.1"
    port: int = 0
    close_after: int | None = None
    close_times: int = 1_000_000
    malformed_every: int | None = None
    delay: float = 0.0
    refuse_connections: int = 0
    zstd_dictionary: bytes | None = None
    honour_compress: bool = True
    subscriptions: list[Subscription] = field(default_factory=list)
    _events: list[_Event] = field(default_factory=list, init=False, repr=False)
    _server: Server | None = field(default=None, init=False, repr=False)
    _closed_connections: int = field(default=0, init=False)
    _refused: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._events = sorted((_parse(line) for line in self.lines), key=lambda e: e.time_us)
        dict_data = (
            zstandard.ZstdCompressionDict(self.zstd_dictionary) if self.zstd_dictionary else None
        )
        self._compressor = zstandard.ZstdCompressor(level=3, dict_data=dict_data)

    @property
    def url(self) -> str:
        assert self._server is not None, "server is not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://{self.host}:{port}/subscribe"

    async def start(self) -> str:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            compression=None,
            process_request=self._process_request,
        )
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        if self._refused < self.refuse_connections:
            self._refused += 1
            return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, "overloaded, try later\n")
        return None

    async def _subscription(self, ws: ServerConnection) -> Subscription:
        assert ws.request is not None
        path = ws.request.path
        query = parse_qs(urlsplit(path).query)
        cursor = query.get("cursor", [""])[0]
        sub = Subscription(
            path=path,
            collections=query.get("wantedCollections", []),
            dids=query.get("wantedDids", []),
            cursor=int(cursor) if cursor.isdigit() else None,
            compress=query.get("compress", ["false"])[0] == "true",
        )
        size = query.get("maxMessageSizeBytes", ["0"])[0]
        sub.max_message_bytes = int(size) if size.isdigit() else 0
        if query.get("requireHello", ["false"])[0] == "true":
            hello = orjson.loads(await ws.recv())
            if hello.get("type") == "options_update":
                options = hello.get("payload") or {}
                sub.collections = list(options.get("wantedCollections") or sub.collections)
                sub.dids = list(options.get("wantedDids") or [])
                limit = options.get("maxMessageSizeBytes")
                sub.max_message_bytes = limit if isinstance(limit, int) and limit > 0 else 0
        self.subscriptions.append(sub)
        return sub

    def _selected(self, sub: Subscription) -> list[_Event]:
        dids = set(sub.dids)
        return [
            event
            for event in self._events
            if (sub.cursor is None or event.time_us >= sub.cursor)
            and (event.kind != "commit" or _wanted(event.collection, sub.collections))
            and (not dids or event.did in dids)
            and (not sub.max_message_bytes or len(event.line) <= sub.max_message_bytes)
        ]

    async def _handle(self, ws: ServerConnection) -> None:
        try:
            sub = await self._subscription(ws)
            drop_at = None
            if self.close_after is not None and self._closed_connections < self.close_times:
                drop_at = self.close_after
            for sent_events, event in enumerate(self._selected(sub), start=1):
                if drop_at is not None and sub.sent >= drop_at:
                    self._closed_connections += 1
                    ws.transport.abort()
                    return
                await self._send(ws, sub, event.line)
                if self.malformed_every and sent_events % self.malformed_every == 0:
                    bad = MALFORMED_FRAMES[(sent_events // self.malformed_every - 1) % 4]
                    await self._send(ws, sub, bad)
            await ws.wait_closed()
        except ConnectionClosed:
            return

    async def _send(self, ws: ServerConnection, sub: Subscription, frame: bytes) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if sub.compress and self.honour_compress:
            await ws.send(self._compressor.compress(frame))
        else:
            try:
                await ws.send(frame.decode())
            except UnicodeDecodeError:
                await ws.send(frame)
        sub.sent += 1


@contextlib.contextmanager
def spawned(
    events: int, seed: int, log: Path | None = None, recorded: Path | None = None
) -> Iterator[str]:
    """This script as a separate process (so a test can kill its peer freely); yields its URL.

    It serves ``events`` generated events, or the ``recorded`` capture's when one is named."""
    root = Path(__file__).resolve().parents[2]
    stderr = log.open("wb") if log is not None else subprocess.DEVNULL
    what = ["--file", str(recorded)] if recorded else ["--generate", str(events)]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.jetstream_server",
            "--port",
            "0",
            *what,
            "--seed",
            str(seed),
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().decode().strip()
        if not url.startswith("ws://"):
            raise RuntimeError(f"jetstream server did not start; see {log or 'its stderr'}")
        yield url
    finally:
        server.kill()
        server.wait()


def _load_lines(args: argparse.Namespace) -> list[bytes]:
    if args.file:
        return [line for line in Path(args.file).read_bytes().splitlines() if line.strip()]
    from hubbub.connectors.bluesky.workload import jetstream_events

    return jetstream_events(args.generate, seed=args.seed)


async def _main(args: argparse.Namespace) -> None:
    server = JetstreamServer(
        _load_lines(args),
        port=args.port,
        close_after=args.close_after,
        malformed_every=args.malformed_every,
        delay=1.0 / args.rate if args.rate else 0.0,
    )
    url = await server.start()
    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry: serve generated or recorded events until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--generate", type=int, default=1000, help="synthetic post events")
    source.add_argument("--file", help="JSON lines file of recorded events")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0, help="events per second (0: fast)")
    parser.add_argument("--close-after", type=int, default=None)
    parser.add_argument("--malformed-every", type=int, default=None)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
