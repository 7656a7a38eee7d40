"""A scripted feed server on 127.0.0.1: real HTTP, so the connector's own client is exercised."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hubbub.core.items import RawEvent
from hubbub.sources.base import Connector


@dataclass
class Reply:
    """One scripted answer; with ``etag`` set the server answers 304 to a matching If-None-Match."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    delay: float = 0.0


@dataclass
class Seen:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    at: float
    status: int = 0


class FeedServer:
    """Each path plays its replies in order, then repeats the last one."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen = Seen(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()
                )
                with server._lock:
                    server.requests.append(seen)
                    script = server.scripts.get(self.path, [])
                    reply = script.pop(0) if len(script) > 1 else (script[0] if script else None)
                if reply is None:
                    reply = Reply(b"not found", status=404)
                if reply.delay:
                    time.sleep(reply.delay)
                status = reply.status
                if reply.etag is not None and seen.headers.get("if-none-match") == reply.etag:
                    status = 304
                seen.status = status
                try:
                    self.send_response(status)
                    headers = dict(reply.headers)
                    if reply.etag is not None:
                        headers["ETag"] = reply.etag
                    body = b"" if status == 304 else reply.body
                    headers.setdefault("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout, size limit): that is the point

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def script(self, path: str, *replies: Reply) -> str:
        with self._lock:
            self.scripts[path] = list(replies)
        return self.base + path

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if seen.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _run(
    connector: Connector,
    cursor: str | None,
    until: Callable[[list[list[RawEvent]]], bool],
    timeout: float,
) -> list[list[RawEvent]]:
    batches: list[list[RawEvent]] = []
    stream = connector.stream(cursor)

    async def consume() -> None:
        async for batch in stream:
            batches.append(batch)

    task = asyncio.create_task(consume())
    deadline = time.monotonic() + timeout
    try:
        while not until(batches):
            if task.done():
                task.result()  # re-raise: stream() must never end by itself
                raise AssertionError("stream() ended")
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; batches={batches!r}")
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    return batches


def run_until(
    connector: Connector,
    cursor: str | None,
    until: Callable[[list[list[RawEvent]]], bool],
    timeout: float = 15.0,
) -> list[list[RawEvent]]:
    """Run ``connector.stream`` until ``until(batches)`` holds, then cancel it like a host would."""
    return asyncio.run(_run(connector, cursor, until, timeout))
