"""Every change to accounts, memberships, tokens and sessions; each one writes an audit entry."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import (
    ApiToken,
    AuditEntry,
    LoginFailure,
    Membership,
    User,
    WebSession,
)
from hubbub.accounts.permissions import Role, rank
from hubbub.accounts.security import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    burn_verification,
    digest,
    hash_password,
    needs_rehash,
    new_api_token,
    new_secret,
    verify_password,
)
from hubbub.core.clock import utcnow
from hubbub.settings import Settings
from hubbub.workspaces.actions import DEFAULT_SLUG, ensure_workspace
from hubbub.workspaces.models import Workspace

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets
# One domain label: letters (any script, for IDNs), digits and inner hyphens; no underscore.
DOMAIN_LABEL = re.compile(r"^[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?$")


class AccountError(ValueError):
    """A refused change, with a message fit to show the person who asked for it."""


class NameTaken(AccountError):
    """The name is another live item's (a token): a conflict, not a matter of rights."""


class LoginThrottled(AccountError):
    """Too many recent failures for this account or address; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OneTimePasswordExpired(AccountError):
    """The right one-time password, but older than ``one_time_password_hours``."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API token, or neither (the command line on the server)."""

    user_id: int | None = None
    token_id: int | None = None


CLI = Actor()


def record_audit(
    session: Session,
    action: str,
    *,
    actor: Actor,
    target: str,
    workspace_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (in the caller's transaction, so it commits with it)."""
    entry = AuditEntry(
        workspace_id=workspace_id,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        action=action,
        target=target[:400],
        detail=detail or {},
        at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if not EMAIL.match(value):
        raise AccountError(f"{email!r} is not an e-mail address")
    return value


def check_new_email(email: str) -> str:
    """The address of a new user, lower-cased, or :class:`AccountError` saying what is wrong.

    Stricter than :func:`normalise_email` (which only finds existing users): the shape
    something@domain.tld. Reserved names such as ``.invalid`` or ``.example`` pass on purpose:
    the demo and the tests use them.
    """
    value = email.strip().lower()
    if not value:
        raise AccountError("an e-mail address is needed")
    if any(ch.isspace() for ch in value):
        raise AccountError(f"{email!r} is not an e-mail address: it contains a space")
    if not value.isprintable():
        raise AccountError(f"{email!r} is not an e-mail address: it contains a control character")
    if len(value) > MAX_EMAIL_LENGTH:
        raise AccountError(f"an e-mail address has at most {MAX_EMAIL_LENGTH} characters")
    local, at, domain = value.rpartition("@")
    if not at or not local or "@" in local:
        raise AccountError(f"{email!r} is not an e-mail address: it needs one @ (name@domain.tld)")
    if len(local) > 64:
        raise AccountError(f"{email!r} is not an e-mail address: the part before @ is too long")
    labels = domain.split(".")
    if len(labels) < 2:
        raise AccountError(
            f"{email!r} is not an e-mail address: the domain needs a dot (name@domain.tld)"
        )
    if not all(DOMAIN_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise AccountError(f"{email!r} is not an e-mail address: {domain!r} is not a domain")
    return value


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise AccountError(f"{role!r} is not a role; roles are {names}") from None


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    display_name: str | None = None,
    one_time: bool = False,
    actor: Actor = CLI,
) -> User:
    """A new active user; e-mail addresses are unique, compared lower-cased.

    ``one_time`` when Hubbub made the password up: the user must choose their own after
    signing in (see :func:`set_password`).
    """
    address = check_new_email(email)
    _check_password(password)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise AccountError(f"a user with e-mail {address} exists already")
    user = User(
        email=address,
        display_name=(display_name or address.split("@")[0]).strip()[:200],
        password_hash=hash_password(password),
        active=True,
        created_at=utcnow(),
        must_change_password_at=utcnow() if one_time else None,
    )
    session.add(user)
    session.flush()
    detail: dict[str, Any] = {"email": address}
    if one_time:
        detail["one_time"] = True
    record_audit(session, "user.create", actor=actor, target=f"user:{user.id}", detail=detail)
    return user


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    one_time: bool = False,
    keep_session: str | None = None,
    actor: Actor = CLI,
) -> None:
    """A new password; every browser signed in as the user is signed out (but the session
    ``keep_session``, the one the user chose it in).

    A generated password is ``one_time``: the user is asked for their own after signing in.
    Any other password clears that mark, whoever sets it (the user, a reset link, an admin).
    """
    _check_password(password)
    user.password_hash = hash_password(password)
    user.must_change_password_at = utcnow() if one_time else None
    ending = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session is not None:
        ending = ending.where(WebSession.id != keep_session)
    session.execute(ending)
    detail = {"one_time": True} if one_time else None
    record_audit(session, "user.password", actor=actor, target=f"user:{user.id}", detail=detail)


def _membership(session: Session, workspace_id: int, user_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )


def _actor_role(session: Session, actor: Actor, workspace_id: int) -> Role | None:
    """The acting user's role here; ``None`` for the command line (which may do anything)."""
    if actor.user_id is not None:
        found = _membership(session, workspace_id, actor.user_id)
        if found is None:
            raise AccountError("you are not a member of this workspace")
        return Role(found.role)
    if actor.token_id is not None:
        token = session.get(ApiToken, actor.token_id)
        if token is None or token.workspace_id != workspace_id:
            raise AccountError("this token belongs to another workspace")
        return Role(token.role)
    return None


def _may_grant(session: Session, actor: Actor, workspace_id: int, role: Role) -> None:
    """Nobody hands out a role above their own."""
    own = _actor_role(session, actor, workspace_id)
    if own is not None and rank(role) > rank(own):
        raise AccountError(f"a {own.value} cannot grant the {role.value} role")


def _owners(session: Session, workspace_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER.value)
        )
        or 0
    )


