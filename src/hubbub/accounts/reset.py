"""Password reset by an e-mailed link, when SMTP is configured.

The link carries a random single-use token; the database keeps only its SHA-256, with an
expiry. Asking for a link answers the same whether the address exists or not, and every
request (known address or not) is recorded, so the throttle reveals nothing either. Using a
link sets the password with :func:`set_password`, which signs every browser out.
"""

from __future__ import annotations

import logging
import math
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import ForeignKey, Index, String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from hubbub.accounts.actions import (
    CLI,
    AccountError,
    Actor,
    normalise_email,
    record_audit,
    set_password,
)
from hubbub.accounts.mail import smtp_ready, smtp_send
from hubbub.accounts.models import User
from hubbub.accounts.security import digest, new_secret
from hubbub.core.clock import utcnow
from hubbub.settings import Settings
from hubbub.store.base import Base
from hubbub.store.types import BigId, UTCDateTime

log = logging.getLogger(__name__)

#: Requests for one address, and from one client address, per :data:`THROTTLE_WINDOW`.
MAX_PER_EMAIL = 3
MAX_PER_CLIENT = 10
THROTTLE_WINDOW = timedelta(hours=1)
INVALID_LINK = "This reset link is invalid, used or expired. Ask for a new one."


class PasswordReset(Base):
    """One request for a link; ``token_hash`` is empty when no such active user exists."""

    __tablename__ = "password_resets"
    __table_args__ = (
        Index("ix_password_resets_email_created_at", "email", "created_at"),
        Index("ix_password_resets_address_created_at", "address", "created_at"),
        Index("ix_password_resets_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResetThrottled(AccountError):
    """Too many recent requests for this address or from this client; ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many reset requests. Try again in {minutes} minute{'' if minutes == 1 else 's'}."
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class ResetLink:
    """A token to mail: ``token`` is the only copy of the secret."""

    email: str
    token: str


def _throttle(session: Session, email: str, address: str, now: datetime) -> None:
    since = now - THROTTLE_WINDOW
    for column, value, limit in (
        (PasswordReset.email, email, MAX_PER_EMAIL),
        (PasswordReset.address, address, MAX_PER_CLIENT),
    ):
        times = list(
            session.scalars(
                select(PasswordReset.created_at)
                .where(column == value, PasswordReset.created_at >= since)
                .order_by(PasswordReset.created_at.desc())
                .limit(limit)
            )
        )
        if len(times) >= limit:
            free_at = times[-1] + THROTTLE_WINDOW
            raise ResetThrottled(max(1, math.ceil((free_at - now).total_seconds())))


def request_reset(
    session: Session, settings: Settings, email: str, *, address: str
) -> ResetLink | None:
    """Record a request; a link to mail when the address is an active user's, else ``None``.

    Raises :class:`ResetThrottled` the same way for known and unknown addresses.
    """
    now = utcnow()
    try:
        key = normalise_email(email)
    except AccountError:
        key = email.strip().lower()[:320]
    address = address[:64]
    _throttle(session, key, address, now)
    session.execute(delete(PasswordReset).where(PasswordReset.expires_at < now - THROTTLE_WINDOW))
    user = session.scalar(select(User).where(User.email == key))
    token = new_secret() if user is not None and user.active else None
    session.add(
        PasswordReset(
            user_id=user.id if user is not None and token else None,
            email=key,
            address=address,
            token_hash=digest(token) if token else None,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.password_reset_minutes),
        )
    )
    session.flush()
    record_audit(
        session,
        "password.reset_requested",
        actor=CLI,
        target=f"user:{user.id}" if user else f"email:{key}",
        detail={"address": address, "sent": token is not None},
    )
    return ResetLink(key, token) if token else None


def _valid(session: Session, token: str, now: datetime) -> PasswordReset | None:
    if not token or len(token) > 200:
        return None
    found = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest(token)))
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    return found


def token_valid(session: Session, token: str) -> bool:
    """Whether the link can still be used (for showing its form)."""
    return _valid(session, token, utcnow()) is not None


def reset_password(session: Session, token: str, password: str, *, address: str = "") -> User:
    """Set the password of the link's user; the link and the user's other links stop working
    and every browser signed in as the user is signed out."""
    now = utcnow()
    found = _valid(session, token, now)
    user = session.get(User, found.user_id) if found and found.user_id else None
    if found is None or user is None or not user.active:
        raise AccountError(INVALID_LINK)
    # Claim the link first: of two concurrent uses, only one updates the row.
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == found.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AccountError(INVALID_LINK)
    set_password(session, user, password, actor=Actor(user_id=user.id))
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    record_audit(
        session,
        "password.reset",
        actor=Actor(user_id=user.id),
        target=f"user:{user.id}",
        detail={"address": address[:64]},
    )
    return user


def pending_count(session: Session, user_id: int) -> int:
    """Unused, unexpired links of a user (for tests and the CLI)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(PasswordReset)
            .where(
                PasswordReset.user_id == user_id,
                PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > utcnow(),
            )
        )
        or 0
    )


def reset_message(settings: Settings, to: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from or ""
    message["To"] = to
    message["Subject"] = "Reset your Hubbub password"
    message.set_content(
        "Someone (hopefully you) asked to reset the password of this Hubbub account.\n\n"
        f"Open this link within {settings.password_reset_minutes} minutes to choose a new "
        f"password:\n\n{link}\n\n"
        "If you did not ask, ignore this message: your password stays as it is.\n"
    )
    return message


def send_reset_mail(settings: Settings, to: str, link: str) -> bool:
    """Send the link by SMTP; False (logged without the link) when the server refuses."""
    if not smtp_ready(settings):
        return False
    message = reset_message(settings, to, link)
    try:
        smtp_send(settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("password reset mail to the SMTP server failed: %s", type(exc).__name__)
        return False
    return True
