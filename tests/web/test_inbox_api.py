"""The conversations API: filters, keyset pages, problem+json refusals, roles, writes audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from hubbub.accounts.actions import create_token
from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.inbox.actions import assign, create_queue, set_status
from hubbub.inbox.models import Conversation, Note, OutboundReply
from hubbub.listening.actions import add_topic
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import member, open_conversation, session_cookie

pytestmark = pytest.mark.db

API = "/api/v1/w/acme/conversations"
TEXTS = [
    "@acme.bsky.social where is my refund? ordered two weeks ago",
    "@acme.bsky.social my rocket skates broke on day one, terrible",
    "@acme.bsky.social how do I pair the skates with the app?",
    "@acme.bsky.social love the new colours",
    "@acme.bsky.social can I buy spare wheels somewhere?",
    "@acme.bsky.social the refund form gives an error",
    "@acme.bsky.social still waiting for an answer",
    "@acme.bsky.social do you ship to Canada?",
    "@acme.bsky.social skates arrived scratched",
    "@acme.bsky.social any discount for students?",
    "@acme.bsky.social app crashes when I open settings",
    "@acme.bsky.social thanks for the quick delivery",
]


@dataclass
class Inbox:
    ids: list[int]  # conversation ids, in opening order
    agent_id: int
    tokens: dict[str, str]  # role → token of acme


@pytest.fixture
def inbox(engine: Engine, settings: Settings, workspace_id: int, owner_id: int) -> Inbox:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "refunds", "refund", "other")
    ids = [
        open_conversation(engine, settings, workspace_id, 100 + n, text)
        for n, text in enumerate(TEXTS)
    ]
    agent_id = member(engine, workspace_id, Role.AGENT, "agent@acme.example")
    tokens: dict[str, str] = {}
    with transaction(engine) as session:
        for role in (Role.VIEWER, Role.AGENT):
            tokens[role.value] = create_token(session, workspace_id, role, f"{role} api")[1]
    return Inbox(ids, agent_id, tokens)


@pytest.fixture
def api(app: FastAPI, inbox: Inbox) -> Iterator[TestClient]:
    """An agent's API token."""
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {inbox.tokens['agent']}"
        yield client


def _ids(client: TestClient, query: str = "") -> list[int]:
    response = client.get(f"{API}?{query}")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _all_pages(client: TestClient, query: str, limit: int) -> tuple[list[int], int]:
    seen: list[int] = []
    pages = 0
    url: str | None = f"{API}?{query}&limit={limit}"
    while url is not None:
        body = client.get(url).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        url = body["next"]
    return seen, pages


def test_lists_highest_priority_first_with_root_posts(api: TestClient, inbox: Inbox) -> None:
    body = api.get(API).json()
    assert {item["id"] for item in body["items"]} == set(inbox.ids)
    priorities = [item["priority"] for item in body["items"]]
    assert priorities == sorted(priorities, reverse=True)
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first["root"]["text"] in TEXTS and first["status"] == "new"


def test_the_list_serialises_exactly_as_its_documented_models(
    api: TestClient, engine: Engine, inbox: Inbox
) -> None:
    """The list is built without pydantic for speed; it must be byte for byte what
    ``ConversationList`` (the OpenAPI schema) makes of the same conversations."""
    from hubbub.web.inbox_api import ConversationList, ConversationOut, _roots

    with transaction(engine) as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id == inbox.ids[0])
            .values(first_responded_at=Conversation.created_at)
        )
    raw = api.get(f"{API}?limit=5").content
    body = ConversationList.model_validate_json(raw)
    with transaction(engine) as session:
        found = [session.get(Conversation, item.id) for item in body.items]
        assert len(found) == 5 and all(found)
        roots = _roots(session, found)
        expected = ConversationList(
            items=[ConversationOut.of(c, roots.get(c.root_post_id)) for c in found if c],
            next_cursor=body.next_cursor,
            next=body.next,
        ).model_dump_json()
    assert raw.decode() == expected


