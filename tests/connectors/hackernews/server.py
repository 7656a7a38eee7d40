"""A local stand-in for both Hacker News APIs, speaking real HTTP on 127.0.0.1.

Items are served as the Firebase API documents them (``null`` for unknown ids), the Algolia
``search_by_date`` endpoint filters, orders and paginates like the real one (including its
pagination cap), and faults (429, 5xx, slow or malformed replies) can be queued per path.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """One canned HTTP reply; ``delay`` holds it back to provoke client timeouts."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def story(item_id: int, when: int, by: str = "amira", **extra: Any) -> dict[str, Any]:
    """A story item in the documented Firebase shape."""
    body = {
        "by": by,
        "descendants": 0,
        "id": item_id,
        "kids": [],
        "score": 1,
        "time": when,
        "title": f"Story {item_id} about Hubbub",
        "type": "story",
        "url": f"https://example.com/{item_id}",
    }
    body.update(extra)
    return body


def comment(item_id: int, parent: int, when: int, by: str = "bea") -> dict[str, Any]:
    """A comment item in the documented Firebase shape."""
    return {
        "by": by,
        "id": item_id,
        "parent": parent,
        "text": f"Comment {item_id} &amp; more<p>second paragraph",
        "time": when,
        "type": "comment",
    }


class FakeHN:
    """Serves ``/v0/...`` (Firebase) and ``/api/v1/search_by_date`` (Algolia) from memory."""

    def __init__(self) -> None:
        self.items: dict[int, bytes] = {}
        self.max_item = 0
        self.updates: list[int] = []
        self.new_stories: list[int] = []
        self.hits: list[dict[str, Any]] = []
        self.pagination_cap = 1000
        self.faults: dict[str, deque[Reply]] = {}
        self.outage = 0  # the next N requests without a queued fault get 503
        self.requests: list[str] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.item_delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api(self) -> str:
        return f"{self.base}/v0"

    @property
    def search(self) -> str:
        return f"{self.base}/api/v1"

    def start(self) -> FakeHN:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def put(self, *items: dict[str, Any]) -> None:
        """Store items and raise maxitem to the highest id, as HN does when they are created."""
        with self._lock:
            for item in items:
                self.items[item["id"]] = json.dumps(item).encode()
                self.max_item = max(self.max_item, item["id"])

    def fail(self, path: str, *replies: Reply) -> None:
        """Queue replies that ``path`` returns before its normal answers."""
        with self._lock:
            self.faults.setdefault(path, deque()).extend(replies)

    def count(self, path: str) -> int:
        with self._lock:
            return Counter(urlsplit(r).path for r in self.requests)[path]

    # ------------------------------------------------------------------ routing

    def respond(self, target: str) -> Reply:
        parts = urlsplit(target)
        path = parts.path
        with self._lock:
            self.requests.append(target)
            queued = self.faults.get(path)
            if queued:
                return queued.popleft()
            if self.outage > 0:
                self.outage -= 1
                return Reply(503, b"<html>unavailable</html>")
            if path == "/v0/maxitem.json":
                return Reply(body=str(self.max_item).encode())
            if path == "/v0/updates.json":
                return Reply(body=json.dumps({"items": self.updates, "profiles": []}).encode())
            if path == "/v0/newstories.json":
                return Reply(body=json.dumps(self.new_stories).encode())
            if path.startswith("/v0/item/") and path.endswith(".json"):
                key = path.removeprefix("/v0/item/").removesuffix(".json")
                body = self.items.get(int(key), b"null") if key.isdigit() else b"null"
                return Reply(body=body, delay=self.item_delay)
            if path == "/api/v1/search_by_date":
                return Reply(body=json.dumps(self._search(parse_qs(parts.query))).encode())
        return Reply(404, b'{"error": "Permission denied"}')

    def _search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        words = query.get("query", [""])[0].lower().split()
        per_page = int(query.get("hitsPerPage", ["20"])[0])
        page = int(query.get("page", ["0"])[0])
        bounds = [b for f in query.get("numericFilters", []) for b in f.split(",") if b]

        def keep(hit: dict[str, Any]) -> bool:
            text = " ".join(
                str(hit.get(k) or "") for k in ("title", "url", "story_text", "comment_text")
            ).lower()
            if not all(word in text for word in words):
                return False
            value = hit["created_at_i"]
            for bound in bounds:
                for op in ("<=", ">=", "<", ">", "="):
                    if bound.startswith("created_at_i" + op):
                        limit = int(bound.removeprefix("created_at_i" + op))
                        ok = {
                            "<=": value <= limit,
                            ">=": value >= limit,
                            "<": value < limit,
                            ">": value > limit,
                            "=": value == limit,
                        }[op]
                        if not ok:
                            return False
                        break
            return True

        matched = sorted((h for h in self.hits if keep(h)), key=lambda h: -h["created_at_i"])
        reachable = matched[: self.pagination_cap]
        pages = min(math.ceil(len(matched) / per_page), math.ceil(self.pagination_cap / per_page))
        return {
            "exhaustiveNbHits": True,
            "exhaustiveTypo": True,
            "hits": reachable[page * per_page : (page + 1) * per_page],
            "hitsPerPage": per_page,
            "nbHits": len(matched),
            "nbPages": pages,
            "page": page,
            "params": "",
            "processingTimeMS": 1,
            "query": " ".join(words),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK stall

            def do_GET(self) -> None:
                with fake._lock:
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    reply = fake.respond(self.path)
                    if reply.delay:
                        time.sleep(reply.delay)
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as a timeout test intends
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
