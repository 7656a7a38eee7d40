"""The demo's stand-in Mastodon server: an inbox reply reaches it once, through the real
reply path, with Hubbub allowed to reach that one loopback port and no other."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from hubbub.core.clock import utcnow
from hubbub.demo.network import DemoNetwork, connect_demo_account, demo_network_app
from hubbub.inbox import actions, limits, queries
from hubbub.inbox.models import OutboundReply
from hubbub.inbox.outbound import send_reply
from hubbub.settings import Settings
from hubbub.sources.secrets import decrypt_credentials
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.inbox.conftest import ACME_MASTODON, CHEN_STATUS, mastodon_conversation

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"
ANSWER = "So sorry! <script>alert(1)</script> A new pair ships today."


def _serve(network: DemoNetwork) -> Iterator[None]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", int(network.base_url.rsplit(":", 1)[1])))
    server = uvicorn.Server(
        uvicorn.Config(demo_network_app(network), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def network(tmp_path: Path) -> Iterator[DemoNetwork]:
    found = DemoNetwork(f"http://127.0.0.1:{_port()}", "acme", tmp_path / "demo-network.jsonl")
    yield from (found for _ in _serve(found))


@pytest.fixture
def only_that_port(settings: Settings, network: DemoNetwork) -> Settings:
    """As ``hubbub up --demo`` sets it: loopback allowed for the demo network's port only."""
    port = network.base_url.rsplit(":", 1)[1]
    return settings.model_copy(update={"allowed_private_hosts": [f"127.0.0.1:{port}"]})


def _reply(engine: Engine, settings: Settings, workspace_id: int, token: str, base: str) -> int:
    conversation_id = mastodon_conversation(engine, settings, workspace_id, base, token, COMPLAINT)
    with transaction(engine) as session:
        found = queries.conversation(session, workspace_id, conversation_id)
        assert found is not None
        return actions.queue_reply(session, found, ANSWER).id


def test_an_inbox_reply_reaches_the_demo_network_once(
    engine: Engine, workspace_id: int, only_that_port: Settings, network: DemoNetwork
) -> None:
    reply_id = _reply(engine, only_that_port, workspace_id, network.token, network.base_url)
    sent = asyncio.run(send_reply(engine, only_that_port, reply_id))
    assert sent.state == "sent", sent.last_error
    (status,) = network.statuses
    assert sent.remote_id == status["id"] and sent.remote_url == status["url"]
    assert status["url"].startswith(network.base_url + "/@acme/")
    assert network.texts[status["id"]] == f"@chen@mastodon.example {ANSWER}"
    said = limits.server_limits(only_that_port, network.base_url)  # read by the send above
    assert (said.max_chars, said.url_chars) == (500, 23)
    assert said.source == f"the server's own, read from {network.base_url}/api/v2/instance"

    # A retry after a lost answer looks first, finds the status and posts nothing.
    with transaction(engine) as session:
        reply = session.get(OutboundReply, reply_id)
        assert reply is not None
        reply.state, reply.retry_at = "failed", utcnow()
    again = asyncio.run(send_reply(engine, only_that_port, reply_id, now=utcnow() + timedelta(1)))
    assert again.state == "sent" and len(network.statuses) == 1

    page = httpx.get(network.base_url + "/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "1 request(s)" in page
    assert f"in reply to {CHEN_STATUS.format(n=1)}" in page  # the post answered, by its URI
    one = httpx.get(status["url"])
    assert one.status_code == 200 and "A new pair ships today." in one.text


def test_a_repeated_idempotency_key_gets_the_same_status_also_after_a_restart(
    network: DemoNetwork,
) -> None:
    headers = {"Authorization": f"Bearer {network.token}", "Idempotency-Key": "k-1"}
    uri = CHEN_STATUS.format(n=7)
    found = httpx.get(network.base_url + "/api/v2/search", params={"q": uri}, headers=headers)
    parent = found.json()["statuses"][0]["id"]
    body = {"status": "hello", "in_reply_to_id": parent}
    first = httpx.post(network.base_url + "/api/v1/statuses", json=body, headers=headers).json()
    second = httpx.post(network.base_url + "/api/v1/statuses", json=body, headers=headers).json()
    assert first == second and len(network.statuses) == 1
    assert network.requests_for(first["id"]) == 2

    restarted = DemoNetwork(network.base_url, "acme", network.journal, token=network.token)
    assert restarted.statuses == network.statuses and restarted.requests_for(first["id"]) == 2
    assert restarted.parents == {parent: uri}
    assert restarted.post("k-1", "hello", parent) == first

    with network.journal.open("ab") as journal:  # a crash in the middle of writing a line
        journal.write(b'{"key": "k-2", "text": "cut sh')
    mended = DemoNetwork(network.base_url, "acme", network.journal)
    assert mended.statuses == network.statuses
    later = mended.post("k-3", "after the crash", None)
    assert DemoNetwork(network.base_url, "acme", network.journal).statuses[-1] == later


def test_wrong_token_and_bad_bodies_are_refused(network: DemoNetwork) -> None:
    url = network.base_url + "/api/v1/statuses"
    assert (
        httpx.post(url, json={"status": "x"}, headers={"Authorization": "Bearer no"}).status_code
        == 401
    )
    good = {"Authorization": f"Bearer {network.token}"}
    assert httpx.post(url, content=b"{", headers=good).status_code == 422
    assert httpx.post(url, json={"status": " "}, headers=good).status_code == 422
    assert httpx.post(url, json={"status": "x" * 501}, headers=good).status_code == 422
    assert httpx.post(url, content=b"x" * 70_000, headers=good).status_code == 413
    assert network.statuses == []


def test_other_loopback_ports_stay_refused(
    engine: Engine, workspace_id: int, only_that_port: Settings, network: DemoNetwork
) -> None:
    elsewhere = f"http://127.0.0.1:{_port()}"
    with pytest.raises(actions.InboxError, match=r"HUBBUB_ALLOWED_PRIVATE_HOSTS|private|loopback"):
        _reply(engine, only_that_port, workspace_id, network.token, elsewhere)


def test_connect_demo_account_points_the_mastodon_account_at_the_network(
    engine: Engine, settings: Settings
) -> None:
    with transaction(engine) as session:
        demo_id = ensure_workspace(session, "demo").id
        actions.add_account(session, settings, demo_id, "mastodon", ACME_MASTODON, "acme@m.example")
    network = connect_demo_account(engine, settings, "http://127.0.0.1:8001")
    assert network.username == "acme" and network.journal.parent == settings.home
    with transaction(engine) as session:
        (account,) = queries.accounts(session, demo_id)
        assert account.service_url == "http://127.0.0.1:8001"
        assert decrypt_credentials(settings, account.credentials) == {"access_token": network.token}
