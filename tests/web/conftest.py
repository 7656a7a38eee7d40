"""Web fixtures: the app over a migrated test database, posts put in through the real ingest
service, and (for browser tests) a uvicorn server on 127.0.0.1 plus Debian's Chromium."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pytest
import uvicorn
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from hubbub.accounts.actions import add_member, create_user, start_session
from hubbub.accounts.models import User
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import user_by_email
from hubbub.accounts.security import use_hasher
from hubbub.core.items import RawEvent
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, IngestResult, Target
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE
from tests.support.factories import jsonl_line

CHROMIUM = Path(os.environ.get("HUBBUB_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ingest(
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    events: Sequence[RawEvent],
    source_id: int | None = None,
) -> IngestResult:
    return Ingestor(engine, settings).ingest(Target(workspace_id, source_id), list(events))


def record_event(n: int, **record: Any) -> RawEvent:
    """A jsonl event whose record fields (``author`` included) are replaced as given."""
    line = orjson.loads(jsonl_line(n))
    line.update(record)
    return RawEvent(payload=orjson.dumps(line), format="jsonl", cursor=str(n))


PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Real argon2id at test-sized cost; production parameters: tests/accounts."""
    previous = use_hasher(PasswordHasher.from_parameters(CHEAPEST))
    yield
    use_hasher(previous)


OWNER = "olivia@acme.example"
# One fixed persona per role (their e-mail names the role), for the permission tests.
ROLE_EMAILS = {role: f"{role.value}@acme.example" for role in Role}


def member(engine: Engine, workspace_id: int, role: Role | str, email: str) -> int:
    """The user with ``email`` (created with :data:`PASSWORD` when missing), given ``role`` in
    the workspace; returns the user's id."""
    with transaction(engine) as session:
        user = user_by_email(session, email) or create_user(session, email, PASSWORD)
        add_member(session, workspace_id, user, role)
        return user.id


def session_cookie(engine: Engine, settings: Settings, user_id: int) -> str:
    """A real browser session for the user (what signing in yields, without the password)."""
    with transaction(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        cookie, _ = start_session(session, user, settings)
    return cookie


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form, as a browser does; returns the POST's response."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def owner_id(engine: Engine, workspace_id: int) -> int:
    return member(engine, workspace_id, Role.OWNER, OWNER)


@pytest.fixture
def client(app: FastAPI, engine: Engine, settings: Settings, owner_id: int) -> Iterator[TestClient]:
    """Signed in as the owner of workspace ``acme``."""
    # The app answers loopback Host names only; TestClient's default "testserver" is refused.
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        test_client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, owner_id))
        yield test_client


@pytest.fixture
def owner_cookie(engine: Engine, settings: Settings, owner_id: int) -> str:
    return session_cookie(engine, settings, owner_id)


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def _unavailable(reason: str) -> NoReturn:
    message = f"{reason}; run scripts/ensure-browser"
    if os.environ.get("CI") == "true":
        pytest.fail(f"real-browser tests are required under CI=true: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; never a downloaded browser.

    Per module: Playwright's sync API keeps an event loop running on this thread while it is
    open, and code under test elsewhere calls ``asyncio.run``, which refuses to nest.
    """
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


BRAND_DID = "did:plc:acmebrandaccount00000000"
BRAND_HANDLE = "acme.bsky.social"


def open_conversation(
    engine: Engine, settings: Settings, workspace_id: int, n: int, text: str
) -> int:
    """A post mentioning the workspace's own Bluesky account, opened as a conversation through
    the real inbox actions; returns the conversation's id."""
    from sqlalchemy import select

    from hubbub.inbox.actions import add_account, open_conversations_for
    from hubbub.inbox.queries import accounts
    from hubbub.posts.models import Post

    with transaction(engine) as session:
        if not accounts(session, workspace_id):
            add_account(session, settings, workspace_id, "bluesky", BRAND_DID, BRAND_HANDLE)
    result = ingest(
        engine, settings, workspace_id, [record_event(n, text=text, mentions=[BRAND_HANDLE])]
    )
    assert result.rejected == 0
    with transaction(engine) as session:
        post_id = session.scalar(
            select(Post.id).where(
                Post.workspace_id == workspace_id, Post.native_id == f"bluesky:amira:{n}"
            )
        )
        assert post_id is not None
        opened = open_conversations_for(session, workspace_id, [post_id])
        assert len(opened) == 1
        return opened[0].id