def add_member(
    session: Session, workspace_id: int, user: User, role: Role | str, *, actor: Actor = CLI
) -> Membership:
    """Give ``user`` a role in the workspace; refused when they are a member already."""
    wanted = _role(role)
    _may_grant(session, actor, workspace_id, wanted)
    if _membership(session, workspace_id, user.id) is not None:
        raise AccountError(f"{user.email} is a member already; change their role instead")
    member = Membership(
        user_id=user.id, workspace_id=workspace_id, role=wanted.value, created_at=utcnow()
    )
    session.add(member)
    session.flush()
    record_audit(
        session,
        "member.add",
        actor=actor,
        target=f"user:{user.id}",
        workspace_id=workspace_id,
        detail={"role": wanted.value},
    )
    return member


def change_role(
    session: Session, workspace_id: int, user: User, role: Role | str, *, actor: Actor = CLI
) -> Membership:
    """A new role; nobody raises anyone above their own role, and a workspace keeps an owner."""
    wanted = _role(role)
    member = _membership(session, workspace_id, user.id)
    if member is None:
        raise AccountError(f"{user.email} is not a member of this workspace")
    _may_grant(session, actor, workspace_id, wanted)
    _may_grant(session, actor, workspace_id, Role(member.role))  # nor demote a higher one
    if member.role == Role.OWNER and wanted != Role.OWNER and _owners(session, workspace_id) == 1:
        raise AccountError("the workspace's last owner cannot step down; make another owner first")
    before = member.role
    member.role = wanted.value
    record_audit(
        session,
        "member.role",
        actor=actor,
        target=f"user:{user.id}",
        workspace_id=workspace_id,
        detail={"from": before, "to": wanted.value},
    )
    return member


def remove_member(
    session: Session, workspace_id: int, user: User, *, actor: Actor = CLI
) -> AuditEntry:
    """Take away the user's access to the workspace (the user account stays); the entry that
    records it."""
    member = _membership(session, workspace_id, user.id)
    if member is None:
        raise AccountError(f"{user.email} is not a member of this workspace")
    _may_grant(session, actor, workspace_id, Role(member.role))
    if member.role == Role.OWNER and _owners(session, workspace_id) == 1:
        raise AccountError("the workspace's last owner cannot be removed")
    session.delete(member)
    return record_audit(
        session,
        "member.remove",
        actor=actor,
        target=f"user:{user.id}",
        workspace_id=workspace_id,
        detail={"role": member.role},
    )


def create_token(
    session: Session,
    workspace_id: int,
    role: Role | str,
    name: str,
    *,
    actor: Actor = CLI,
) -> tuple[ApiToken, str]:
    """A new API token and its plaintext, which is never stored and cannot be shown again."""
    wanted = _role(role)
    _may_grant(session, actor, workspace_id, wanted)
    label = name.strip()
    if not label or len(label) > 100:
        raise AccountError("a token needs a name of 1 to 100 characters")
    twin = session.scalar(
        select(ApiToken.name).where(
            ApiToken.workspace_id == workspace_id,
            ApiToken.revoked_at.is_(None),
            func.lower(ApiToken.name) == label.lower(),
        )
    )
    if twin is not None:  # two live tokens of one name: which one to revoke would be a guess
        raise NameTaken(f"a token named {twin!r} is in use already; choose another name")
    plaintext = new_api_token()
    token = ApiToken(
        workspace_id=workspace_id,
        role=wanted.value,
        name=label,
        token_hash=digest(plaintext),
        prefix=plaintext[:12],
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        "token.create",
        actor=actor,
        target=f"token:{token.id}",
        workspace_id=workspace_id,
        detail={"name": label, "role": wanted.value},
    )
    return token, plaintext


