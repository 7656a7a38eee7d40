"""One-time passwords: a password Hubbub made up (a new member's, the demo owner's) leads, after
signing in, to "Choose your password" before any other page; choosing it lets the person in.
New users' e-mail addresses must look like addresses."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import create_token, set_password
from hubbub.accounts.models import AuditEntry, User
from hubbub.accounts.queries import session_for_cookie, user_by_email
from hubbub.accounts.security import verify_password
from hubbub.demo.load import DEMO_OWNER, ensure_demo_owner
from hubbub.store.engine import transaction
from tests.web.conftest import csrf_token, session_cookie, sign_in

NEW = "a passphrase of my own"
EMAIL = "new.person@acme.example"


def _add_member(client: TestClient, email: str) -> Response:
    token = csrf_token(client.get("/w/acme/members").text)
    return client.post(
        "/w/acme/members",
        data={"csrf_token": token, "email": email, "role": "agent"},
        follow_redirects=False,
    )


def _one_time_password(client: TestClient) -> str:
    added = _add_member(client, EMAIL)
    assert added.status_code == 201, added.text
    found = re.search(r'id="temporary-password">([^<]+)<', added.text)
    assert found is not None
    return found.group(1)


def _choose(fresh: TestClient, **data: str) -> Response:
    form = fresh.get("/account/password")
    return fresh.post(
        "/account/password",
        data={"csrf_token": csrf_token(form.text), **data},
        follow_redirects=False,
    )


def test_a_new_member_chooses_a_password_before_any_page_opens(
    client: TestClient, engine: Engine
) -> None:
    temporary = _one_time_password(client)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        signed_in = sign_in(fresh, EMAIL, temporary)
        assert signed_in.status_code == 303
        first = signed_in.headers["location"]
        held = fresh.get(first, follow_redirects=False)
        assert held.status_code == 303 and held.headers["location"] == "/account/password"
        posts = fresh.get("/w/acme/posts?limit=5", follow_redirects=False)
        assert posts.status_code == 303
        assert posts.headers["location"] == "/account/password?next=%2Fw%2Facme%2Fposts%3Flimit%3D5"
        api = fresh.get("/api/v1/me")
        assert api.status_code == 403 and "one-time" in api.json()["detail"]
        assert fresh.get("/static/style.css").status_code == 200

        page = fresh.get("/account/password?next=/w/acme/posts")
        assert page.status_code == 200 and "Choose your password" in page.text
        assert 'name="current"' not in page.text, "the one-time password is not asked again"
        assert 'name="next" value="/w/acme/posts"' in page.text

        no_csrf = fresh.post("/account/password", data={"password": NEW, "confirm": NEW})
        assert no_csrf.status_code == 403
        differ = _choose(fresh, password=NEW, confirm=NEW + "!")
        assert differ.status_code == 400 and "differ" in differ.text
        short = _choose(fresh, password="short", confirm="short")
        assert short.status_code == 400 and "at least 12 characters" in short.text
        same = _choose(fresh, password=temporary, confirm=temporary)
        assert same.status_code == 400 and "other than the one-time one" in same.text

        with Session(engine) as session:
            user = user_by_email(session, EMAIL)
            assert user is not None and user.must_change_password_at is not None
            user_id = user.id
        other_browser = session_cookie(engine, client.app.state.settings, user_id)

        done = _choose(fresh, password=NEW, confirm=NEW, next="/w/acme/posts")
        assert done.status_code == 303 and done.headers["location"] == "/w/acme/posts"
        # Still signed in here; every page opens now, the API too.
        assert fresh.get("/w/acme/posts").status_code == 200
        assert fresh.get("/").status_code == 200
        assert fresh.get("/api/v1/me").status_code == 200
        page = fresh.get("/account/password")
        assert "Change your password" in page.text and 'name="current"' in page.text

    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None and user.must_change_password_at is None
        assert verify_password(user.password_hash, NEW)
        assert session_for_cookie(session, other_browser) is None, "other browsers signed out"
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "user.password", AuditEntry.target == f"user:{user_id}")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None and entry.actor_user_id == user_id
        created = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "user.create", AuditEntry.target == f"user:{user_id}"
            )
        )
        assert created is not None and created.detail.get("one_time") is True


def test_a_next_target_off_this_site_is_ignored(client: TestClient) -> None:
    temporary = _one_time_password(client)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        sign_in(fresh, EMAIL, temporary)
        done = _choose(fresh, password=NEW, confirm=NEW, next="//evil.example/")
        assert done.status_code == 303 and done.headers["location"] == "/"


def test_sign_out_and_api_tokens_are_not_held_up(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    temporary = _one_time_password(client)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        sign_in(fresh, EMAIL, temporary)
        held = fresh.get("/w/acme/tokens", follow_redirects=False)
        assert held.headers["location"].startswith("/account/password")
        page = fresh.get("/account/password")
        out = fresh.post(
            "/logout", data={"csrf_token": csrf_token(page.text)}, follow_redirects=False
        )
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (
            fresh.get("/w/acme/posts", follow_redirects=False)
            .headers["location"]
            .startswith("/login")
        )
    with transaction(engine) as session:
        user = user_by_email(session, EMAIL)
        assert user is not None
        # A token made by the user acts for the workspace, not as the user: never held up.
        _token, plaintext = create_token(session, workspace_id, "viewer", "bot")
    with TestClient(client.app, base_url="http://127.0.0.1") as bot:
        answer = bot.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
        assert answer.status_code == 200


def test_users_with_their_own_password_and_resets_are_not_held_up(
    client: TestClient, engine: Engine
) -> None:
    """The owner chose theirs (conftest); an admin setting one that is not one-time clears it."""
    assert client.get("/w/acme/posts").status_code == 200
    temporary = _one_time_password(client)
    with transaction(engine) as session:
        user = user_by_email(session, EMAIL)
        assert user is not None
        set_password(session, user, NEW)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        assert sign_in(fresh, EMAIL, temporary).status_code == 400
        assert sign_in(fresh, EMAIL, NEW).status_code == 303
        assert fresh.get("/w/acme/posts", follow_redirects=False).status_code == 200


def test_a_one_time_password_stops_signing_in_when_it_expires(
    client: TestClient, engine: Engine
) -> None:
    """A leaked one-time password no one used does not open the account for ever; only who
    knows it learns that it expired, and a new one works."""
    temporary = _one_time_password(client)
    hours = client.app.state.settings.one_time_password_hours
    with transaction(engine) as session:
        user = user_by_email(session, EMAIL)
        assert user is not None and user.must_change_password_at is not None
        user.must_change_password_at -= timedelta(hours=hours, minutes=1)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        late = sign_in(fresh, EMAIL, temporary)
        assert late.status_code == 403 and "one-time password has expired" in late.text
        assert fresh.get("/w/acme/posts", follow_redirects=False).status_code == 303
        wrong = sign_in(fresh, EMAIL, temporary + "x")
        assert wrong.status_code == 400 and "expired" not in wrong.text
    with transaction(engine) as session:
        user = user_by_email(session, EMAIL)
        assert user is not None
        set_password(session, user, "another made-up one", one_time=True)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        assert sign_in(fresh, EMAIL, "another made-up one").status_code == 303


def test_the_demo_owner_chooses_a_password_after_signing_in(client: TestClient) -> None:
    engine = client.app.state.engine
    email, password = ensure_demo_owner(engine)
    assert email == DEMO_OWNER
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        assert sign_in(fresh, email, password).status_code == 303
        held = fresh.get("/w/demo/posts", follow_redirects=False)
        assert held.headers["location"] == "/account/password?next=%2Fw%2Fdemo%2Fposts"
        done = _choose(fresh, password=NEW, confirm=NEW, next="/w/demo/posts")
        assert done.headers["location"] == "/w/demo/posts"
        assert fresh.get("/w/demo/posts").status_code == 200
    # The next `hubbub up --demo` prints a new one-time password: asked again.
    _email, again = ensure_demo_owner(engine)
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        sign_in(fresh, email, again)
        assert fresh.get("/w/demo/posts", follow_redirects=False).status_code == 303


def test_a_new_members_address_must_look_like_one(client: TestClient, engine: Engine) -> None:
    for bad, why in [
        ("x@y", "the domain needs a dot"),
        ("x y@acme.example", "contains a space"),
        ("nobody", "needs one @"),
        ("a@-acme.example", "is not a domain"),
        ("a" * 250 + "@acme.example", "at most 254 characters"),
    ]:
        refused = _add_member(client, bad)
        assert refused.status_code == 400, bad
        assert why in refused.text, (bad, refused.text)
    assert _add_member(client, "Someone@Lab.Test").status_code == 201
    with Session(engine) as session:
        assert user_by_email(session, "someone@lab.test") is not None
        assert session.scalar(select(User.id).where(User.email == "x@y")) is None
    # An existing user keeps an address made before the check, and can still be added.
    with transaction(engine) as session:
        session.add(User(email="old@host", display_name="old", password_hash="x", active=True))
    assert _add_member(client, "old@host").status_code == 201
