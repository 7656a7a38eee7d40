"""Mail to teammates @-mentioned in inbox notes.

``add_note`` writes one ``MentionMail`` per mentioned teammate in the note's own transaction;
the pipeline's ``mentions`` job sends the due ones here. Each is claimed (a lease) before it is
sent and marked sent after the SMTP server accepted it, so two workers never send the same one;
a refused or unreachable server leaves it pending with backoff, and after ``MAX_ATTEMPTS`` it is
``dead``. A mention older than ``STALE_AFTER`` when its turn comes (SMTP configured only later,
a long outage) is ``expired`` instead: a day-old "you were mentioned" is noise. Without SMTP
nothing is claimed.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from hubbub.accounts.mail import smtp_ready, smtp_send
from hubbub.accounts.models import User
from hubbub.core.clock import utcnow
from hubbub.inbox.models import Conversation, MentionMail, Note
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.models import Workspace

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STALE_AFTER = timedelta(hours=24)
LEASE = timedelta(minutes=5)
PER_RUN = 200
MAX_QUOTED_CHARS = 2000


@dataclass
class MentionMailReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int) -> timedelta:
    """1, 4, 16, 64 minutes after the 1st, 2nd, 3rd, 4th failure."""
    return timedelta(minutes=4 ** (attempts - 1))


def mention_message(
    settings: Settings, to: str, writer: str, workspace: Workspace, conversation_id: int, body: str
) -> EmailMessage:
    """Plain text only: the note is user-written, and no mail client renders it as HTML."""
    message = EmailMessage()
    message["From"] = settings.smtp_from or ""
    message["To"] = to
    # Names are user-written: folded onto one line, so they cannot add headers.
    who, where = " ".join(writer.split()), " ".join(workspace.name.split())
    message["Subject"] = f"{who} mentioned you · {where} · conversation {conversation_id}"
    quoted = body if len(body) <= MAX_QUOTED_CHARS else body[:MAX_QUOTED_CHARS] + "…"
    lines = [f"{who} mentioned you in a note on conversation {conversation_id}:", ""]
    lines += [f"> {line}" for line in quoted.splitlines()] + [""]
    if settings.public_url:
        base = settings.public_url.rstrip("/")
        lines.append(f"Open it: {base}/w/{workspace.slug}/inbox/{conversation_id}")
    else:
        lines.append(f"Open it in Hubbub: workspace {workspace.slug}, inbox, {conversation_id}.")
    message.set_content("\n".join(lines) + "\n")
    return message


def send_due_mentions(
    engine: Engine,
    settings: Settings,
    *,
    workspace_id: int | None = None,
    now: datetime | None = None,
) -> MentionMailReport:
    """Send the mention mails whose time has come (nothing while SMTP is not configured)."""
    result = MentionMailReport()
    if not smtp_ready(settings):
        return result
    moment = now or utcnow()
    with Session(engine) as session:
        query = select(MentionMail.id).where(
            MentionMail.state == "pending", MentionMail.next_attempt_at <= moment
        )
        if workspace_id is not None:
            query = query.where(MentionMail.workspace_id == workspace_id)
        due = list(session.scalars(query.order_by(MentionMail.id).limit(PER_RUN)))
    for mail_id in due:
        claimed = _claim(engine, settings, mail_id, moment)
        if claimed is None:  # another worker has it
            continue
        if claimed == "expired":
            result.expired += 1
            continue
        error: str | None = None
        try:
            smtp_send(settings, claimed)
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        state = _finish(engine, mail_id, error, now or utcnow())
        if state == "sent":
            result.sent += 1
        else:
            result.retrying += state == "pending"
            result.dead += state == "dead"
            result.errors.append(f"mention mail {mail_id}: {error}")
            log.warning("mention mail %s not sent (%s): %s", mail_id, state, error)
    return result


def _claim(
    engine: Engine, settings: Settings, mail_id: int, moment: datetime
) -> EmailMessage | Literal["expired"] | None:
    """Lease the mail and build its message; None when another worker has it."""
    with transaction(engine) as session:
        taken = session.execute(
            update(MentionMail)
            .where(
                MentionMail.id == mail_id,
                MentionMail.state == "pending",
                MentionMail.next_attempt_at <= moment,
            )
            .values(next_attempt_at=moment + LEASE, attempts=MentionMail.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            return None
        mail = session.get_one(MentionMail, mail_id)
        if mail.created_at < moment - STALE_AFTER:
            mail.state = "expired"
            return "expired"
        note = session.get_one(Note, mail.note_id)
        conversation = session.get_one(Conversation, note.conversation_id)
        workspace = session.get_one(Workspace, conversation.workspace_id)
        to = session.get_one(User, mail.user_id)
        writer = session.get(User, note.author_user_id) if note.author_user_id else None
        name = (writer.display_name or writer.email) if writer is not None else "A teammate"
        return mention_message(settings, to.email, name, workspace, conversation.id, note.body)


def _finish(engine: Engine, mail_id: int, error: str | None, moment: datetime) -> str:
    with transaction(engine) as session:
        mail = session.get_one(MentionMail, mail_id)
        if error is None:
            mail.state, mail.sent_at, mail.last_error = "sent", moment, None
        elif mail.attempts >= MAX_ATTEMPTS:
            mail.state, mail.last_error = "dead", error[:2000]
        else:
            mail.next_attempt_at = moment + retry_delay(mail.attempts)
            mail.last_error = error[:2000]
        return mail.state
