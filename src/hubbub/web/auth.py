"""Who is asking, and may they: the one dependency every route declares.

Each route depends on ``Permit("<permission>")`` (see :mod:`hubbub.accounts.permissions`);
a test walks ``app.routes`` and fails on a route without one. ``Permit``:

* finds the principal: an ``Authorization: Bearer`` API token, else the session cookie;
* sends the anonymous to sign in (303 to ``/login`` for pages, 401 for the API);
* sends a user still on a one-time password to choose their own (303 to
  ``/account/password`` for pages, 403 for the API), except on the routes that say
  ``one_time_password_ok`` (choosing it, signing out) and public ones;
* checks the CSRF token on unsafe methods (form field ``csrf_token`` or header
  ``X-CSRF-Token``), except for API-token requests, which no browser sends on its own;
* for workspace permissions, answers 404 — exactly as for a workspace that does not exist —
  when the principal has no role in the workspace of the path, and 403 when the role is too low.

Its reads run where :func:`hubbub.web.deps.read` says (inline on SQLite), the once-a-minute
note of a token's use in a worker thread; each step ends its transaction before returning: a
request that held a pooled connection while queueing for the next thread could leave every
thread waiting for a connection and every connection waiting for a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hubbub.accounts.actions import Actor, token_use_due, touch_token
from hubbub.accounts.models import ApiToken, User, WebSession
from hubbub.accounts.permissions import PERMISSIONS, Permission, Role, Scope, allows
from hubbub.accounts.queries import bearer_grant, role_in, session_for_cookie, workspaces_of
from hubbub.accounts.security import new_secret, same
from hubbub.settings import Settings
from hubbub.web.deps import SessionDep, read
from hubbub.web.queries import workspace_by_slug
from hubbub.workspaces.models import Workspace

SESSION_COOKIE = "hubbub_session"
CSRF_COOKIE = "hubbub_csrf"  # anonymous forms (sign-in, setup): double-submit cookie
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No principal where one is needed; pages redirect to sign-in, the API answers 401."""

    def __init__(self, detail: str = "sign in first") -> None:
        super().__init__(detail)
        self.detail = detail


class PasswordChangeRequired(Exception):
    """The user signed in with a password Hubbub generated and has not chosen their own yet."""

    detail = "choose your own password first (at /account/password): yours is a one-time one"


@dataclass
class Principal:
    """A signed-in user (with their browser session), an API token, or nobody."""

    user: User | None = None
    web: WebSession | None = None
    token: ApiToken | None = None
    #: The token's workspace, read with it (a token acts in no other).
    token_workspace: Workspace | None = None
    _roles: dict[int, Role | None] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.user is None and self.token is None

    @property
    def actor(self) -> Actor:
        return Actor(
            user_id=self.user.id if self.user else None,
            token_id=self.token.id if self.token else None,
        )

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.token is not None:
            return f"token {self.token.name}"
        return "anonymous"

    def role_in(self, session: Session, workspace_id: int) -> Role | None:
        if self.token is not None:
            return Role(self.token.role) if self.token.workspace_id == workspace_id else None
        if self.user is None:
            return None
        if workspace_id not in self._roles:
            self._roles[workspace_id] = role_in(session, self.user.id, workspace_id)
        return self._roles[workspace_id]

    def workspaces(self, session: Session) -> list[Workspace]:
        """The workspaces this principal may see, for navigation."""
        if self.token is not None:
            found = session.get(Workspace, self.token.workspace_id)
            return [found] if found is not None else []
        if self.user is None:
            return []
        return [workspace for workspace, _role in workspaces_of(session, self.user.id)]


@dataclass(frozen=True)
class Access:
    """What a route gets from :class:`Permit`: the principal and, for workspace routes, the
    workspace of the path and the principal's role in it."""

    principal: Principal
    workspace: Workspace | None = None
    role: Role | None = None

    @property
    def ws(self) -> Workspace:
        """The workspace of a workspace-scoped route (always set there)."""
        assert self.workspace is not None
        return self.workspace


def _resolve(request: Request, session: Session) -> Principal:
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    principal = Principal()
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise HTTPException(401, "only Bearer API tokens are accepted", _bearer_challenge())
        grant = bearer_grant(session, credentials.strip())
        if grant is None:
            raise HTTPException(401, "the API token is unknown or revoked", _bearer_challenge())
        principal = Principal(token=grant[0], token_workspace=grant[1])
    else:
        found = session_for_cookie(session, request.cookies.get(SESSION_COOKIE, ""))
        if found is not None:
            principal = Principal(user=found[1], web=found[0])
    request.state.principal = principal
    request.state.csrf_token = _csrf_token(request, principal)
    # End the transaction so the connection goes back to the pool before this request waits
    # for its next thread: see ``Permit``.
    session.commit()
    return principal


