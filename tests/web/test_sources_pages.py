"""Sources page: health of each source (lag, dead letters, errors) for every reader; connecting,
pausing, re-keying and removing for admins, with credentials stored encrypted and never shown."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.core.items import RawEvent
from hubbub.settings import Settings
from hubbub.sources.actions import add_source
from hubbub.sources.ingest import Ingestor, Target
from hubbub.sources.listener import Listener
from hubbub.sources.models import DeadLetter, Source
from hubbub.sources.secrets import decrypt_credentials
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import jsonl_event
from tests.support.http import Reply, serve
from tests.web.conftest import csrf_token, member, session_cookie

pytestmark = pytest.mark.db

FEED = (Path(__file__).parents[1] / "connectors" / "rss" / "fixtures" / "blog_v1.xml").read_bytes()


def _post(client: TestClient, path: str, data: dict[str, str]) -> Response:
    token = csrf_token(client.get("/w/acme/sources").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _sources(engine: Engine, workspace_id: int) -> list[Source]:
    with Session(engine) as session:
        return list(session.scalars(select(Source).where(Source.workspace_id == workspace_id)))


def _audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_an_admin_connects_an_rss_feed_with_only_the_settings_given(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    response = _post(
        client,
        "/w/acme/sources",
        {
            "kind": "rss",
            "name": "Acme blog",
            "cfg.url": "https://blog.acme.example/feed.xml",
            "cfg.interval_seconds": "",
            "cfg.follow_comments": "true",
        },
    )
    assert response.status_code == 303, response.text
    [source] = _sources(engine, workspace_id)
    assert (source.kind, source.name) == ("rss", "Acme blog")
    assert source.config["url"] == "https://blog.acme.example/feed.xml"
    assert source.config["follow_comments"] is True
    assert source.config["interval_seconds"] == 900.0  # left empty: the connector's default
    [entry] = _audit(engine, "source.add")
    assert entry.detail["name"] == "Acme blog"
    page = client.get("/w/acme/sources").text
    assert f'id="source-{source.id}"' in page and "Acme blog" in page


def test_credentials_are_stored_encrypted_never_shown_and_can_be_replaced(
    client: TestClient, engine: Engine, workspace_id: int, settings: Settings
) -> None:
    response = _post(
        client,
        "/w/acme/sources",
        {
            "kind": "mastodon",
            "name": "brand account",
            "cfg.server": "https://social.acme.example",
            "cfg.timelines": "notifications, hashtag:acme",
            "secret.access_token": "tok-FIRST-secret-value",
        },
    )
    assert response.status_code == 303, response.text
    [source] = _sources(engine, workspace_id)
    assert source.config["timelines"] == ["notifications", "hashtag:acme"]
    assert source.credentials and "tok-FIRST" not in source.credentials
    assert decrypt_credentials(settings, source.credentials) == {
        "access_token": "tok-FIRST-secret-value"
    }
    page = client.get("/w/acme/sources").text
    assert "tok-FIRST" not in page and "stored, encrypted" in page

    replaced = _post(
        client,
        f"/w/acme/sources/{source.id}/credentials",
        {"secret.access_token": "tok-SECOND"},
    )
    assert replaced.status_code == 303
    [source] = _sources(engine, workspace_id)
    assert decrypt_credentials(settings, source.credentials) == {"access_token": "tok-SECOND"}
    for action in ("source.add", "source.credentials"):
        [entry] = _audit(engine, action)
        assert entry.detail["secrets"] == ["access_token"]
        assert "tok-" not in str(entry.detail)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://10.1.2.3/feed", "non-public"), ("http://localhost:8080/feed", "this machine")],
)
def test_private_addresses_are_refused_when_connecting_and_the_form_keeps_the_input(
    client: TestClient, engine: Engine, workspace_id: int, url: str, reason: str
) -> None:
    # The test settings allow 127.0.0.1 and localhost for the local protocol servers; a
    # deployment's defaults do not, so the refusal is tested on other names too.
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"allowed_private_hosts": []}
    )
    response = _post(client, "/w/acme/sources", {"kind": "rss", "name": "intranet", "cfg.url": url})
    assert response.status_code == 400
    assert reason in response.text
    assert 'value="intranet"' in response.text and url in response.text
    assert _sources(engine, workspace_id) == []


def test_bad_settings_name_the_field(client: TestClient, engine: Engine, workspace_id: int) -> None:
    response = _post(
        client,
        "/w/acme/sources",
        {
            "kind": "rss",
            "name": "x",
            "cfg.url": "https://a.example/f",
            "cfg.interval_seconds": "soon",
        },
    )
    assert response.status_code == 400 and "interval_seconds" in response.text
    unknown = _post(client, "/w/acme/sources", {"kind": "fax", "name": "x"})
    assert unknown.status_code == 400 and "unknown kind" in unknown.text
    assert _sources(engine, workspace_id) == []


def test_pause_resume_and_remove(client: TestClient, engine: Engine, workspace_id: int) -> None:
    _post(client, "/w/acme/sources", {"kind": "rss", "name": "f", "cfg.url": "https://a.example/f"})
    [source] = _sources(engine, workspace_id)
    assert (
        _post(client, f"/w/acme/sources/{source.id}/enabled", {"enabled": "off"}).status_code == 303
    )
    assert _sources(engine, workspace_id)[0].enabled is False
    assert "Resume" in client.get("/w/acme/sources").text
    _post(client, f"/w/acme/sources/{source.id}/enabled", {"enabled": "on"})
    assert _sources(engine, workspace_id)[0].enabled is True
    assert _post(client, f"/w/acme/sources/{source.id}/remove", {}).status_code == 303
    assert _sources(engine, workspace_id) == []
    # A second click of the same form changes nothing and is no error.
    assert _post(client, f"/w/acme/sources/{source.id}/remove", {}).status_code == 303
    assert len(_audit(engine, "source.remove")) == 1


def test_lag_and_dead_letters_are_shown_per_source(
    client: TestClient, engine: Engine, workspace_id: int, settings: Settings
) -> None:
    with transaction(engine) as session:
        source = Source(workspace_id=workspace_id, kind="rss", name="feed", config={"url": "x"})
        session.add(source)
        session.flush()
        source_id = source.id
    an_hour_ago = (utcnow() - timedelta(hours=1)).isoformat()
    events = [
        jsonl_event(1, text="a post from an hour ago", created_at=an_hour_ago),
        RawEvent(payload=b"{not json", format="jsonl", cursor="2"),
    ]
    result = Ingestor(engine, settings).ingest(Target(workspace_id, source_id), events)
    assert (result.store.stored, result.rejected) == (1, 1)
    page = client.get("/w/acme/sources").text
    card = page.split(f'id="source-{source_id}"', 1)[1].split("</li>", 1)[0]
    assert '<dd class="num lag">60 min</dd>' in card
    assert 'href="/w/acme/deadletters">1</a>' in card


def test_names_and_errors_are_escaped(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        session.add(
            Source(
                workspace_id=workspace_id,
                kind="rss",
                name="<script>alert(1)</script>",
                config={"url": "x"},
                last_error='<img src=x onerror="alert(2)">',
            )
        )
    page = client.get("/w/acme/sources").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page


def test_only_admins_manage_and_other_workspaces_stay_out_of_reach(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
        theirs = Source(workspace_id=other, kind="rss", name="theirs", config={"url": "x"})
        session.add(theirs)
        session.flush()
        their_id = theirs.id
    # Their source, addressed through our workspace: as if it did not exist.
    assert (
        _post(client, f"/w/acme/sources/{their_id}/enabled", {"enabled": "off"}).status_code == 404
    )
    _post(client, f"/w/acme/sources/{their_id}/remove", {})
    _post(client, f"/w/acme/sources/{their_id}/credentials", {"secret.access_token": "x"})
    with Session(engine) as session:
        kept = session.get(Source, their_id)
        assert kept is not None and kept.enabled and kept.credentials is None

    manager = member(engine, workspace_id, Role.MANAGER, "manager@acme.example")
    with TestClient(client.app, base_url="http://127.0.0.1") as as_manager:
        as_manager.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, manager))
        page = as_manager.get("/w/acme/sources")
        assert page.status_code == 200 and "Connect a source" not in page.text
        token = csrf_token(page.text)
        refused = as_manager.post(
            "/w/acme/sources",
            data={"csrf_token": token, "kind": "rss", "name": "f", "cfg.url": "https://a.example/"},
            follow_redirects=False,
        )
        assert refused.status_code == 403
    assert _sources(engine, workspace_id) == []


def test_an_admin_adds_and_removes_a_reply_account_with_its_secret_kept_encrypted(
    client: TestClient, engine: Engine, workspace_id: int, settings: Settings
) -> None:
    from hubbub.inbox.queries import accounts

    form = {
        "network": "mastodon",
        "native_id": "https://social.acme.example/@acme",
        "handle": "acme@social.acme.example",
        "service_url": "https://social.acme.example/",
        "secret.access_token": "tok-REPLY-secret",
    }
    assert _post(client, "/w/acme/accounts", form).status_code == 303
    with Session(engine) as session:
        [account] = accounts(session, workspace_id)
        assert account.service_url == "https://social.acme.example"
        assert decrypt_credentials(settings, account.credentials) == {
            "access_token": "tok-REPLY-secret"
        }
        account_id = account.id
    page = client.get("/w/acme/sources").text
    row = page.split(f'id="account-{account_id}"', 1)[1].split("</tr>", 1)[0]
    assert "acme@social.acme.example" in row and "stored, encrypted" in row
    assert "tok-REPLY" not in page
    [entry] = _audit(engine, "inbox.account")
    assert entry.detail["secrets"] == ["access_token"] and "tok-" not in str(entry.detail)

    wrong = _post(client, "/w/acme/accounts", {**form, "network": "fax"})
    assert wrong.status_code == 400 and "mastodon, bluesky" in wrong.text
    private = _post(client, "/w/acme/accounts", {**form, "service_url": "http://10.0.0.7"})
    assert private.status_code == 400 and "non-public" in private.text

    assert _post(client, f"/w/acme/accounts/{account_id}/remove", {}).status_code == 303
    with Session(engine) as session:
        assert accounts(session, workspace_id) == []
    assert len(_audit(engine, "inbox.account.remove")) == 1


def test_a_running_listener_stores_each_failure_once_and_the_page_shows_it(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """A feed refused for good (404, 410) keeps the precise error its failed fetch stored, at
    that fetch's time, however often the connector retries and logs it; a server that does not
    answer and a name that does not resolve show what the connector logged."""
    settings = settings.model_copy(update={"source_rescan_seconds": 0.1})
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    fast = {"interval_seconds": 0.05, "max_backoff_seconds": 0.2}  # retries while we watch
    with serve({"/gone": Reply(404, b"no"), "/withdrawn": Reply(410, b"no")}) as server:
        urls = {
            "gone": f"{server.base}/gone",
            "withdrawn": f"{server.base}/withdrawn",
            "down": f"http://127.0.0.1:{port}/feed.xml",
            "nowhere": "http://feeds.hubbub-test.invalid/feed.xml",
        }
        with transaction(engine) as session:
            ids = {
                name: add_source(
                    session,
                    settings,
                    workspace_id,
                    "rss",
                    name,
                    {"url": url, **(fast if name != "nowhere" else {})},
                    {},
                ).id
                for name, url in urls.items()
            }

        def stored() -> dict[str, tuple[str | None, datetime | None]]:
            with Session(engine) as session:
                return {
                    name: (source.last_error, source.last_error_at)
                    for name, source_id in ids.items()
                    for source in [session.get_one(Source, source_id)]
                }

        async def scenario() -> dict[str, tuple[str | None, datetime | None]]:
            listener = Listener(engine, settings, workspace_id=None)
            stop = asyncio.Event()
            runner = asyncio.create_task(listener.run(stop))
            deadline = time.monotonic() + 15
            while not all(error for error, _ in stored().values()):
                assert time.monotonic() < deadline, stored()
                await asyncio.sleep(0.05)
            first = stored()
            await asyncio.sleep(1.0)  # many retries, each logged, and ten rescans
            stop.set()
            await asyncio.wait_for(runner, 10)
            return first

        try:
            first = asyncio.run(scenario())
        finally:
            closed.close()
        retried = sum(path.startswith("/gone") for path, _ in server.requests)
    assert retried > 2
    last = stored()
    with Session(engine) as session:
        letters = {
            letter.source_id: letter
            for letter in session.scalars(
                select(DeadLetter).where(DeadLetter.source_id.in_(ids.values()))
            )
        }
    for name, status in (("gone", 404), ("withdrawn", 410)):
        assert last[name] == first[name]
        assert last[name][0] == f"http_status: HTTP {status} from {urls[name]}"
        assert last[name][1] == letters[ids[name]].received_at  # when the fetch was stored
    assert f"cannot reach http://127.0.0.1:{port}/feed.xml" in (last["down"][0] or "")
    assert "cannot resolve feeds.hubbub-test.invalid" in (last["nowhere"][0] or "")

    page = client.get("/w/acme/sources").text
    for name, source_id in ids.items():
        card = page.split(f'id="source-{source_id}"', 1)[1].split("</li>", 1)[0]
        shown = card.split('<span class="error-text">', 1)[1].split("</span>", 1)[0]
        assert shown == escape(last[name][0] or ""), name