def test_filters(
    api: TestClient, engine: Engine, workspace_id: int, owner_id: int, inbox: Inbox
) -> None:
    with transaction(engine) as session:
        found = {c.id: c for c in session.scalars(select(Conversation))}
        set_status(session, found[inbox.ids[0]], "resolved")
        assign(session, found[inbox.ids[1]], inbox.agent_id)
        create_queue(session, workspace_id, "billing", [owner_id])
    api.post(f"{API}/{inbox.ids[2]}/assign", json={"queue": "billing"})

    assert _ids(api, "status=resolved") == [inbox.ids[0]]
    assert inbox.ids[0] not in _ids(api, "status=new")
    assert _ids(api, f"assignee={inbox.agent_id}") == [inbox.ids[1]]
    assert _ids(api, "queue=billing") == [inbox.ids[2]]
    unassigned = set(_ids(api, "assignee=none"))
    assert unassigned == set(inbox.ids) - {inbox.ids[1], inbox.ids[2]}
    assert set(_ids(api, "network=bluesky")) == set(inbox.ids)
    assert _ids(api, "network=mastodon") == []
    # Text in any post, case-insensitive; a LIKE wildcard is taken literally.
    assert set(_ids(api, "q=REFUND")) == {inbox.ids[0], inbox.ids[5]}
    assert _ids(api, "q=%25") == []
    # The topic "refunds" matched exactly the two posts saying "refund".
    assert set(_ids(api, "topic=refunds")) == {inbox.ids[0], inbox.ids[5]}
    everything = api.get(f"{API}?limit=200").json()["items"]
    middle = sorted(item["priority"] for item in everything)[len(everything) // 2]
    assert set(_ids(api, f"priority_min={middle}")) == {
        item["id"] for item in everything if item["priority"] >= middle
    }
    intents = {
        item["id"]: next(
            p["value"] for p in item["priority_explanation"] if p["factor"] == "intent"
        )
        for item in everything
    }
    for label in set(intents.values()):
        expected = {cid for cid, value in intents.items() if value == label}
        assert set(_ids(api, f"intent={label}")) == expected, label
    # Filters combine.
    assert _ids(api, "q=refund&status=new") == [inbox.ids[5]]


def test_assignee_me_is_the_signed_in_user(
    app: FastAPI, engine: Engine, settings: Settings, inbox: Inbox, api: TestClient
) -> None:
    with transaction(engine) as session:
        assign(session, session.get_one(Conversation, inbox.ids[3]), inbox.agent_id)
    with TestClient(app, base_url="http://127.0.0.1") as browser:
        browser.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, inbox.agent_id))
        assert _ids(browser, "assignee=me") == [inbox.ids[3]]
    refused = api.get(f"{API}?assignee=me")  # a token has no user to be
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "assignee"


@pytest.mark.parametrize("sort", ["priority", "waiting"])
def test_pages_cover_everything_once_even_with_ties(
    api: TestClient, engine: Engine, inbox: Inbox, sort: str
) -> None:
    with transaction(engine) as session:  # half of them tie on priority
        session.execute(
            update(Conversation).where(Conversation.id.in_(inbox.ids[::2])).values(priority=42.5)
        )
    seen, pages = _all_pages(api, f"sort={sort}", 5)
    assert sorted(seen) == sorted(inbox.ids) and len(seen) == len(set(seen))
    assert pages == 3
    if sort == "waiting":
        items = api.get(f"{API}?sort=waiting&limit=200").json()["items"]
        waited = [item["last_customer_post_at"] for item in items]
        assert waited == sorted(waited)


def test_pages_stay_stable_when_conversations_arrive(
    api: TestClient, engine: Engine, settings: Settings, workspace_id: int, inbox: Inbox
) -> None:
    first = api.get(f"{API}?sort=waiting&limit=4").json()
    newer = open_conversation(engine, settings, workspace_id, 500, "@acme.bsky.social hello?")
    seen = [item["id"] for item in first["items"]]
    url = first["next"]
    while url is not None:
        body = api.get(url).json()
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
    opened = [*inbox.ids, newer]
    assert seen == sorted(seen, key=opened.index)
    assert sorted(seen) == sorted([*inbox.ids, newer])


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("assignee=somebody", 400, "assignee"),
        ("queue=nope", 400, "queue"),
        ("topic=nope", 400, "topic"),
        ("network=nosuch", 400, "network"),  # not an empty page (docs/web.md)
        ("cursor=not-a-cursor", 400, "cursor"),
        ("status=maybe", 422, "status"),
        ("intent=anger", 422, "intent"),
        ("limit=0", 422, "limit"),
        ("limit=201", 422, "limit"),
        ("priority_min=nan", 422, "priority_min"),
        ("sort=random", 422, "sort"),
    ],
)
def test_bad_filters_are_problems(api: TestClient, query: str, status: int, field: str) -> None:
    response = api.get(f"{API}?{query}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["errors"][0]["field"] == field


def test_a_nul_in_the_text_filter_is_refused(api: TestClient) -> None:
    response = api.get(f"{API}?q=a%00b")  # PostgreSQL text cannot hold NUL
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]


