"""Sign-in, first-run setup, sign-out, and the admin pages: members, API tokens, audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hubbub.accounts.actions import (
    AccountError,
    LoginThrottled,
    OneTimePasswordExpired,
    add_member,
    change_role,
    create_token,
    create_user,
    login,
    logout,
    remove_member,
    revoke_token,
    set_password,
    setup_owner,
    start_session,
)
from hubbub.accounts.mail import smtp_ready
from hubbub.accounts.models import User, WebSession
from hubbub.accounts.permissions import ROLES_DESCENDING, rank
from hubbub.accounts.queries import (
    audit_entries,
    list_members,
    list_tokens,
    user_by_email,
    user_count,
)
from hubbub.accounts.reset import (
    INVALID_LINK,
    ResetThrottled,
    request_reset,
    reset_password,
    send_reset_mail,
    token_valid,
)
from hubbub.accounts.security import MIN_PASSWORD_LENGTH, new_secret, verify_password
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import CSRF_COOKIE, SESSION_COOKIE, Access, Permit, cookie_header
from hubbub.web.deps import MAX_ROW_ID, BeforeId, RowId, SessionDep
from hubbub.web.pages import render
from hubbub.web.problems import local_path
from hubbub.web.queries import emails_of, own_audit_entry, token_names

router = APIRouter(include_in_schema=False)

Public = Annotated[Access, Depends(Permit("public"))]
SignedIn = Annotated[Access, Depends(Permit("signed-in"))]
#: Signed in, and open to a user who must still replace a one-time password.
SignedInOneTime = Annotated[Access, Depends(Permit("signed-in", one_time_password_ok=True))]
ReadMembers = Annotated[Access, Depends(Permit("members.read"))]
ManageMembers = Annotated[Access, Depends(Permit("members.manage"))]
ReadTokens = Annotated[Access, Depends(Permit("tokens.read"))]
ManageTokens = Annotated[Access, Depends(Permit("tokens.manage"))]
ReadAudit = Annotated[Access, Depends(Permit("audit.read"))]
AUDIT_PAGE = 100


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _signed_in(request: Request, cookie: str, target: str) -> Response:
    """Redirect with the new session cookie; the anonymous CSRF cookie is dropped."""
    settings = _settings(request)
    secure = settings.cookie_secure or request.url.scheme == "https"
    response = RedirectResponse(target, status_code=303)
    response.headers.append(
        "set-cookie",
        cookie_header(
            SESSION_COOKIE, cookie, secure=secure, max_age=int(settings.session_hours * 3600)
        ),
    )
    response.headers.append("set-cookie", cookie_header(CSRF_COOKIE, "", secure=secure, max_age=0))
    return response


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(
    request: Request,
    session: SessionDep,
    access: Public,
    next: str | None = None,
    reset: str | None = None,
) -> Response:
    if user_count(session) == 0:
        return RedirectResponse("/setup", status_code=303)
    if not access.principal.anonymous:
        return RedirectResponse(local_path(next), status_code=303)
    context = {"next": local_path(next), "email": "", "error": None, "reset": reset == "1"}
    return render(request, session, access, "login", context)


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    access: Public,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Check the password under the throttle; a wrong one never says which half was wrong."""
    target = local_path(next)
    error: str
    status = 400
    headers: dict[str, str] = {}
    try:
        with transaction(request.app.state.engine) as tx:
            result = login(
                tx, email, password, _settings(request), address=_client_address(request)
            )
    except LoginThrottled as exc:
        error, status = str(exc), 429
        headers["Retry-After"] = str(exc.retry_after)
    except OneTimePasswordExpired as exc:
        error, status = str(exc), 403
    else:
        if result is not None:
            return _signed_in(request, result[0], target)
        error = "Wrong e-mail or password."
    response = render(
        request, session, access, "login", {"next": target, "email": email, "error": error}, status
    )
    response.headers.update(headers)
    return response


