"""Sign-in, first-run setup, sign-out, and the admin pages: members, API tokens, audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hubbub.accounts.actions import (
    AccountError,
    LoginThrottled,
    create_token,
    login,
    logout,
    revoke_token,
    setup_owner,
    start_session,
)
from hubbub.accounts.models import WebSession
from hubbub.accounts.permissions import ROLES_DESCENDING, rank
from hubbub.accounts.queries import audit_entries, list_members, list_tokens, user_count
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import CSRF_COOKIE, SESSION_COOKIE, Access, Permit, cookie_header
from hubbub.web.deps import SessionDep
from hubbub.web.pages import render
from hubbub.web.problems import local_path

router = APIRouter(include_in_schema=False)

Public = Annotated[Access, Depends(Permit("public"))]
SignedIn = Annotated[Access, Depends(Permit("signed-in"))]
ReadMembers = Annotated[Access, Depends(Permit("members.read"))]
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
    request: Request, session: SessionDep, access: Public, next: str | None = None
) -> Response:
    if user_count(session) == 0:
        return RedirectResponse("/setup", status_code=303)
    if not access.principal.anonymous:
        return RedirectResponse(local_path(next), status_code=303)
    context = {"next": local_path(next), "email": "", "error": None}
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


@router.post("/logout")
def logout_submit(request: Request, access: SignedIn) -> Response:
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


@router.get("/w/{slug}/members")
def members_page(request: Request, session: SessionDep, access: ReadMembers) -> Response:
    return render(
        request, session, access, "members", {"members": list_members(session, access.ws.id)}
    )


def _tokens(
    request: Request,
    session: Session,
    access: Access,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    own = rank(access.role) if access.role else -1
    context: dict[str, Any] = {
        "tokens": list_tokens(session, access.ws.id),
        "roles": [role for role in ROLES_DESCENDING if rank(role) <= own],
        "created": None,
        "error": None,
    }
    context.update(extra or {})
    return render(request, session, access, "tokens", context, status)


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
def tokens_revoke(request: Request, token_id: int, access: ManageTokens) -> Response:
    try:
        with transaction(request.app.state.engine) as tx:
            revoke_token(tx, access.ws.id, token_id, actor=access.principal.actor)
    except AccountError as exc:
        raise HTTPException(404 if "no token" in str(exc) else 403, str(exc)) from None
    return RedirectResponse(f"/w/{access.ws.slug}/tokens", status_code=303)


@router.get("/w/{slug}/audit")
def audit_page(
    request: Request, session: SessionDep, access: ReadAudit, before: int | None = None
) -> Response:
    entries = audit_entries(session, access.ws.id, AUDIT_PAGE + 1, before)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    return render(
        request,
        session,
        access,
        "audit",
        {"entries": entries, "older": entries[-1].id if more else None},
    )
