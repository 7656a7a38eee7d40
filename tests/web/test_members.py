"""Members page: admins add people (new addresses get a one-time password), change roles up to
their own and remove members; every change is audited, and other workspaces stay out of reach."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry, Membership, User
from hubbub.accounts.permissions import Role
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import OWNER, PASSWORD, csrf_token, member, session_cookie, sign_in


def _role(engine: Engine, workspace_id: int, email: str) -> str | None:
    with Session(engine) as session:
        return session.scalar(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == workspace_id, User.email == email)
        )


def _form(client: TestClient, path: str, **data: str) -> Response:
    token = csrf_token(client.get("/w/acme/members").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_an_admin_adds_a_new_person_who_can_sign_in_with_the_one_time_password(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    response = _form(client, "/w/acme/members", email="New.Person@Acme.example", role="agent")
    assert response.status_code == 201
    page = response.text
    assert "is now an agent here" in page
    found = re.search(r'id="temporary-password">([^<]+)<', page)
    assert found is not None
    assert _role(engine, workspace_id, "new.person@acme.example") == "agent"
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        signed_in = sign_in(fresh, "new.person@acme.example", found.group(1))
        assert signed_in.status_code == 303
    again = _form(client, "/w/acme/members", email="new.person@acme.example", role="viewer")
    assert again.status_code == 400 and "member already" in again.text


def test_adding_an_existing_user_shows_no_password(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex").id
    member(engine, other, Role.OWNER, "known@globex.example")
    response = _form(client, "/w/acme/members", email="known@globex.example", role="analyst")
    assert response.status_code == 201 and "is now an analyst here" in response.text
    assert "temporary-password" not in response.text
    assert _role(engine, workspace_id, "known@globex.example") == "analyst"
    assert _role(engine, other, "known@globex.example") == "owner"


def test_role_changes_and_removal_are_audited_and_bounded(
    engine: Engine, settings: Settings, workspace_id: int, client: TestClient
) -> None:
    agent = member(engine, workspace_id, Role.AGENT, "agent@acme.example")
    assert _form(client, f"/w/acme/members/{agent}/role", role="manager").status_code == 303
    assert _role(engine, workspace_id, "agent@acme.example") == "manager"

    admin = member(engine, workspace_id, Role.ADMIN, "admin@acme.example")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, admin))
    refused = _form(client, f"/w/acme/members/{agent}/role", role="owner")
    assert refused.status_code == 400 and "cannot grant" in refused.text
    assert _role(engine, workspace_id, "agent@acme.example") == "manager"

    gone = _form(client, f"/w/acme/members/{agent}/remove")
    assert gone.status_code == 303 and "?removed=" in gone.headers["location"]
    page = client.get(gone.headers["location"]).text
    assert "agent@acme.example no longer has access" in page
    assert _role(engine, workspace_id, "agent@acme.example") is None
    # Removing again leaves things as asked.
    assert _form(client, f"/w/acme/members/{agent}/remove").status_code == 303
    with Session(engine) as session:
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.workspace_id == workspace_id)
            )
        )
    assert {"member.role", "member.remove", "member.add"} <= actions


def test_the_last_owner_stays_and_other_workspaces_are_404(
    client: TestClient, engine: Engine, workspace_id: int, owner_id: int
) -> None:
    kept = _form(client, f"/w/acme/members/{owner_id}/remove")
    assert kept.status_code == 400 and "last owner" in kept.text
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex").id
    outsider = member(engine, other, Role.VIEWER, "viewer@globex.example")
    assert _form(client, f"/w/acme/members/{outsider}/role", role="viewer").status_code == 404
    assert _form(client, "/w/acme/members/99999999/role", role="viewer").status_code == 404
    assert _form(client, "/w/globex/members", email="x@acme.example").status_code == 404
    assert _role(engine, other, "viewer@globex.example") == "viewer"


def test_a_manager_may_not_manage_members(
    engine: Engine, settings: Settings, workspace_id: int, client: TestClient
) -> None:
    manager = member(engine, workspace_id, Role.MANAGER, "manager@acme.example")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, manager))
    response = client.post(
        "/w/acme/members", data={"email": "x@acme.example"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_a_member_changes_their_own_password_and_every_session_ends(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    page = client.get("/account/password")
    assert page.status_code == 200
    token = csrf_token(page.text)
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": "not it at all",
            "password": "n" * 14,
            "confirm": "n" * 14,
        },
        follow_redirects=False,
    )
    assert wrong.status_code == 400 and "not right" in wrong.text
    changed = client.post(
        "/account/password",
        data={"csrf_token": token, "current": PASSWORD, "password": "n" * 14, "confirm": "n" * 14},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/login?reset=1"
    assert client.get("/w/acme/members", follow_redirects=False).status_code == 303  # signed out
    with TestClient(client.app, base_url="http://127.0.0.1") as fresh:
        assert sign_in(fresh, OWNER, "n" * 14).status_code == 303
        assert sign_in(fresh, OWNER, PASSWORD).status_code != 303
