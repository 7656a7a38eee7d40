"""Sign-in, first-run setup, sign-out, cookies, CSRF, throttling, API tokens, allowed hosts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from hubbub.accounts.actions import Actor, create_token, create_user, record_audit
from hubbub.accounts.models import ApiToken, AuditEntry, Membership, User
from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.web.auth import CSRF_COOKIE, SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import OWNER, PASSWORD, csrf_token, member, sign_in


def _set_cookies(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined]


def test_first_run_setup_creates_the_owner_of_every_workspace_then_closes(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    page = anonymous.get("/setup")
    assert page.status_code == 200
    token = csrf_token(page.text)
    form = {
        "email": "Founder@Example.com",
        "name": "Fay",
        "password": "p" * 12,
        "csrf_token": token,
    }
    mismatch = anonymous.post("/setup", data={**form, "confirm": "q" * 12})
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.text
    short = anonymous.post("/setup", data={**form, "password": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.text
    done = anonymous.post("/setup", data={**form, "confirm": "p" * 12}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/w/acme/posts"
    with Session(engine) as session:
        user = session.scalars(select(User)).one()
        assert user.email == "founder@example.com"
        assert user.password_hash.startswith("$argon2id$")
        roles = session.execute(select(Membership.workspace_id, Membership.role)).all()
        assert roles == [(workspace_id, "owner")]
    # once a user exists, setup is closed, whatever is posted
    anonymous.cookies.clear()
    assert anonymous.get("/setup", follow_redirects=False).headers["location"] == "/login"
    page = anonymous.get("/login")
    again = anonymous.post(
        "/setup",
        data={
            **form,
            "email": "intruder@example.com",
            "confirm": "p" * 12,
            "csrf_token": csrf_token(page.text),
        },
        follow_redirects=False,
    )
    assert again.headers["location"] == "/login"
    with Session(engine) as session:
        assert session.scalars(select(User.email)).all() == ["founder@example.com"]


def test_setup_without_any_workspace_makes_the_default_one(
    anonymous: TestClient, engine: Engine
) -> None:
    token = csrf_token(anonymous.get("/setup").text)
    anonymous.post(
        "/setup",
        data={
            "email": "a@example.com",
            "password": "p" * 12,
            "confirm": "p" * 12,
            "csrf_token": token,
        },
    )
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/w/default/posts"


def test_sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    login = sign_in(anonymous, OWNER.upper())  # e-mail addresses compare case-insensitively
    assert login.status_code == 303 and login.headers["location"] == "/"
    (session_cookie,) = [c for c in _set_cookies(login) if c.startswith(SESSION_COOKIE + "=")]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Path=/" in session_cookie and "Secure" not in session_cookie  # plain http
    value = anonymous.cookies[SESSION_COOKIE]
    with Session(engine) as session:
        stored = session.execute(text("SELECT id FROM web_sessions")).scalars().all()
    assert len(stored) == 1 and value not in stored[0]  # only a digest of the cookie is kept
    page = anonymous.get("/w/acme/posts")
    assert page.status_code == 200 and OWNER in page.text
    out = anonymous.post(
        "/logout", data={"csrf_token": csrf_token(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # the old cookie value, replayed, opens nothing
    anonymous.cookies.set(SESSION_COOKIE, value)
    again = anonymous.get("/w/acme/posts", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login?next=")
    with Session(engine) as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["login", "logout"]


def test_cookies_are_secure_over_https(app: FastAPI, engine: Engine, workspace_id: int) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    with TestClient(app, base_url="https://127.0.0.1") as client:
        login = sign_in(client, OWNER)
    assert login.status_code == 303
    assert all("Secure" in c for c in _set_cookies(login))


def test_wrong_passwords_and_unknown_emails_look_alike(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    wrong = sign_in(anonymous, OWNER, "wrong password!")
    unknown = sign_in(anonymous, "nobody@example.com", "wrong password!")
    assert wrong.status_code == unknown.status_code == 400
    assert "Wrong e-mail or password." in wrong.text and "Wrong e-mail or password." in unknown.text
    assert SESSION_COOKIE not in anonymous.cookies


def test_next_only_leads_to_this_site(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    for target, expected in [
        ("/w/acme/sources", "/w/acme/sources"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ]:
        page = anonymous.get("/login")
        response = anonymous.post(
            "/login",
            data={
                "email": OWNER,
                "password": PASSWORD,
                "next": target,
                "csrf_token": csrf_token(page.text),
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected, target
        anonymous.cookies.clear()


def test_account_throttle_refuses_even_the_right_password_with_a_clear_message(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    for _ in range(5):  # HUBBUB_LOGIN_MAX_FAILURES_PER_ACCOUNT
        assert sign_in(anonymous, OWNER, "wrong password!").status_code == 400
    blocked = sign_in(anonymous, OWNER)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins for this account. Try again in 15 minutes." in blocked.text
    assert 890 <= int(blocked.headers["retry-after"]) <= 900
    assert SESSION_COOKIE not in anonymous.cookies


def test_address_throttle_counts_failures_across_accounts(
    settings: Settings, engine: Engine, workspace_id: int
) -> None:
    strict = settings.model_copy(update={"login_max_failures_per_address": 3})
    member(engine, workspace_id, Role.VIEWER, OWNER)
    with TestClient(create_app(strict, engine), base_url="http://127.0.0.1") as client:
        for n in range(3):
            assert sign_in(client, f"guess{n}@example.com", "wrong password!").status_code == 400
        blocked = sign_in(client, OWNER)
        assert blocked.status_code == 429
        assert "Too many failed sign-ins for your address." in blocked.text


def test_a_successful_sign_in_clears_the_account_failures(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    for _ in range(4):
        sign_in(anonymous, OWNER, "wrong password!")
    assert sign_in(anonymous, OWNER).status_code == 303
    anonymous.cookies.clear()
    for _ in range(4):
        assert sign_in(anonymous, OWNER, "wrong password!").status_code == 400
    assert sign_in(anonymous, OWNER).status_code == 303


@pytest.fixture
def admin_page(client: TestClient) -> str:
    page = client.get("/w/acme/tokens")
    assert page.status_code == 200
    return csrf_token(page.text)


def test_csrf_is_required_on_every_unsafe_request_of_a_session(
    client: TestClient, admin_page: str, engine: Engine
) -> None:
    form = {"name": "ci", "role": "viewer"}
    assert client.post("/w/acme/tokens", data=form).status_code == 403
    assert client.post("/w/acme/tokens", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post("/api/v1/w/acme/tokens", json=form).status_code == 403
    assert (
        client.post("/api/v1/w/acme/tokens", json=form, headers={"X-CSRF-Token": "x"}).status_code
        == 403
    )
    assert client.post("/logout").status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(ApiToken)).all() == []
    made = client.post("/w/acme/tokens", data={**form, "csrf_token": admin_page})
    assert made.status_code == 201 and 'id="new-token">hbb_' in made.text
    headers = {"X-CSRF-Token": admin_page}
    twin = client.post("/api/v1/w/acme/tokens", json=form, headers=headers)
    assert twin.status_code == 409 and "in use already" in twin.json()["detail"]
    made = client.post("/api/v1/w/acme/tokens", json={**form, "name": "ci2"}, headers=headers)
    assert made.status_code == 201 and made.json()["token"].startswith("hbb_")


def test_anonymous_forms_need_the_double_submit_cookie(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.VIEWER, OWNER)
    page = anonymous.get("/login")
    token = csrf_token(page.text)
    assert anonymous.cookies[CSRF_COOKIE] == token
    form = {"email": OWNER, "password": PASSWORD}
    assert anonymous.post("/login", data=form).status_code == 403
    anonymous.cookies.clear()  # a forged form from elsewhere: a token, but not the cookie
    assert anonymous.post("/login", data={**form, "csrf_token": token}).status_code == 403


def test_bearer_tokens_skip_csrf_and_carry_only_their_workspace_and_role(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
        _admin_token, admin = create_token(session, workspace_id, Role.ADMIN, "deploy")
        _viewer_token, viewer = create_token(session, workspace_id, Role.VIEWER, "dashboards")
        create_token(session, other, Role.OWNER, "globex")
    as_admin = {"Authorization": f"Bearer {admin}"}
    made = anonymous.post(
        "/api/v1/w/acme/tokens", json={"name": "x", "role": "admin"}, headers=as_admin
    )
    assert made.status_code == 201  # no CSRF token needed: no browser sends this header itself
    too_high = anonymous.post(
        "/api/v1/w/acme/tokens", json={"name": "x", "role": "owner"}, headers=as_admin
    )
    assert (
        too_high.status_code == 403 and "cannot grant the owner role" in too_high.json()["detail"]
    )
    assert anonymous.get("/api/v1/w/globex/posts", headers=as_admin).status_code == 404
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    assert anonymous.get("/api/v1/w/acme/posts", headers=as_viewer).status_code == 200
    assert anonymous.get("/api/v1/w/acme/tokens", headers=as_viewer).status_code == 403
    listed = anonymous.get("/api/v1/w/acme/tokens", headers=as_admin).json()
    assert {t["name"] for t in listed} == {"deploy", "dashboards", "x"}
    assert all("token" not in t and admin not in str(t) for t in listed)
    me = anonymous.get("/api/v1/me", headers=as_viewer).json()
    assert me == {
        "email": None,
        "display_name": None,
        "token": "dashboards",
        "workspaces": [{"slug": "acme", "name": "Acme Inc.", "role": "viewer"}],
    }
    viewer_id = next(t["id"] for t in listed if t["name"] == "dashboards")
    assert (
        anonymous.delete(f"/api/v1/w/acme/tokens/{viewer_id}", headers=as_admin).status_code == 204
    )
    revoked = anonymous.get("/api/v1/w/acme/posts", headers=as_viewer)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert (
        anonymous.get("/api/v1/w/acme/posts", headers={"Authorization": "Basic eDp5"}).status_code
        == 401
    )
    with Session(engine) as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_token_id.is_not(None))
        ).all()
    assert admin not in hashes and viewer not in hashes
    assert actions == ["token.create", "token.revoke"]


def test_a_tokens_use_is_noted_at_most_once_a_minute(
    anonymous: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        token, plaintext = create_token(session, workspace_id, Role.VIEWER, "poller")
    as_token = {"Authorization": f"Bearer {plaintext}"}

    def last_used() -> datetime | None:
        with Session(engine) as session:
            return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token.id))

    assert last_used() is None
    assert anonymous.get("/api/v1/w/acme/conversations", headers=as_token).status_code == 200
    first = last_used()
    assert first is not None and abs(utcnow() - first) < timedelta(minutes=1)
    assert anonymous.get("/api/v1/w/acme/posts", headers=as_token).status_code == 200
    assert last_used() == first  # within the minute: a read stays a read
    with transaction(engine) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=first - timedelta(minutes=5))
        )
    assert anonymous.get("/api/v1/w/acme/conversations", headers=as_token).status_code == 200
    again = last_used()
    assert again is not None and again > first


def test_a_deactivated_user_is_signed_out_everywhere(
    client: TestClient, engine: Engine, owner_id: int
) -> None:
    assert client.get("/w/acme/posts").status_code == 200
    with transaction(engine) as session:
        user = session.get(User, owner_id)
        assert user is not None
        user.active = False
    assert client.get("/w/acme/posts", follow_redirects=False).status_code == 303


def test_allowed_hosts_come_from_the_settings(settings: Settings, engine: Engine) -> None:
    public = settings.model_copy(update={"allowed_hosts": ["hubbub.example.org"]})
    app = create_app(public, engine)
    with TestClient(app, base_url="https://hubbub.example.org") as client:
        assert client.get("/api/v1/health").status_code == 200
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/health").status_code == 400


def test_admin_pages_show_members_tokens_and_the_audit_log(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    member(engine, workspace_id, Role.AGENT, "agent@acme.example")
    with transaction(engine) as session:
        create_user(session, "stranger@example.com", PASSWORD)
    members = client.get("/w/acme/members").text
    assert "agent@acme.example" in members and OWNER in members
    assert "stranger@example.com" not in members
    token = csrf_token(client.get("/w/acme/tokens").text)
    client.post("/w/acme/tokens", data={"name": "<b>ci</b>", "role": "viewer", "csrf_token": token})
    listing = client.get("/w/acme/tokens").text
    assert "&lt;b&gt;ci&lt;/b&gt;" in listing and "<b>ci</b>" not in listing
    assert 'href="/api/v1/openapi.json"' in listing  # where the API is described
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
    assert 'id="new-token"' not in listing  # the secret was shown once, on creation only
    audit = client.get("/w/acme/audit").text
    assert "member.add" in audit and "token.create" in audit
    with transaction(engine) as session:  # something the token did, through the API
        made = session.scalars(select(ApiToken).where(ApiToken.name == "<b>ci</b>")).one()
        record_audit(
            session,
            "post.export",
            actor=Actor(token_id=made.id),
            target="posts",
            workspace_id=workspace_id,
        )
    rows = client.get("/w/acme/audit").text.split("<tr")
    created = next(row for row in rows if "token.create" in row)
    assert OWNER in created and "user #" not in created  # who acted, by e-mail
    used = next(row for row in rows if "post.export" in row)
    assert "API token “&lt;b&gt;ci&lt;/b&gt;”" in used and "<b>ci</b>" not in used
