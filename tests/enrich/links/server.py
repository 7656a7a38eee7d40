"""A real HTTP server on 127.0.0.1 answering HEAD and GET from a script of redirects."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Hop:
    """How one path answers: a status, where it points (redirects), a delay before answering,
    and optionally another status for HEAD (servers that refuse HEAD)."""

    status: int = 200
    location: str | None = None
    delay: float = 0.0
    head_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Redirects:
    routes: dict[str, Hop] = field(default_factory=dict)
    requests: list[tuple[str, str, float]] = field(default_factory=list)  # method, path, when
    base: str = ""
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for _method, path, _when in self.requests]


@contextmanager
def redirect_server(routes: dict[str, Hop] | None = None) -> Iterator[Redirects]:
    script = Redirects(routes=dict(routes or {}))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            script.requests.append((method, self.path, time.monotonic()))
            hop = script.routes.get(self.path, Hop(404))
            if hop.delay:
                time.sleep(hop.delay)
            status = hop.head_status if method == "HEAD" and hop.head_status else hop.status
            body = b"<html>a page body the resolver never needs</html>" * 100
            self.send_response(status)
            if hop.location is not None and status == hop.status:
                self.send_header("Location", hop.location)
            for key, value in hop.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method == "GET":
                # The resolver closes the connection without reading the body, as intended.
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

        def do_HEAD(self) -> None:
            self._answer("HEAD")

        def do_GET(self) -> None:
            self._answer("GET")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    script.port = server.server_address[1]
    script.base = f"http://127.0.0.1:{script.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