def _note_use(session: Session, token_id: int) -> None:
    """The token was read by another session (see :func:`hubbub.web.deps.read`): read again
    here, where the write is committed."""
    token = session.get(ApiToken, token_id)
    if token is not None:
        touch_token(session, token)
    session.commit()


def _bearer_challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="hubbub"'}


def _csrf_token(request: Request, principal: Principal) -> str:
    """The token forms must carry: the session's secret, or for the anonymous the value of a
    double-submit cookie (issued here when missing)."""
    if principal.web is not None:
        return principal.web.csrf_secret
    if principal.token is not None:
        return ""
    value = request.cookies.get(CSRF_COOKIE, "")
    if request.url.path.startswith("/api/"):
        return value  # API clients use tokens or a session's header; no cookie to hand out
    if not value or len(value) > 100:
        value = new_secret()
        settings: Settings = request.app.state.settings
        set_cookie(request, CSRF_COOKIE, value, secure=secure_cookies(request, settings))
    return value


def secure_cookies(request: Request, settings: Settings) -> bool:
    return settings.cookie_secure or request.url.scheme == "https"


def cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, path /, Secure over HTTPS."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    if max_age is not None:
        morsel["max-age"] = max_age
    return morsel.OutputString()


def set_cookie(
    request: Request, name: str, value: str, *, secure: bool, max_age: int | None = None
) -> None:
    """Queue a cookie for whatever response this request ends with (see SecurityHeaders)."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    state.setdefault("set_cookies", []).append(
        cookie_header(name, value, secure=secure, max_age=max_age)
    )


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method in SAFE_METHODS or principal.token is not None:
        return
    expected: str = request.state.csrf_token
    given = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not given and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else ""
    if not expected or not given or not same(expected, given):
        raise HTTPException(
            403, "the form's CSRF token is missing or wrong; reload the page and try again"
        )


class Permit:
    """The dependency naming a route's permission; see the module docstring."""

    def __init__(self, permission: str, *, one_time_password_ok: bool = False) -> None:
        self.permission: Permission = PERMISSIONS[permission]
        #: Whether a user who must still replace a one-time password may use the route.
        self.one_time_password_ok = one_time_password_ok

    def __repr__(self) -> str:
        return f"Permit({self.permission.name!r})"

    async def __call__(self, request: Request, session: SessionDep) -> Access:
        principal = await read(request, session, lambda reader: _resolve(request, reader))
        if principal.token is not None and token_use_due(principal.token):
            await run_in_threadpool(_note_use, session, principal.token.id)
        permission = self.permission
        if permission.scope is not Scope.PUBLIC and principal.anonymous:
            raise SignInRequired()
        await _check_csrf(request, principal)
        if (
            principal.user is not None
            and principal.user.must_change_password_at is not None
            and permission.scope is not Scope.PUBLIC
            and not self.one_time_password_ok
        ):
            raise PasswordChangeRequired()
        if permission.scope is not Scope.WORKSPACE:
            return Access(principal)
        slug = str(request.path_params.get("slug", ""))
        known = principal.token_workspace
        if principal.token is not None and known is not None and known.slug == slug:
            # A token in its own workspace: its role came with it, nothing more to read.
            return self._allowed(principal, known, Role(principal.token.role))
        return await read(
            request, session, lambda reader: self._workspace_access(reader, principal, slug)
        )

    def _workspace_access(self, session: Session, principal: Principal, slug: str) -> Access:
        workspace = workspace_by_slug(session, slug)
        role = principal.role_in(session, workspace.id) if workspace is not None else None
        session.commit()  # the connection back to the pool while waiting for the next thread
        if workspace is None or role is None:
            raise HTTPException(404, f"no workspace {slug!r}")
        return self._allowed(principal, workspace, role)

    def _allowed(self, principal: Principal, workspace: Workspace, role: Role) -> Access:
        if not allows(self.permission, role):
            raise HTTPException(
                403, f"your role here ({role.value}) does not allow: {self.permission.description}"
            )
        return Access(principal, workspace, role)


def permit_of(dependant: Any) -> list[Permit]:
    """Every :class:`Permit` among a route's dependencies (recursively), for tests and docs."""
    found: list[Permit] = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, Permit):
            found.append(dep.call)
        found += permit_of(dep)
    return found