def test_a_cursor_is_refused_under_another_sort(api: TestClient) -> None:
    cursor = api.get(f"{API}?limit=2").json()["next_cursor"]
    assert cursor
    response = api.get(f"{API}?limit=2&sort=waiting&cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_one_conversation_with_posts_notes_and_replies(api: TestClient, inbox: Inbox) -> None:
    cid = inbox.ids[1]
    note = api.post(f"{API}/{cid}/notes", json={"body": "<b>check</b>\nthe batch"})
    assert note.status_code == 201 and note.json()["body"] == "<b>check</b>\nthe batch"
    reply = api.post(f"{API}/{cid}/replies", json={"body": "Sorry! DM us your order number."})
    assert reply.status_code == 201 and reply.json()["state"] == "queued"
    body = api.get(f"{API}/{cid}").json()
    assert [p["post"]["text"] for p in body["posts"]] == [TEXTS[1]]
    assert body["posts"][0]["ours"] is False and body["root"]["text"] == TEXTS[1]
    assert [n["id"] for n in body["notes"]] == [note.json()["id"]]
    assert [r["id"] for r in body["replies"]] == [reply.json()["id"]]
    # A topic matched the refund question, so its post carries its enrichment; not this one.
    assert body["posts"][0]["post"]["enrichment"] is None
    matched = api.get(f"{API}/{inbox.ids[0]}").json()["posts"][0]["post"]["enrichment"]
    assert matched["sentiment"] in ("negative", "neutral", "positive")
    assert matched["intents"] and matched["per_topic"] == []


def test_writes_go_through_the_actions_and_are_audited(
    api: TestClient, engine: Engine, inbox: Inbox
) -> None:
    cid = inbox.ids[4]
    done = api.post(f"{API}/{cid}/status", json={"status": "waiting"})
    assert done.status_code == 200 and done.json()["status"] == "waiting"
    assigned = api.post(f"{API}/{cid}/assign", json={"assignee_user_id": inbox.agent_id})
    assert assigned.json()["assignee_user_id"] == inbox.agent_id
    # Unassigning is said with null; a body that names no target, or a field the API does not
    # know (a typo), is refused rather than read as "nobody".
    for unclear in ({}, {"assignee": inbox.agent_id}):
        refused = api.post(f"{API}/{cid}/assign", json=unclear)
        assert refused.status_code == 422, unclear
    assert refused.json()["errors"][0]["field"] == "assignee"
    empty = api.post(f"{API}/{cid}/assign", json={}).json()
    assert empty["detail"].startswith("body: Value error, give assignee_user_id")
    garbled = api.post(
        f"{API}/{cid}/assign", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert garbled.status_code == 422 and garbled.json()["detail"].startswith("body: JSON")
    assert api.get(f"{API}/{cid}").json()["assignee_user_id"] == inbox.agent_id
    unassigned = api.post(f"{API}/{cid}/assign", json={"assignee_user_id": None})
    assert unassigned.json()["assignee_user_id"] is None
    api.post(f"{API}/{cid}/notes", json={"body": "looked at it"})
    api.post(f"{API}/{cid}/replies", json={"body": "On it."})
    with transaction(engine) as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.actor_token_id).where(
                AuditEntry.target == f"conversation:{cid}", AuditEntry.action != "conversation.open"
            )
        ).all()
    actions = [action for action, _token in entries]
    assert actions == [
        "conversation.status",
        "conversation.assign",
        "conversation.assign",
        "conversation.note",
        "conversation.reply",
    ]
    assert all(token is not None for _action, token in entries)


