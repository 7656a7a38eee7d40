"""A real webhook receiver on 127.0.0.1 and settings with millisecond backoffs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.security import use_hasher
from hubbub.settings import Settings
from hubbub.webhooks.delivery import DeliveryReport, deliver_due
from hubbub.webhooks.models import WebhookDelivery


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    previous = use_hasher(PasswordHasher.from_parameters(CHEAPEST))
    yield
    use_hasher(previous)


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every POST; the first answers follow ``plan`` ("500", "timeout"), then 200."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    hang_seconds: float = 1.5
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_first(self, *answers: str) -> None:
        self.plan = list(answers)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with found.lock:
                found.requests.append(
                    Received(
                        time.monotonic(),
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                answer = found.plan.pop(0) if found.plan else "200"
            if answer == "timeout":
                time.sleep(found.hang_seconds)
                answer = "200"
            self.send_response(int(answer))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """The test database's settings with backoffs of tens of milliseconds."""
    return settings.model_copy(
        update={
            "webhook_backoff_seconds": 0.05,
            "webhook_backoff_max_seconds": 0.2,
            "webhook_max_attempts": 4,
            "webhook_timeout_seconds": 0.5,
        }
    )


def unsent(engine: Engine) -> int:
    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.state.in_(("pending", "sending")))
            )
            or 0
        )


def drain(engine: Engine, settings: Settings, seconds: float = 15.0) -> DeliveryReport:
    """Run the delivery job until nothing is left to send (retries included)."""
    total = DeliveryReport()
    deadline = time.monotonic() + seconds
    while unsent(engine):
        assert time.monotonic() < deadline, "deliveries still pending"
        report = deliver_due(engine, settings)
        total.delivered += report.delivered
        total.retrying += report.retrying
        total.dead += report.dead
        time.sleep(0.01)
    return total