@router.get("/setup")
def setup_page(request: Request, session: SessionDep, access: Public) -> Response:
    """First run only: make the owner. Once any user exists, this is the sign-in page."""
    if user_count(session) > 0:
        return RedirectResponse("/login", status_code=303)
    return render(request, session, access, "setup", {"email": "", "name": "", "error": None})


@router.post("/setup")
def setup_submit(
    request: Request,
    session: SessionDep,
    access: Public,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    if user_count(session) > 0:
        return RedirectResponse("/login", status_code=303)
    error: str | None = None
    if password != confirm:
        error = "The two passwords differ."
    else:
        try:
            with transaction(request.app.state.engine) as tx:
                user = setup_owner(tx, email, password, display_name=name or None)
                cookie, _web = start_session(
                    tx, user, _settings(request), address=_client_address(request)
                )
            return _signed_in(request, cookie, "/")
        except AccountError as exc:
            error = str(exc)
    context = {"email": email, "name": name, "error": error}
    return render(request, session, access, "setup", context, 400)


def _forgot(
    request: Request, session: Session, access: Access, extra: dict[str, Any], status: int = 200
) -> Response:
    context = {"available": smtp_ready(_settings(request)), "sent": False, "error": None}
    return render(request, session, access, "forgot", {**context, **extra}, status)


@router.get("/forgot")
def forgot_page(request: Request, session: SessionDep, access: Public) -> Response:
    """Ask for a reset link by e-mail; without SMTP, how an admin sets a password instead."""
    return _forgot(request, session, access, {})


@router.post("/forgot")
def forgot_submit(
    request: Request,
    session: SessionDep,
    access: Public,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """The same answer whether the address exists or not; the mail leaves after the response,
    so the time taken does not tell either."""
    settings = _settings(request)
    if not smtp_ready(settings):
        return _forgot(request, session, access, {}, 400)
    try:
        with transaction(request.app.state.engine) as tx:
            link = request_reset(tx, settings, email, address=_client_address(request))
    except ResetThrottled as exc:
        response = _forgot(request, session, access, {"error": str(exc)}, 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if link is not None:
        base = settings.public_url or str(request.base_url)
        url = f"{base.rstrip('/')}/reset/{link.token}"
        background.add_task(send_reset_mail, settings, link.email, url)
    return _forgot(request, session, access, {"sent": True})


@router.get("/reset/{token}")
def reset_page(request: Request, session: SessionDep, access: Public, token: str) -> Response:
    if not token_valid(session, token):
        return render(request, session, access, "reset", {"error": INVALID_LINK, "ok": False}, 400)
    return render(request, session, access, "reset", {"error": None, "ok": True, "token": token})


@router.post("/reset/{token}")
def reset_submit(
    request: Request,
    session: SessionDep,
    access: Public,
    token: str,
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Set the new password; the link and every session of the user end with it."""
    ok = True
    if password != confirm:
        error = "The two passwords differ."
    else:
        try:
            with transaction(request.app.state.engine) as tx:
                reset_password(tx, token, password, address=_client_address(request))
            return RedirectResponse("/login?reset=1", status_code=303)
        except AccountError as exc:
            error = str(exc)
            ok = error != INVALID_LINK
    context = {"error": error, "ok": ok, "token": token}
    return render(request, session, access, "reset", context, 400)


def _password_form(
    request: Request,
    session: Session,
    access: Access,
    user: User,
    next: str | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "error": error,
        "choose": user.must_change_password_at is not None,
        "next": local_path(next),
        "min_length": MIN_PASSWORD_LENGTH,
    }
    return render(request, session, access, "password", context, status)


@router.get("/account/password")
def password_page(
    request: Request, session: SessionDep, access: SignedInOneTime, next: str | None = None
) -> Response:
    """Change one's own password (people, not API tokens); after signing in with a one-time
    password, choose one's own (every other page leads here until then)."""
    user = access.principal.user
    if user is None:
        raise HTTPException(400, "API tokens have no password")
    return _password_form(request, session, access, user, next)


@router.post("/account/password")
def password_submit(
    request: Request,
    session: SessionDep,
    access: SignedInOneTime,
    current: Annotated[str, Form(max_length=1024)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """A new password after the current one; every session of the user ends, this one too.

    Choosing one's own in place of a one-time password does not ask for that one again (the
    user just signed in with it) and keeps this browser signed in.
    """
    user = access.principal.user
    web = access.principal.web
    if user is None or web is None:
        raise HTTPException(400, "API tokens have no password")
    choosing = user.must_change_password_at is not None
    error = None
    if not choosing and not verify_password(user.password_hash, current):
        error = "The current password is not right."
    elif password != confirm:
        error = "The two new passwords differ."
    elif choosing and verify_password(user.password_hash, password):
        error = "Choose a password other than the one-time one."
    else:
        try:
            with transaction(request.app.state.engine) as tx:
                found = tx.get(User, user.id)
                assert found is not None
                set_password(
                    tx,
                    found,
                    password,
                    keep_session=web.id if choosing else None,
                    actor=access.principal.actor,
                )
        except AccountError as exc:
            error = str(exc)
    if error is not None:
        return _password_form(request, session, access, user, next, error, 400)
    if choosing:
        return RedirectResponse(local_path(next), status_code=303)
    return RedirectResponse("/login?reset=1", status_code=303)


@router.post("/logout")
def logout_submit(request: Request, access: SignedInOneTime) -> Response:
    """End this browser's session (API tokens have no session: revoke them instead)."""
    web = access.principal.web
    if web is not None:
        with transaction(request.app.state.engine) as tx:
            found = tx.get(WebSession, web.id)
            if found is not None:
                logout(tx, found)
    secure = _settings(request).cookie_secure or request.url.scheme == "https"
    response = RedirectResponse("/login", status_code=303)
    response.headers.append(
        "set-cookie", cookie_header(SESSION_COOKIE, "", secure=secure, max_age=0)
    )
    return response


def _grantable(access: Access) -> list[Any]:
    """Roles this member may hand out: none above their own."""
    own = rank(access.role) if access.role else -1
    return [role for role in ROLES_DESCENDING if rank(role) <= own]


def _with_roles(
    request: Request,
    session: Session,
    access: Access,
    page: str,
    context: dict[str, Any],
    extra: dict[str, Any] | None,
    status: int,
) -> Response:
    """A page with a form that hands out roles (members, tokens), and maybe an error."""
    context = {**context, "roles": _grantable(access), "error": None, **(extra or {})}
    return render(request, session, access, page, context, status)


def _members(
    request: Request,
    session: Session,
    access: Access,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows = {"members": list_members(session, access.ws.id), "added": None, "removed": None}
    return _with_roles(request, session, access, "members", rows, extra, status)


@router.get("/w/{slug}/members")
def members_page(
    request: Request,
    session: SessionDep,
    access: ReadMembers,
    removed: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """``removed``: the audit entry of a removal this person just made, to say whose."""
    me = access.principal.actor.user_id
    entry = own_audit_entry(session, access.ws.id, me, removed, "member.remove")
    user_id = int(entry.target.removeprefix("user:")) if entry is not None else None
    gone = session.get(User, user_id) if user_id is not None else None
    return _members(request, session, access, {"removed": gone.email if gone else None})


@router.post("/w/{slug}/members")
def members_add(
    request: Request,
    session: SessionDep,
    access: ManageMembers,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a user by e-mail; a new address gets an account with a one-time password, shown on
    this response only, for the admin to pass on (they must choose their own after signing
    in)."""
    actor = access.principal.actor
    temporary: str | None = None
    try:
        with transaction(request.app.state.engine) as tx:
            user = user_by_email(tx, email)
            if user is None:
                temporary = new_secret()[:20]
                user = create_user(
                    tx, email, temporary, display_name=name or None, one_time=True, actor=actor
                )
            add_member(tx, access.ws.id, user, role, actor=actor)
            added = (user.email, role, temporary)
    except AccountError as exc:
        return _members(request, session, access, {"error": str(exc)}, 400)
    return _members(request, session, access, {"added": added}, 201)


def _member_change(
    request: Request, session: Session, access: Access, user_id: int, role: str | None
) -> Response:
    actor = access.principal.actor
    done = ""
    try:
        with transaction(request.app.state.engine) as tx:
            user = tx.get(User, user_id)
            if role is not None:
                if user is None:
                    raise HTTPException(404)
                change_role(tx, access.ws.id, user, role, actor=actor)
            elif user is not None:
                entry = remove_member(tx, access.ws.id, user, actor=actor)
                done = f"?removed={entry.id}"  # the page reads the remover's own entry
    except AccountError as exc:
        if "is not a member" not in str(exc):
            return _members(request, session, access, {"error": str(exc)}, 400)
        if role is not None:  # another workspace's user looks like no user at all
            raise HTTPException(404) from None
        # Removing someone who is not a member (any more) leaves things as asked.
    return RedirectResponse(f"/w/{access.ws.slug}/members{done}", status_code=303)


@router.post("/w/{slug}/members/{user_id}/role")
def members_role(
    request: Request,
    session: SessionDep,
    access: ManageMembers,
    user_id: RowId,
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Change a member's role: never above one's own, and a workspace keeps an owner."""
    return _member_change(request, session, access, user_id, role)


@router.post("/w/{slug}/members/{user_id}/remove")
def members_remove(
    request: Request, session: SessionDep, access: ManageMembers, user_id: RowId
) -> Response:
    """Take a member's access to this workspace away (their account stays)."""
    return _member_change(request, session, access, user_id, None)


def _tokens(
    request: Request,
    session: Session,
    access: Access,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows = {"tokens": list_tokens(session, access.ws.id), "created": None}
    return _with_roles(request, session, access, "tokens", rows, extra, status)


@router.get("/w/{slug}/tokens")
def tokens_page(request: Request, session: SessionDep, access: ReadTokens) -> Response:
    return _tokens(request, session, access)


@router.post("/w/{slug}/tokens")
def tokens_create(
    request: Request,
    session: SessionDep,
    access: ManageTokens,
    name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
) -> Response:
    """Create a token and show it on this response only (it is never shown again)."""
    try:
        with transaction(request.app.state.engine) as tx:
            token, plaintext = create_token(
                tx, access.ws.id, role, name, actor=access.principal.actor
            )
    except AccountError as exc:
        return _tokens(request, session, access, {"error": str(exc)}, 400)
    return _tokens(request, session, access, {"created": (token, plaintext)}, 201)


@router.post("/w/{slug}/tokens/{token_id}/revoke")
def tokens_revoke(request: Request, token_id: RowId, access: ManageTokens) -> Response:
    try:
        with transaction(request.app.state.engine) as tx:
            revoke_token(tx, access.ws.id, token_id, actor=access.principal.actor)
    except AccountError as exc:
        raise HTTPException(404 if "no token" in str(exc) else 403, str(exc)) from None
    return RedirectResponse(f"/w/{access.ws.slug}/tokens", status_code=303)


@router.get("/w/{slug}/audit")
def audit_page(
    request: Request, session: SessionDep, access: ReadAudit, before: BeforeId = None
) -> Response:
    entries = audit_entries(session, access.ws.id, AUDIT_PAGE + 1, before)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    users = {e.actor_user_id for e in entries if e.actor_user_id}
    tokens = {e.actor_token_id for e in entries if e.actor_token_id}
    return render(
        request,
        session,
        access,
        "audit",
        {
            "entries": entries,
            "older": entries[-1].id if more else None,
            "emails": emails_of(session, users),
            "tokens": token_names(session, tokens),
        },
    )
