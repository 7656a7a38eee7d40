"""A local stand-in for the demo brand's Mastodon server (``hubbub up --demo``).

So that a quick start can answer a complaint from the inbox and watch the reply arrive, with
no account anywhere: the demo's Mastodon account is connected to this server, on loopback.
It answers the calls a Mastodon reply makes (:class:`hubbub.inbox.outbound.MastodonChannel`):
``/api/v2/instance`` (its length limit), ``/api/v2/search`` (the parent's id here),
``verify_credentials``, the account's statuses (the check before a retry) and
``POST /api/v1/statuses`` with Mastodon's ``Idempotency-Key`` rule (a repeated key gets
the status it made, not a second one). ``/`` shows every status received and how many
requests asked for it. Statuses are kept in a JSON-lines file, so a restart still knows them.
"""

from __future__ import annotations

import hashlib
import html
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from hubbub.core.errors import ConfigError
from hubbub.inbox import queries as inbox_queries
from hubbub.inbox.actions import add_account
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import get_workspace

#: The demo brand's account on this server (the demo's own Mastodon account, seen from here).
ACCOUNT_ID = "1"
MAX_STATUS_CHARS = 500
MAX_BODY_BYTES = 65_536


@dataclass
class DemoNetwork:
    """What the server knows: its address, the token it accepts and the statuses it took."""

    base_url: str
    username: str
    journal: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    statuses: list[dict[str, Any]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # status id → the text as sent
    # Id here → URI, of the posts replied to (from the search that resolved each).
    parents: dict[str, str] = field(default_factory=dict)
    # Idempotency key → (status id, POST requests that carried the key).
    keys: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.journal.exists():
            data = self.journal.read_bytes()
            if data and not data.endswith(b"\n"):  # end a cut line, or the next entry would join it
                self._journal_line(b"")
            for line in data.splitlines():
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line cut short by a crash while it was written
                if "status" not in entry:  # a repeated key: one more request, no new status
                    self.keys[entry["key"]][1] += 1
                    continue
                self.statuses.append(entry["status"])
                self.texts[entry["status"]["id"]] = entry["text"]
                if entry.get("parent_uri"):
                    self.parents[str(entry["status"]["in_reply_to_id"])] = entry["parent_uri"]
                self.keys[entry["key"]] = [entry["status"]["id"], 1]

    def account(self) -> dict[str, Any]:
        return {
            "id": ACCOUNT_ID,
            "username": self.username,
            "acct": self.username,
            "display_name": self.username,
            "url": f"{self.base_url}/@{self.username}",
        }

    def post(self, key: str, text: str, in_reply_to_id: str | None) -> dict[str, Any]:
        """The status for this idempotency key: made on first sight, the same one after."""
        known = self.keys.get(key)
        if known is not None:
            known[1] += 1
            self._journal({"key": key})
            return next(s for s in self.statuses if s["id"] == known[0])
        status_id = str(len(self.statuses) + 1)
        status = {
            "id": status_id,
            "uri": f"{self.base_url}/users/{self.username}/statuses/{status_id}",
            "url": f"{self.base_url}/@{self.username}/{status_id}",
            "created_at": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "content": f"<p>{html.escape(text)}</p>",
            "in_reply_to_id": in_reply_to_id,
            "visibility": "public",
            "account": self.account(),
        }
        self.statuses.append(status)
        self.texts[status_id] = text
        self.keys[key] = [status_id, 1]
        parent_uri = self.parents.get(in_reply_to_id or "")
        self._journal({"key": key, "text": text, "status": status, "parent_uri": parent_uri})
        return status

    def _journal(self, entry: dict[str, Any]) -> None:
        self._journal_line(orjson.dumps(entry))

    def _journal_line(self, line: bytes) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("ab") as out:
            out.write(line + b"\n")

    def requests_for(self, status_id: str) -> int:
        return next((count for sid, count in self.keys.values() if sid == status_id), 0)


def remote_id(uri: str) -> str:
    """A status from elsewhere gets a stable id of its own here, as on a real server."""
    return str(10**15 + int(hashlib.sha256(uri.encode()).hexdigest()[:12], 16))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def demo_network_app(network: DemoNetwork) -> Starlette:
    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return secrets.compare_digest(given.encode(), f"Bearer {network.token}".encode())

    async def instance(request: Request) -> Response:
        """The part of Mastodon's instance document a reply's length is checked against."""
        statuses = {"max_characters": MAX_STATUS_CHARS, "characters_reserved_per_url": 23}
        return JSONResponse(
            {
                "domain": request.url.netloc,
                "title": "Hubbub demo network",
                "configuration": {"statuses": statuses},
            }
        )

    async def search(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "The access token is invalid")
        uri = request.query_params.get("q", "")
        if not uri.startswith(("https://", "http://")):
            return JSONResponse({"accounts": [], "statuses": [], "hashtags": []})
        parent = {"id": remote_id(uri), "uri": uri, "url": uri, "content": ""}
        network.parents[parent["id"]] = uri
        return JSONResponse({"accounts": [], "statuses": [parent], "hashtags": []})

    async def verify_credentials(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "The access token is invalid")
        return JSONResponse(network.account())

    async def account_statuses(request: Request) -> Response:
        if request.path_params["account_id"] != ACCOUNT_ID:
            return _error(404, "Record not found")
        return JSONResponse(list(reversed(network.statuses[-40:])))

    async def create_status(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "The access token is invalid")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                return _error(413, f"Request body over {MAX_BODY_BYTES} bytes")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error(422, "Validation failed: the body is not JSON")
        text = body.get("status") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _error(422, "Validation failed: Text can't be blank")
        if len(text) > MAX_STATUS_CHARS:
            return _error(422, f"Validation failed: Text is over {MAX_STATUS_CHARS} characters")
        parent = body.get("in_reply_to_id")
        key = request.headers.get("idempotency-key") or secrets.token_hex(16)
        return JSONResponse(network.post(key, text, str(parent) if parent else None))

    async def timeline(request: Request) -> Response:
        return HTMLResponse(_page(network, network.statuses[::-1]))

    async def one_status(request: Request) -> Response:
        wanted = request.path_params["status_id"]
        found = [s for s in network.statuses if s["id"] == wanted]
        if not found:
            return HTMLResponse(_page(network, []), status_code=404)
        return HTMLResponse(_page(network, found))

    return Starlette(
        routes=[
            Route("/", timeline),
            Route("/@{username}/{status_id}", one_status),
            Route("/api/v2/instance", instance),
            Route("/api/v2/search", search),
            Route("/api/v1/accounts/verify_credentials", verify_credentials),
            Route("/api/v1/accounts/{account_id}/statuses", account_statuses),
            Route("/api/v1/statuses", create_status, methods=["POST"]),
        ]
    )


def _page(network: DemoNetwork, statuses: list[dict[str, Any]]) -> str:
    """Received statuses; every value escaped (a reply's text is anyone's words)."""
    items = "".join(
        "<li><p>{text}</p><p class=m>status {id} · {when} · in reply to {parent} · "
        "{requests} request(s) with its idempotency key</p></li>".format(
            text=html.escape(network.texts.get(s["id"], "")),
            id=html.escape(s["id"]),
            when=html.escape(s["created_at"]),
            parent=html.escape(
                network.parents.get(str(s["in_reply_to_id"]), f"status {s['in_reply_to_id']}")
            ),
            requests=network.requests_for(s["id"]),
        )
        for s in statuses
    )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width'>"
        f"<title>Demo network: @{html.escape(network.username)}</title>"
        "<style>body{font:16px system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem}"
        "li{border-bottom:1px solid #ddd;padding:.5rem 0}.m{color:#666;font-size:.85rem}</style>"
        f"<h1>Demo network: @{html.escape(network.username)}</h1>"
        "<p>A local stand-in for the demo brand's Mastodon server: what Hubbub posted to it.</p>"
        f"<ol reversed>{items or '<li>Nothing received yet.</li>'}</ol></html>"
    )


def connect_demo_account(
    engine: Engine, settings: Settings, base_url: str, workspace_slug: str = "demo"
) -> DemoNetwork:
    """The stand-in server for the demo workspace's Mastodon account, that account pointed
    at ``base_url`` with the server's token (its journal lives in Hubbub's home folder)."""
    with transaction(engine) as session:
        workspace_id = get_workspace(session, workspace_slug).id
        account = next(
            (a for a in inbox_queries.accounts(session, workspace_id) if a.network == "mastodon"),
            None,
        )
        if account is None:
            raise ConfigError(f"the {workspace_slug} workspace has no Mastodon account")
        username = account.handle.lstrip("@").split("@")[0]
        network = DemoNetwork(base_url, username, settings.home / "demo-network.jsonl")
        add_account(
            session,
            settings,
            workspace_id,
            "mastodon",
            account.native_author_id,
            account.handle,
            service_url=base_url,
            secrets={"access_token": network.token},
        )
    return network
