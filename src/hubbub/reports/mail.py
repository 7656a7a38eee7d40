"""Sending due scheduled reports by SMTP: the HTML report as the body, the PDF attached.

Each period of each schedule is claimed in the run ledger before it is rendered and sent, and
marked ``sent`` after the SMTP server accepted it, so a period goes out once however many
workers run; a refused or unreachable server leaves it pending for a retry with backoff. (A
crash between the server's acceptance and the ledger's commit re-sends that one message after
the lease: SMTP has no idempotency key to prevent it.)
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.mail import smtp_ready, smtp_send
from hubbub.core.clock import utcnow
from hubbub.reports.actions import claim_run, finish_run
from hubbub.reports.models import ReportSchedule
from hubbub.reports.queries import waiting
from hubbub.reports.render import Report, build_report, render_html, render_pdf
from hubbub.reports.schedule import due_at, last_complete_period, zone
from hubbub.settings import Settings
from hubbub.store.engine import transaction

log = logging.getLogger(__name__)


def report_message(settings: Settings, recipients: list[str], report: Report) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from or ""
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"{report.title} · {report.workspace} · {report.period}"
    message.set_content(
        f"{report.title} for {report.workspace}, {report.period}.\n"
        "The report is attached as a PDF; an HTML mail client shows it inline.\n"
    )
    message.add_alternative(render_html(report), subtype="html")
    safe_name = "".join(c if c.isalnum() else "-" for c in report.title.lower()) or "report"
    message.add_attachment(
        render_pdf(report),
        maintype="application",
        subtype="pdf",
        filename=f"{safe_name}-{report.start.date().isoformat()}.pdf",
    )
    return message


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def send_due(
    engine: Engine,
    settings: Settings,
    *,
    workspace_id: int | None = None,
    now: datetime | None = None,
) -> SendReport:
    """Send every active schedule's last complete period whose sending time has come and that
    has not been sent; does nothing (and claims nothing) while SMTP is not configured."""
    result = SendReport()
    if not smtp_ready(settings):
        return result
    moment = now or utcnow()
    with Session(engine) as session:
        query = select(ReportSchedule).where(ReportSchedule.active.is_(True))
        if workspace_id is not None:
            query = query.where(ReportSchedule.workspace_id == workspace_id)
        found = list(session.scalars(query.order_by(ReportSchedule.id)))
        session.expunge_all()
    for schedule in found:
        tz = zone(schedule.timezone)
        start, end = last_complete_period(schedule.cadence, moment, tz)
        if end <= schedule.created_at or moment < due_at(end, schedule.send_hour, tz):
            continue
        with Session(engine) as session:
            if waiting(session, schedule.id, start, moment):
                continue
        with transaction(engine) as session:
            claim = claim_run(session, schedule, start, end, moment)
        if claim is None:
            continue
        error: str | None = None
        try:
            with Session(engine) as session:
                report = build_report(
                    session,
                    schedule.workspace_id,
                    start,
                    end,
                    sections=schedule.sections,
                    topics=schedule.topics,
                    tz=tz,
                    title=schedule.name,
                    now=moment,
                )
            smtp_send(settings, report_message(settings, list(schedule.recipients), report))
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a broken section must not keep the run claimed forever
            log.exception("report %s could not be built", schedule.id)
            error = f"{type(exc).__name__}: {exc}"
        with transaction(engine) as session:
            state = finish_run(session, claim, error=error, now=utcnow() if now is None else now)
        if state == "sent":
            result.sent += 1
        else:
            result.retrying += state == "pending"
            result.dead += state == "dead"
            result.errors.append(f"{schedule.name}: {error}")
            log.warning("report %s not sent (%s): %s", schedule.id, state, error)
    return result
