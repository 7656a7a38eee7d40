"""A Mastodon server on 127.0.0.1 that speaks the REST and SSE streaming API from recorded data.

Tests script it: what each stream connection sends (and how it ends), which REST requests fail
and how, and when statuses are published without being streamed (the gap a disconnect opens).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def sse(event: str, payload: Any) -> bytes:
    """One SSE frame the way Mastodon's streaming server writes it."""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"event: {event}\ndata: {data}\n\n".encode()


class Abort(Exception):
    """Raised inside a streaming body: the connection drops without a clean end."""


@dataclass
class Fault:
    """A scripted REST answer instead of the real one."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: str | None = None


@dataclass
class Logged:
    at: float
    path: str
    query: dict[str, list[str]]


@dataclass
class MastodonState:
    """What the fake server holds; tests mutate it between and during requests."""

    timelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    streams: list[list[tuple[str, Any]]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    rate_remaining: int | None = None
    rate_reset_seconds: float = 1.0
    stream_status: int = 200
    log: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, prefix: str) -> list[Logged]:
        return [entry for entry in self.log if entry.path.startswith(prefix)]


def _page(items: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    """Mastodon paging: newest first; ``min_id`` gives the entries just above it."""
    limit = int(request.query_params.get("limit", "20"))
    ordered = sorted(items, key=lambda s: int(s["id"]))
    min_id = request.query_params.get("min_id")
    if min_id is not None:
        above = [s for s in ordered if int(s["id"]) > int(min_id)]
        return list(reversed(above[:limit]))
    return list(reversed(ordered[-limit:]))


def build_app(state: MastodonState) -> Starlette:
    def log(request: Request) -> None:
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        with state.lock:
            state.log.append(Logged(time.monotonic(), request.url.path, query))

    async def fault(request: Request) -> tuple[bool, Response | None]:
        """(was a fault scripted, the response to send instead of the real one)."""
        with state.lock:
            scripted = state.faults.pop(0) if state.faults else None
        if scripted is None:
            return False, None
        log(request)  # logged on arrival: a slow answer may never be read by the client
        if scripted.delay:
            await asyncio.sleep(scripted.delay)
        if scripted.status == 200 and scripted.body is None:
            return True, None
        return True, Response(scripted.body or "", scripted.status, headers=scripted.headers)

    def rate_headers() -> dict[str, str]:
        if state.rate_remaining is None:
            return {}
        reset = datetime.now(UTC) + timedelta(seconds=state.rate_reset_seconds)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(state.rate_remaining),
            "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
        }

    async def timeline(request: Request) -> Response:
        logged, failed = await fault(request)
        if failed is not None:
            return failed
        path = request.url.path
        if path == "/api/v1/timelines/public":
            key = "public:local" if request.query_params.get("local") == "true" else "public"
        elif path.startswith("/api/v1/timelines/tag/"):
            key = "hashtag:" + path.rsplit("/", 1)[1]
        elif path.startswith("/api/v1/timelines/list/"):
            key = "list:" + path.rsplit("/", 1)[1]
        else:
            key = "notifications"
        items = state.notifications if key == "notifications" else state.timelines.get(key)
        if items is None:
            if not logged:
                log(request)
            return JSONResponse({"error": "Record not found"}, 404)
        with state.lock:
            page = _page(items, request)
        if not logged:
            log(request)  # after the page is cut, so "await_rest" in a stream script is exact
        return JSONResponse(page, headers=rate_headers())

    async def verify(request: Request) -> Response:
        log(request)
        return JSONResponse({"id": "1", "url": "https://example.social/@brand", "acct": "brand"})

    async def streaming(request: Request) -> Response:
        log(request)
        if state.stream_status != 200:
            return JSONResponse({"error": "nope"}, state.stream_status)
        with state.lock:
            script: list[tuple[str, Any]] = (
                state.streams.pop(0) if state.streams else [("hold", 30.0)]
            )
        key = "public"
        if request.url.path.endswith("/hashtag"):
            key = "hashtag:" + request.query_params.get("tag", "")

        async def body() -> AsyncIterator[bytes]:
            yield b":)\n"
            for step, arg in script:
                if step == "send":
                    yield arg
                elif step == "update":
                    with state.lock:
                        state.timelines.setdefault(key, []).append(arg)
                    yield sse("update", json.dumps(arg))
                elif step == "publish":
                    with state.lock:
                        state.timelines.setdefault(key, []).extend(arg)
                elif step == "sleep":
                    await asyncio.sleep(arg)
                elif step == "await_rest":
                    # hold until the client has made ``arg`` REST timeline requests in all
                    deadline = time.monotonic() + 5
                    while len(state.requests("/api/v1/timelines/")) < arg:
                        if time.monotonic() > deadline:
                            raise Abort("the client never backfilled")
                        await asyncio.sleep(0.01)
                elif step == "hold":
                    deadline = time.monotonic() + arg
                    while time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                elif step == "abort":
                    raise Abort("connection dropped mid-stream")
            # falling off the end closes the stream cleanly

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/api/v1/timelines/{rest:path}", timeline),
            Route("/api/v1/notifications", timeline),
            Route("/api/v1/accounts/verify_credentials", verify),
            Route("/api/v1/streaming/{rest:path}", streaming),
        ]
    )


@contextmanager
def running(state: MastodonState) -> Iterator[str]:
    """Serve ``state`` on a free 127.0.0.1 port in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(state), log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=5)
        sock.close()