def test_refused_writes_are_problems(api: TestClient, inbox: Inbox) -> None:
    cid = inbox.ids[0]
    for path, body, status in [
        ("status", {"status": "closed"}, 422),
        ("assign", {"assignee_user_id": 999999}, 400),  # not a teammate
        ("assign", {"assignee_user_id": 1, "queue": "billing"}, 422),
        ("assign", {"queue": "nope"}, 400),
        ("notes", {"body": "   "}, 400),
        ("notes", {"body": "a\x00b"}, 400),  # refused before any route (web.guards)
        ("replies", {"body": ""}, 422),
    ]:
        response = api.post(f"{API}/{cid}/{path}", json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    spam = api.post(f"{API}/{cid}/status", json={"status": "spam"})
    assert spam.status_code == 200
    refused = api.post(f"{API}/{cid}/replies", json={"body": "hello"})
    assert refused.status_code == 400 and "spam" in refused.json()["detail"]


def test_a_reply_too_long_for_the_network_is_a_problem_when_queued(
    api: TestClient, engine: Engine, inbox: Inbox
) -> None:
    cid = inbox.ids[1]
    refused = api.post(f"{API}/{cid}/replies", json={"body": "z" * 301})  # Bluesky takes 300
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    detail = refused.json()["detail"]
    assert "at most 300" in detail and "has 301" in detail
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboundReply)) == 0
    assert api.post(f"{API}/{cid}/replies", json={"body": "z" * 300}).status_code == 201
    # Bluesky counts graphemes: 300 thumbs with a skin tone are 600 code points, and fit.
    thumbs = api.post(f"{API}/{inbox.ids[4]}/replies", json={"body": "\U0001f44d\U0001f3fd" * 300})
    assert thumbs.status_code == 201, thumbs.text
    families = api.post(
        f"{API}/{inbox.ids[5]}/replies",
        json={"body": "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 200},
    )
    assert families.status_code == 400  # 200 graphemes, but 3,600 bytes: past the 3,000 cap


def test_the_idempotency_key_queues_a_reply_once(
    api: TestClient, engine: Engine, inbox: Inbox
) -> None:
    cid = inbox.ids[2]
    headers = {"Idempotency-Key": "client-key-1"}
    first = api.post(f"{API}/{cid}/replies", json={"body": "Once."}, headers=headers)
    again = api.post(f"{API}/{cid}/replies", json={"body": "Once."}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = api.post(f"{API}/{inbox.ids[3]}/replies", json={"body": "x"}, headers=headers)
    assert other.status_code == 400
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(OutboundReply).where(OutboundReply.body == "Once.")
        )
    assert count == 1
    # The key goes in the header: in the body it is a field the API does not know, refused.
    in_body = api.post(f"{API}/{cid}/replies", json={"body": "Twice?", "idempotency_key": "k"})
    assert in_body.status_code == 422 and "idempotency_key" in in_body.text


def test_a_viewer_lists_but_cannot_write(app: FastAPI, engine: Engine, inbox: Inbox) -> None:
    cid = inbox.ids[0]
    with TestClient(app, base_url="http://127.0.0.1") as viewer:
        viewer.headers["Authorization"] = f"Bearer {inbox.tokens['viewer']}"
        assert viewer.get(API).status_code == 200
        assert viewer.get(f"{API}/{cid}").status_code == 200
        for path, body in [
            ("status", {"status": "open"}),
            ("assign", {"assignee_user_id": None}),
            ("notes", {"body": "no"}),
            ("replies", {"body": "no"}),
        ]:
            response = viewer.post(f"{API}/{cid}/{path}", json=body)
            assert response.status_code == 403, path
            assert response.headers["content-type"] == "application/problem+json"
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Note)) == 0
        assert session.get_one(Conversation, cid).status == "new"


def test_another_workspaces_conversations_are_404(
    api: TestClient, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    theirs = open_conversation(engine, settings, globex, 900, "@acme.bsky.social globex here")
    assert theirs not in _ids(api, "limit=200")
    for response in (
        api.get(f"{API}/{theirs}"),
        api.post(f"{API}/{theirs}/status", json={"status": "spam"}),
        api.post(f"{API}/{theirs}/notes", json={"body": "peek"}),
        api.get("/api/v1/w/globex/conversations"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    with transaction(engine) as session:
        assert session.get_one(Conversation, theirs).status == "new"


def test_many_requests_at_once_on_a_small_pool_all_finish(
    settings: Settings, db_url: str, inbox: Inbox
) -> None:
    """Reads in the event loop use the loop's own connection: if they waited for the shared
    pool, whose connections requests hand back on the loop, the loop could wait forever (seen
    in the web benchmark as 270 s stalls ending in 500s). Two pooled connections, 48 requests
    at once, routes run in the loop and in worker threads: every one answers, quickly."""
    import asyncio

    import httpx

    from hubbub.store.engine import make_engine
    from hubbub.web.app import create_app

    engine = make_engine(db_url, connections=2)
    app = create_app(settings, engine)
    headers = {"Authorization": f"Bearer {inbox.tokens['agent']}"}
    paths = [API, f"{API}?sort=waiting", f"{API}?q=refund", f"{API}?topic=refunds"]
    paths += ["/api/v1/w/acme/posts", f"{API}/{inbox.ids[0]}"]

    async def all_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers
        ) as client:
            answers = await asyncio.wait_for(
                asyncio.gather(*(client.get(paths[n % len(paths)]) for n in range(48))), 20
            )
        return [answer.status_code for answer in answers]

    try:
        assert asyncio.run(all_at_once()) == [200] * 48
    finally:
        engine.dispose()