def revoke_token(
    session: Session, workspace_id: int, token_id: int, *, actor: Actor = CLI
) -> ApiToken:
    """Revoke a token of this workspace (revoking twice is allowed and changes nothing)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.workspace_id != workspace_id:
        raise AccountError(f"no token {token_id} in this workspace")
    _may_grant(session, actor, workspace_id, Role(token.role))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(
            session,
            "token.revoke",
            actor=actor,
            target=f"token:{token.id}",
            workspace_id=workspace_id,
            detail={"name": token.name},
        )
    return token


def token_use_due(token: ApiToken, now: datetime | None = None) -> bool:
    """Whether a use is to be noted: at most once a minute, so reads do not turn into a write
    each."""
    moment = now or utcnow()
    return token.last_used_at is None or moment - token.last_used_at > timedelta(minutes=1)


def touch_token(session: Session, token: ApiToken, now: datetime | None = None) -> None:
    """Note a use (see :func:`token_use_due`)."""
    moment = now or utcnow()
    if token_use_due(token, moment):
        token.last_used_at = moment


def start_session(
    session: Session, user: User, settings: Settings, *, address: str = ""
) -> tuple[str, WebSession]:
    """A new browser session; returns the cookie value (only its digest is stored)."""
    cookie = new_secret()
    now = utcnow()
    web = WebSession(
        id=digest(cookie),
        user_id=user.id,
        csrf_secret=new_secret(),
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(web)
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.flush()
    record_audit(
        session,
        "login",
        actor=Actor(user_id=user.id),
        target=f"user:{user.id}",
        detail={"address": address},
    )
    return cookie, web


def _retry_after(
    session: Session,
    column: Any,
    value: str,
    since: datetime,
    now: datetime,
    limit: int,
    window: int,
) -> int | None:
    """Seconds until ``value`` is below ``limit`` failures in the window, or None if it is now."""
    times = list(
        session.scalars(
            select(LoginFailure.at)
            .where(column == value, LoginFailure.at >= since)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        )
    )
    if len(times) < limit:
        return None
    free_at = times[-1] + timedelta(seconds=window)
    return max(1, math.ceil((free_at - now).total_seconds()))


def _throttle(session: Session, email: str, address: str, settings: Settings) -> None:
    now = utcnow()
    window = settings.login_throttle_seconds
    since = now - timedelta(seconds=window)
    checks = (
        (LoginFailure.email, email, settings.login_max_failures_per_account, "this account"),
        (LoginFailure.address, address, settings.login_max_failures_per_address, "your address"),
    )
    for column, value, limit, who in checks:
        wait = _retry_after(session, column, value, since, now, limit, window)
        if wait is not None:
            minutes = math.ceil(wait / 60)
            raise LoginThrottled(
                f"Too many failed sign-ins for {who}. Try again in {minutes} minute"
                f"{'' if minutes == 1 else 's'}.",
                wait,
            )


def login(
    session: Session, email: str, password: str, settings: Settings, *, address: str
) -> tuple[str, WebSession] | None:
    """Check the password (argon2) under the throttle: a new session, or ``None`` when the
    e-mail, the password or the account's state is wrong (never saying which).

    A failure is recorded and returned rather than raised, so the caller's transaction commits
    it and the throttle counts it. Raises :class:`LoginThrottled` before checking anything, and
    :class:`OneTimePasswordExpired` for a right password Hubbub made up too long ago.
    """
    try:
        key = normalise_email(email)
    except AccountError:
        key = email.strip().lower()[:320]
    address = address[:64]
    _throttle(session, key, address, settings)
    user = session.scalar(select(User).where(User.email == key))
    if user is None:
        burn_verification(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and user.active
    if not ok or user is None:
        now = utcnow()
        session.add(LoginFailure(email=key, address=address, at=now))
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.at < now - timedelta(seconds=settings.login_throttle_seconds)
            )
        )
        record_audit(
            session,
            "login.failed",
            actor=CLI if user is None else Actor(user_id=user.id),
            target=f"user:{user.id}" if user else f"email:{key}",
            detail={"address": address},
        )
        return None
    issued = user.must_change_password_at
    if issued is not None and utcnow() - issued > timedelta(hours=settings.one_time_password_hours):
        # Said only to whoever knows the password: a leaked one stops working by itself.
        raise OneTimePasswordExpired(
            f"This one-time password has expired (they last {settings.one_time_password_hours:g}"
            " hours). Ask whoever runs Hubbub for a new one, or reset your password."
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.execute(delete(LoginFailure).where(LoginFailure.email == key))
    return start_session(session, user, settings, address=address)


def logout(session: Session, web: WebSession) -> None:
    session.delete(web)
    record_audit(session, "logout", actor=Actor(user_id=web.user_id), target=f"user:{web.user_id}")


def setup_owner(
    session: Session, email: str, password: str, *, display_name: str | None = None
) -> User:
    """First run: the first user becomes owner of every workspace (the default one is made
    when there is none). Refused once any user exists."""
    if session.scalar(select(func.count()).select_from(User)):
        raise AccountError("setup is done already; sign in instead")
    user = create_user(session, email, password, display_name=display_name)
    workspaces = list(session.scalars(select(Workspace).order_by(Workspace.id)))
    if not workspaces:
        workspaces = [ensure_workspace(session, DEFAULT_SLUG, "Default")]
    for workspace in workspaces:
        add_member(session, workspace.id, user, Role.OWNER)
    return user
