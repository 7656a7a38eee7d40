"""Local servers speaking the Mastodon REST API and Bluesky's XRPC endpoints used for replies.

Each records every request it receives and keeps what was posted, so a test can count posts.
Responses are the recorded real payloads (../shared/data) with only ids and text replaced.
Tests script faults: accept a post and then answer too late (the client times out after the
server has made the post), answer 429 with limit headers, or refuse the credentials. The
Mastodon server's instance documents (``/api/v2/instance``, ``/api/v1/instance``) are
mastodon.social's as recorded, with the reply length limit a test sets.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from hubbub.inbox import limits
from tests.support.data import shared_path


def _load(*parts: str) -> Any:
    return json.loads(shared_path(*parts).read_text(encoding="utf-8"))


def _recorded(cassette: str) -> Any:
    """The body of a recorded response (a VCR cassette of Mastodon.py's tests)."""
    path = shared_path("mastodon", "recorded_responses", f"{cassette}.yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return json.loads(data["interactions"][0]["response"]["body"]["string"])


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeNetwork:
    """State shared by the handler threads and the test."""

    base: str = ""
    requests: list[Seen] = field(default_factory=list)
    #: What the next create requests do, in order: "ok", "hang" (store, then answer too late),
    #: "429", "401", "422" (Mastodon only). When empty, "ok".
    faults: list[str] = field(default_factory=list)
    hang_seconds: float = 6.0  # three times the tests' client timeout
    limit_headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def next_fault(self) -> str:
        with self.lock:
            return self.faults.pop(0) if self.faults else "ok"


@dataclass
class MastodonServer(FakeNetwork):
    token: str = "good-token"
    known: dict[str, dict[str, Any]] = field(default_factory=dict)  # uri → status
    statuses: list[dict[str, Any]] = field(default_factory=list)  # ours, newest first
    account: dict[str, Any] = field(default_factory=dict)
    next_id: int = 110000000000000001
    #: ``configuration.statuses.max_characters`` and ``characters_reserved_per_url`` served.
    max_characters: int = 500
    characters_reserved_per_url: int = 23
    #: The instance documents served: ("v1",) is a server older than Mastodon 4.0, () one
    #: with neither (404), as a server that is no Mastodon.
    instance_versions: tuple[str, ...] = ("v2", "v1")
    #: The v1 document as before Mastodon 3.5 and in Pleroma: a top-level ``max_toot_chars``.
    old_v1: bool = False
    #: Instance documents answered with this status instead (503: down for maintenance)…
    instance_status: int | None = None
    #: …or this many seconds late.
    instance_delay: float = 0.0

    def instance(self, version: str) -> dict[str, Any]:
        document: dict[str, Any] = copy.deepcopy(
            _recorded("test_entity_instancev2" if version == "v2" else "test_entity_instance")
        )
        statuses = document["configuration"]["statuses"]
        statuses["max_characters"] = self.max_characters
        statuses["characters_reserved_per_url"] = self.characters_reserved_per_url
        if version == "v1" and self.old_v1:
            del document["configuration"]
            document["max_toot_chars"] = self.max_characters
        return document

    def know(self, uri: str, local_id: str) -> None:
        """A status the server can resolve (search with ``resolve=true``)."""
        status = copy.deepcopy(
            _load("mastodon", "api_docs_examples", "entities", "Status__00.json")
        )
        status.update(id=local_id, uri=uri, url=uri)
        self.known[uri] = status


@dataclass
class BlueskyServer(FakeNetwork):
    did: str = "did:plc:acmebrand000000000000000"
    handle: str = "acme.bsky.social"
    password: str = "app-pass-1234"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # rkey → record
    #: How many getRecord reads still miss a record that exists (a lagging read replica).
    stale_reads: int = 0


def _reply(
    handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]
) -> None:
    body = json.dumps(payload).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up waiting; the work is done all the same


def _mastodon(state: MastodonServer, seen: Seen, handler: BaseHTTPRequestHandler) -> None:
    version = seen.path.removeprefix("/api/").removesuffix("/instance")
    if seen.method == "GET" and seen.path.endswith("/instance") and version in ("v1", "v2"):
        time.sleep(state.instance_delay)
        if state.instance_status is not None:
            _reply(handler, state.instance_status, {"error": "Unavailable"}, {})
        elif version in state.instance_versions:  # public: no token needed
            _reply(handler, 200, state.instance(version), {})
        else:
            _reply(handler, 404, {"error": "Record not found"}, {})
        return
    if seen.headers.get("Authorization") != f"Bearer {state.token}":
        _reply(handler, 401, {"error": "The access token is invalid"}, {})
        return
    if seen.method == "GET" and seen.path == "/api/v2/search":
        uri = seen.query.get("q", [""])[0]
        found = [state.known[uri]] if uri in state.known else []
        _reply(handler, 200, {"accounts": [], "statuses": found, "hashtags": []}, {})
    elif seen.method == "GET" and seen.path == "/api/v1/accounts/verify_credentials":
        _reply(handler, 200, state.account, {})
    elif seen.method == "GET" and seen.path == f"/api/v1/accounts/{state.account['id']}/statuses":
        with state.lock:
            _reply(handler, 200, list(state.statuses), {})
    elif seen.method == "POST" and seen.path == "/api/v1/statuses":
        fault = state.next_fault()
        if fault == "429":
            _reply(handler, 429, {"error": "Too many requests"}, state.limit_headers)
            return
        if fault == "401":
            _reply(handler, 401, {"error": "The access token was revoked"}, {})
            return
        if fault == "422":
            _reply(handler, 422, {"error": "Validation failed: Text has been posted already"}, {})
            return
        status = copy.deepcopy(
            _load("mastodon", "api_docs_examples", "entities", "Status__00.json")
        )
        with state.lock:
            local_id = str(state.next_id)
            state.next_id += 1
            status.update(
                id=local_id,
                uri=f"{state.base}/users/acme/statuses/{local_id}",
                url=f"{state.base}/@acme/{local_id}",
                in_reply_to_id=seen.body.get("in_reply_to_id"),
                content=f"<p>{escape(seen.body['status'])}</p>",
                account=state.account,
            )
            state.statuses.insert(0, status)
        if fault == "hang":
            time.sleep(state.hang_seconds)
        _reply(handler, 200, status, {})
    else:
        _reply(handler, 404, {"error": "Record not found"}, {})


def _bluesky(state: BlueskyServer, seen: Seen, handler: BaseHTTPRequestHandler) -> None:
    name = seen.path.removeprefix("/xrpc/")
    if name == "com.atproto.server.createSession":
        if seen.body.get("password") != state.password:
            _reply(
                handler,
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                {},
            )
            return
        _reply(
            handler,
            200,
            {"did": state.did, "handle": state.handle, "accessJwt": "jwt-1", "refreshJwt": "r-1"},
            {},
        )
        return
    if seen.headers.get("Authorization") != "Bearer jwt-1":
        _reply(handler, 401, {"error": "AuthenticationRequired"}, {})
        return
    if name == "app.bsky.feed.getPosts":
        post = copy.deepcopy(
            _load("bluesky", "records", "thread_view_post_with_embed_media.json")["thread"]["post"]
        )
        post["uri"] = seen.query["uris"][0]
        _reply(handler, 200, {"posts": [post]}, {})
    elif name == "com.atproto.repo.getRecord":
        rkey = seen.query["rkey"][0]
        with state.lock:
            hidden = state.stale_reads > 0
            if hidden:
                state.stale_reads -= 1
            record = None if hidden else state.records.get(rkey)
        if record is None:
            _reply(
                handler,
                400,
                {"error": "RecordNotFound", "message": f"Could not locate record: {rkey}"},
                {},
            )
            return
        found = copy.deepcopy(_load("bluesky", "records", "post_record.json"))
        found.update(uri=f"at://{state.did}/app.bsky.feed.post/{rkey}", value=record)
        _reply(handler, 200, found, {})
    elif name == "com.atproto.repo.createRecord":
        fault = state.next_fault()
        if fault == "429":
            _reply(handler, 429, {"error": "RateLimitExceeded"}, state.limit_headers)
            return
        rkey = seen.body["rkey"]
        with state.lock:
            if rkey in state.records:
                conflict = True
            else:
                conflict = False
                state.records[rkey] = seen.body["record"]
        if conflict:
            _reply(
                handler, 400, {"error": "InvalidRequest", "message": "Record already exists"}, {}
            )
            return
        if fault == "hang":
            time.sleep(state.hang_seconds)
        _reply(
            handler,
            200,
            {
                "uri": f"at://{state.did}/app.bsky.feed.post/{rkey}",
                "cid": "bafyreifzi5xyrf3c5jw7cci4zrltyl25ik2dboznop4qo4cotcfbyjtita",
            },
            {},
        )
    else:
        _reply(handler, 404, {"error": "MethodNotImplemented"}, {})


@contextmanager
def _serve(state: FakeNetwork, route: Any) -> Iterator[None]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(
                method,
                parts.path,
                parse_qs(parts.query),
                dict(self.headers.items()),
                json.loads(raw) if raw else None,
            )
            with state.lock:
                state.requests.append(seen)
            route(state, seen, self)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def mastodon_server() -> Iterator[MastodonServer]:
    state = MastodonServer()
    state.account = copy.deepcopy(
        _load("mastodon", "api_docs_examples", "entities", "Account__00.json")
    )
    state.account.update(id="4242", username="acme", acct="acme")
    with _serve(state, _mastodon):
        limits.forget(state.base)  # a new server: what an earlier one at that port said is gone
        yield state


@contextmanager
def bluesky_server() -> Iterator[BlueskyServer]:
    state = BlueskyServer()
    with _serve(state, _bluesky):
        yield state
