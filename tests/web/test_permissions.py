"""Every route declares a permission; docs/permissions.md is the matrix and the app obeys it.

The matrix test reads the expected access from the *document* (not from the code's table),
then sends every route as a member of every role (browser session and API token), as an
anonymous client, and as the owner of another workspace; any difference is a leak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from hubbub.accounts.actions import create_token, start_session
from hubbub.accounts.models import User
from hubbub.accounts.permissions import ROLES_ASCENDING, Role
from hubbub.core.items import RawEvent
from hubbub.listening.actions import add_topic
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, permit_of
from hubbub.web.routes import PUBLIC_MOUNTS, permissions_markdown
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import jsonl_event
from tests.web.conftest import ROLE_EMAILS, ingest, member, open_conversation
from tests.web.test_alerts_pages import AlertWorld, holding_playbook, seed_alerts

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
OTHER_NAME = "Globex Corporation"


def test_every_route_declares_exactly_one_permission(app: FastAPI) -> None:
    missing = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            permits = permit_of(route.dependant)
            if len(permits) != 1:
                missing.append(f"{sorted(context.methods or ())} {context.path}: {permits}")
        elif context.path not in PUBLIC_MOUNTS:
            missing.append(f"{context.path}: not an API route and not a known public mount")
    assert missing == [], "routes without exactly one Permit(...) dependency"


def test_permissions_page_is_generated_from_the_code(app: FastAPI) -> None:
    assert DOC.read_text() == permissions_markdown(app), (
        "regenerate docs/permissions.md with hubbub.web.routes.permissions_markdown(create_app(...))"
    )


@dataclass(frozen=True)
class DocRoute:
    method: str
    path: str
    permission: str


def _doc_matrix() -> tuple[list[DocRoute], dict[str, set[str]]]:
    """(routes, permission → roles allowed) parsed from the markdown tables."""
    text = DOC.read_text()
    roles = [r.value for r in ROLES_ASCENDING]
    allowed: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `([\w.-]+)` \| (.+?) \|[^|]*\|$", text, re.M):
        cells = [c.strip() for c in row[1].split("|")]
        if len(cells) == len(roles):
            allowed[row[0]] = {
                role for role, cell in zip(roles, cells, strict=True) if cell == "yes"
            }
    routes = [
        DocRoute(method, path, permission)
        for method, path, permission in re.findall(
            r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| `([\w.-]+)` \|", text, re.M
        )
    ]
    assert routes and allowed
    return routes, allowed


def test_the_parsed_matrix_covers_every_route(app: FastAPI) -> None:
    routes, _ = _doc_matrix()
    documented = {(r.method, r.path) for r in routes}
    actual = {
        (method, str(context.path))
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    assert documented == actual


@dataclass
class Caller:
    """One principal: its label, the role it holds in acme (None: none), how it authenticates."""

    label: str
    role: str | None  # role in acme
    cookie: str | None = None
    csrf: str | None = None
    token: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.cookie is None and self.token is None


@dataclass
class World:
    letter_id: int
    token_id: int
    conversation_id: int
    reply_id: int  # a queued reply of that conversation (retried, discarded, replaced)
    post_id: int  # a post of acme (cascade page)
    author_id: int  # its author (marking)
    enriched_post_id: int  # a post of acme matched by a topic (corrections)
    tokens: dict[str, str]  # role → plaintext token of acme
    users: dict[str, int]  # label → user id
    spare_user_id: int  # a viewer of acme whose role changes and who is removed
    source_id: int  # a source of acme (paused, re-keyed; removing it last is harmless)
    alerts: AlertWorld  # a stored alert, playbooks (one spare to remove), a pending draft


@pytest.fixture
def world(engine: Engine, settings: Settings, workspace_id: int) -> World:
    """acme with one member per role, a dead letter and a token; globex with its own owner."""
    ingest(
        engine, settings, workspace_id, [jsonl_event(1), RawEvent(payload=b"{x", format="jsonl")]
    )
    users = {role.value: member(engine, workspace_id, role, ROLE_EMAILS[role]) for role in Role}
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", OTHER_NAME).id
    users["outsider"] = member(engine, globex, Role.OWNER, "owner@globex.example")
    spare_user_id = member(engine, workspace_id, Role.VIEWER, "spare@acme.example")
    ingest(engine, settings, globex, [RawEvent(payload=b"{globex", format="jsonl")])
    tokens: dict[str, str] = {}
    with transaction(engine) as session:
        for role in Role:
            tokens[role.value] = create_token(session, workspace_id, role, f"{role} token")[1]
        tokens["outsider"] = create_token(session, globex, Role.OWNER, "globex token")[1]
        target, _ = create_token(session, workspace_id, Role.VIEWER, "to revoke")
    from sqlalchemy import select

    from hubbub.sources.models import DeadLetter

    with transaction(engine) as session:
        letter_id = session.scalar(
            select(DeadLetter.id).where(DeadLetter.workspace_id == workspace_id)
        )
    assert letter_id is not None
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
    conversation_id = open_conversation(engine, settings, workspace_id, 90, "help me, skates")
    from hubbub.inbox.actions import queue_reply
    from hubbub.inbox.queries import conversation

    with transaction(engine) as session:
        found = conversation(session, workspace_id, conversation_id)
        assert found is not None
        reply_id = queue_reply(session, found, "matrix world reply").id
    from hubbub.posts.models import Post

    with transaction(engine) as session:
        post = session.execute(
            select(Post.id, Post.author_id).where(Post.workspace_id == workspace_id).limit(1)
        ).first()
    assert post is not None
    from hubbub.listening.models import PostEnrichment

    with transaction(engine) as session:
        enriched_post_id = session.scalar(
            select(PostEnrichment.post_id).where(PostEnrichment.workspace_id == workspace_id)
        )
    assert enriched_post_id is not None
    from hubbub.sources.actions import add_source

    with transaction(engine) as session:
        config = {"server": "https://social.acme.example"}
        source_id = add_source(
            session, settings, workspace_id, "mastodon", "matrix source", config, {}
        ).id
    return World(
        letter_id=letter_id,
        token_id=target.id,
        conversation_id=conversation_id,
        reply_id=reply_id,
        post_id=post.id,
        author_id=post.author_id,
        enriched_post_id=enriched_post_id,
        tokens=tokens,
        users=users,
        spare_user_id=spare_user_id,
        source_id=source_id,
        alerts=seed_alerts(engine, settings, workspace_id),
    )


def _session_caller(engine: Engine, settings: Settings, label: str, user_id: int) -> Caller:
    """A browser session of the user, as signing in makes it."""
    with transaction(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        cookie, web = start_session(session, user, settings)
        csrf = web.csrf_secret
    role = None if label == "outsider" else label
    return Caller(f"session:{label}", role, cookie=cookie, csrf=csrf)


def _send(client: TestClient, caller: Caller, route: DocRoute, world: World) -> Response:
    path = (
        route.path.replace("{slug}", "acme")
        .replace("{letter_id}", str(world.letter_id))
        .replace("{token_id}", str(world.token_id))
        # removing: the topic that POST /topics made (the dashboard's topic must stay)
        .replace("{name}", "matrix" if route.path.endswith("/remove") else "skates")
        .replace("{conversation_id}", str(world.conversation_id))
        .replace("{reply_id}", str(world.reply_id))
        .replace("{user_id}", str(world.spare_user_id))
        .replace("{source_id}", str(world.source_id))
        .replace("{goal_id}", "1")  # removing a goal that may be gone is answered all the same
        .replace("{channel_id}", "1")  # likewise a channel
        .replace("{alert_id}", str(world.alerts.alert_id))
        .replace("{draft_id}", str(world.alerts.draft_id))
        .replace(
            "{playbook_id}",
            str(
                world.alerts.spare_playbook_id
                if route.path.endswith("/remove")
                else world.alerts.playbook_id
            ),
        )
        .replace(
            "{post_id}",
            str(world.enriched_post_id if "correction" in route.path else world.post_id),
        )
    )
    headers: dict[str, str] = {}
    client.cookies.clear()
    if caller.token is not None:
        headers["Authorization"] = f"Bearer {caller.token}"
    elif caller.cookie is not None:
        client.cookies.set(SESSION_COOKIE, caller.cookie)
        headers[CSRF_HEADER] = caller.csrf or ""
    else:  # anonymous browsers carry the double-submit cookie of the sign-in form
        client.cookies.set(CSRF_COOKIE, "anonymous-csrf-value")
        headers[CSRF_HEADER] = "anonymous-csrf-value"
    bodies = {
        ("POST", "/login"): {"data": {"email": "nobody@example.com", "password": "x" * 12}},
        ("POST", "/setup"): {"data": {"email": "late@example.com", "password": "p" * 12}},
        ("POST", "/w/{slug}/tokens"): {"data": {"name": "matrix", "role": "viewer"}},
        ("POST", "/api/v1/w/{slug}/tokens"): {"json": {"name": "matrix", "role": "viewer"}},
        ("POST", "/w/{slug}/topics"): {"data": {"name": "matrix", "rule": "matrix"}},
        ("POST", "/w/{slug}/topics/{name}/edit"): {
            "data": {"rule": "skates", "kind": "brand", "active": "on"}
        },
        ("POST", "/w/{slug}/inbox/{conversation_id}/status"): {"data": {"status": "open"}},
        ("POST", "/w/{slug}/inbox/{conversation_id}/notes"): {"data": {"body": "matrix note"}},
        ("POST", "/w/{slug}/inbox/{conversation_id}/assign"): {"data": {"assignee": ""}},
        ("POST", "/w/{slug}/inbox/{conversation_id}/replies"): {"data": {"body": "matrix"}},
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/status"): {
            "json": {"status": "open"}
        },
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/notes"): {
            "json": {"body": "matrix note"}
        },
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/assign"): {
            "json": {"assignee_user_id": None}
        },
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/replies"): {
            "json": {"body": "matrix"}
        },
        # The first role allowed changes the reply; the next ones get 409 (answered, allowed).
        ("POST", "/w/{slug}/inbox/{conversation_id}/replies/{reply_id}/retry"): {"data": {}},
        ("POST", "/w/{slug}/inbox/{conversation_id}/replies/{reply_id}/discard"): {"data": {}},
        ("POST", "/w/{slug}/inbox/{conversation_id}/replies/{reply_id}/replace"): {
            "data": {"body": "matrix edit"}
        },
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/replies/{reply_id}/retry"): {
            "data": {}
        },
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/replies/{reply_id}/discard"): {
            "data": {}
        },
        ("POST", "/api/v1/w/{slug}/conversations/{conversation_id}/replies/{reply_id}/replace"): {
            "json": {"body": "matrix edit"}
        },
        ("POST", "/w/{slug}/posts/{post_id}/correction"): {"data": {"label": "neutral"}},
        ("POST", "/api/v1/w/{slug}/posts/{post_id}/corrections"): {"json": {"label": "neutral"}},
        ("POST", "/api/v1/w/{slug}/conversions"): {
            "json": {
                "external_id": "matrix-1",
                "occurred_at": "2026-11-20T10:00:00Z",
                "value": 10,
                "currency": "EUR",
                "topic": "skates",
            }
        },
        ("POST", "/forgot"): {"data": {"email": "nobody@example.com"}},
        ("POST", "/w/{slug}/sources"): {
            "data": {"kind": "rss", "name": "matrix feed", "cfg.url": "https://a.example/f"}
        },
        ("POST", "/w/{slug}/sources/{source_id}/enabled"): {"data": {"enabled": "on"}},
        ("POST", "/w/{slug}/accounts"): {
            "data": {"network": "mastodon", "native_id": "https://a.example/@m", "handle": "m"}
        },
        ("POST", "/w/{slug}/inbox/bulk"): {
            "data": {"action": "status:open", "ids": [str(world.conversation_id)]}
        },
        ("POST", "/w/{slug}/webhooks"): {"data": {"url": "https://example.com/matrix-hook"}},
        ("POST", "/w/{slug}/webhooks/{webhook_id}/active"): {"data": {"active": "on"}},
        ("POST", "/w/{slug}/webhooks/deliveries/{delivery_id}/redeliver"): {"data": {}},
        ("POST", "/w/{slug}/sources/{source_id}/credentials"): {
            "data": {"secret.access_token": "matrix"}
        },
        ("POST", "/w/{slug}/members"): {"data": {"email": "matrix@acme.example"}},
        ("POST", "/account/password"): {"data": {"current": "x", "password": "p" * 12}},
        ("POST", "/w/{slug}/members/{user_id}/role"): {"data": {"role": "viewer"}},
        ("POST", "/reset/{token}"): {"data": {"password": "p" * 12, "confirm": "p" * 12}},
        ("POST", "/api/v1/w/{slug}/webhooks"): {"json": {"url": "https://example.com/hook"}},
        ("POST", "/w/{slug}/reports/schedules"): {
            "data": {"name": "matrix", "recipients": "matrix@acme.example"}
        },
        ("POST", "/w/{slug}/metrics/goals"): {"data": {"kpi": "sla_breaches", "target": "3"}},
        ("POST", "/w/{slug}/metrics/business-case"): {
            "data": {
                "costs": "1000",
                "expected_reach": "50000",
                "click_rate": "0.02",
                "conversion_rate": "0.05",
                "average_order_value": "40",
                "currency": "EUR",
            }
        },
        ("POST", "/w/{slug}/playbooks"): {"data": {"source": holding_playbook("matrix")}},
        ("POST", "/w/{slug}/playbooks/{playbook_id}/edit"): {
            "data": {"source": holding_playbook()}
        },
        ("POST", "/w/{slug}/playbooks/{playbook_id}/enabled"): {"data": {"enabled": "on"}},
        ("POST", "/w/{slug}/playbooks/channels"): {
            "data": {
                "name": "matrix",
                "url": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            }
        },
        ("POST", "/w/{slug}/playbooks/{playbook_id}/dry-run"): {"data": {"matrix": "1"}},
        ("POST", "/w/{slug}/drafts/{draft_id}/approve"): {"data": {"decision": "approve"}},
        ("POST", "/w/{slug}/crisis/end"): {"data": {"matrix": "1"}},
        ("POST", "/w/{slug}/influencers/mark"): {
            "data": {"author_id": str(world.author_id), "mark": "advocate"}
        },
    }
    extra = bodies.get((route.method, route.path), {})
    if (
        route.method in ("POST", "PUT", "PATCH")
        and not extra
        and not route.path.endswith(("/revoke", "/logout", "/remove"))
    ):
        pytest.fail(f"add a request body for {route.method} {route.path} to this test")
    return client.request(
        route.method,
        path,
        headers=headers,
        follow_redirects=False,
        **extra,  # type: ignore[arg-type]
    )


def _expected_ok(response: Response) -> bool:
    """Answered as permitted: no refusal, no server error, no detour to sign-in."""
    if response.status_code >= 500 or response.status_code in (401, 403, 404):
        return False
    return not response.headers.get("location", "").startswith("/login?")


def test_every_route_as_every_role_anonymous_and_outsider(
    app: FastAPI, engine: Engine, settings: Settings, world: World
) -> None:
    routes, allowed = _doc_matrix()
    callers_for: list[tuple[str, str | None, str]] = []  # (label, role in acme, kind)
    for label in [*(r.value for r in Role), "outsider"]:
        callers_for += [(label, None if label == "outsider" else label, "session")]
        callers_for += [(label, None if label == "outsider" else label, "token")]
    failures: list[str] = []
    checked = 0

    def callers() -> list[Caller]:
        found: list[Caller] = [Caller("anonymous", None)]
        for label, role, kind in callers_for:
            if kind == "session":
                found.append(_session_caller(engine, settings, label, world.users[label]))
            else:
                found.append(Caller(f"token:{label}", role, token=world.tokens[label]))
        return found

    shared = callers()
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # Signing out ends the session it is sent with: that route goes last, with its own.
        for route in sorted(routes, key=lambda r: r.path == "/logout"):
            permission = route.permission
            for caller in callers() if route.path == "/logout" else shared:
                response = _send(client, caller, route, world)
                checked += 1
                status = response.status_code
                where = f"{route.method} {route.path} as {caller.label}: {status}"
                if permission == "public":
                    if not _expected_ok(response) and status not in (400, 429):
                        failures.append(f"{where}, expected to be answered")
                    continue
                if caller.anonymous:
                    if route.path.startswith("/api/"):
                        good = status == 401 and "Bearer" in response.headers.get(
                            "www-authenticate", ""
                        )
                    else:
                        good = status == 303 and response.headers["location"].startswith("/login")
                    if not good:
                        failures.append(f"{where}, expected sign-in")
                    continue
                if permission == "signed-in":
                    if not _expected_ok(response):
                        failures.append(f"{where}, expected to be answered")
                    continue
                if caller.role is None:
                    if status != 404:
                        failures.append(f"{where}, expected 404 (other workspace)")
                elif caller.role in allowed[permission]:
                    if not _expected_ok(response):
                        failures.append(f"{where}, expected to be allowed")
                    elif OTHER_NAME in response.text:
                        failures.append(f"{where}, shows another workspace's name")
                elif status != 403:
                    failures.append(f"{where}, expected 403")
    assert failures == []
    assert checked == len(routes) * (1 + 2 * (len(Role) + 1))


def test_members_of_one_workspace_get_404_for_every_page_of_another(
    client: TestClient, engine: Engine, settings: Settings, world: World
) -> None:
    """The owner of acme, at globex's URLs: the same 404 as for a workspace that does not exist."""
    for path in (
        "/w/globex",
        "/w/globex/posts",
        "/w/globex/sources",
        "/w/globex/deadletters",
        "/w/globex/members",
        "/w/globex/tokens",
        "/w/globex/audit",
        "/w/globex/topics",
        "/w/globex/inbox",
        "/api/v1/w/globex/posts",
        "/api/v1/w/globex/tokens",
    ):
        response = client.get(path)
        missing = client.get(path.replace("globex", "initech"))
        assert response.status_code == missing.status_code == 404, path
        assert response.text.replace("globex", "X") == missing.text.replace("initech", "X"), path
    html = client.get("/w/acme/posts").text
    assert OTHER_NAME not in html and "/w/globex" not in html
