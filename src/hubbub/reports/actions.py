"""Every write of the reports feature: schedules, and the run ledger's claims and outcomes.

A period is claimed by inserting its run row (``ON CONFLICT DO NOTHING`` on schedule + period)
or by a conditional update of a due retry, so of two workers only one sends it; a run that
was ``sent`` is never claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hubbub.accounts.actions import CLI, AccountError, Actor, normalise_email, record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.inbox.queries import policy
from hubbub.reports.models import CADENCES, ReportRun, ReportSchedule
from hubbub.reports.queries import report_topics
from hubbub.reports.schedule import PeriodError, zone
from hubbub.reports.sections import ordered
from hubbub.store.dialect import insert_ignoring_conflicts

MAX_RECIPIENTS = 50
MAX_ATTEMPTS = 8
BACKOFF = timedelta(minutes=5)  # doubled after each failed attempt
BACKOFF_MAX = timedelta(hours=6)
#: A run left ``sending`` this long (its worker died) may be claimed again.
SENDING_LEASE = timedelta(minutes=15)


class ReportsError(Rejected):
    """A refused change, with a message fit to show the person who asked."""

    def __init__(self, detail: str) -> None:
        super().__init__("reports", detail)


def _recipients(addresses: Sequence[str]) -> list[str]:
    found: list[str] = []
    for address in addresses:
        try:
            email = normalise_email(address)
        except AccountError as exc:
            raise ReportsError(str(exc)) from None
        if email not in found:
            found.append(email)
    if not found:
        raise ReportsError("a schedule needs at least one recipient")
    if len(found) > MAX_RECIPIENTS:
        raise ReportsError(f"at most {MAX_RECIPIENTS} recipients")
    return found


def add_schedule(
    session: Session,
    workspace_id: int,
    name: str,
    cadence: str,
    recipients: Sequence[str],
    *,
    sections: Sequence[str] = (),
    topics: Sequence[str] = (),
    timezone: str | None = None,
    send_hour: int = 8,
    actor: Actor = CLI,
    now: datetime | None = None,
) -> ReportSchedule:
    """A new schedule; its first report is of the first period that ends after now.

    The zone defaults to the workspace's business-hours zone (UTC when it has none).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ReportsError("a schedule needs a name of at most 100 characters")
    if cadence not in CADENCES:
        raise ReportsError(f"cadence is one of {', '.join(CADENCES)}")
    if not 0 <= send_hour <= 23:
        raise ReportsError("the sending hour is 0 to 23")
    try:
        keys = ordered(list(sections))
        tz = zone(timezone or policy(session, workspace_id).schedule.zone.key)
    except KeyError as exc:
        raise ReportsError(str(exc.args[0])) from None
    except PeriodError as exc:
        raise ReportsError(str(exc)) from None
    names = sorted({t.strip() for t in topics if t.strip()})
    if names:
        try:
            report_topics(session, workspace_id, names)  # a typo would fail every mailing
        except KeyError as exc:
            raise ReportsError(f"no topic {exc.args[0]!r} in this workspace") from None
    taken = session.scalar(
        select(ReportSchedule.id).where(
            ReportSchedule.workspace_id == workspace_id, ReportSchedule.name == name
        )
    )
    if taken is not None:
        raise ReportsError(f"a schedule named {name!r} exists already")
    found = ReportSchedule(
        workspace_id=workspace_id,
        name=name,
        cadence=cadence,
        sections=keys,
        topics=names,
        recipients=_recipients(recipients),
        timezone=tz.key,
        send_hour=send_hour,
        active=True,
        created_by=actor.user_id,
        created_at=now or utcnow(),
    )
    session.add(found)
    session.flush()
    record_audit(
        session,
        "report.schedule_add",
        actor=actor,
        target=f"report_schedule:{found.id}",
        workspace_id=workspace_id,
        detail={"name": name, "cadence": cadence, "recipients": len(found.recipients)},
    )
    return found


def remove_schedule(
    session: Session, workspace_id: int, schedule_id: int, *, actor: Actor = CLI
) -> ReportSchedule:
    """Delete a schedule of the workspace with its run ledger."""
    found = session.get(ReportSchedule, schedule_id)
    if found is None or found.workspace_id != workspace_id:
        raise ReportsError(f"no report schedule {schedule_id} in this workspace")
    session.delete(found)
    record_audit(
        session,
        "report.schedule_remove",
        actor=actor,
        target=f"report_schedule:{schedule_id}",
        workspace_id=workspace_id,
        detail={"name": found.name},
    )
    session.flush()
    return found


@dataclass(frozen=True)
class Claim:
    run_id: int
    attempt: int


def claim_run(
    session: Session, found: ReportSchedule, start: datetime, end: datetime, now: datetime
) -> Claim | None:
    """Claim the period for sending; None when it was sent, is dead, waits out its backoff, or
    another worker holds it. The caller commits before sending."""
    session.execute(
        insert_ignoring_conflicts(session, ReportRun.__table__).values(  # type: ignore[arg-type]
            workspace_id=found.workspace_id,
            schedule_id=found.id,
            period_start=start,
            period_end=end,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    run_id = session.scalar(
        select(ReportRun.id).where(
            ReportRun.schedule_id == found.id, ReportRun.period_start == start
        )
    )
    assert run_id is not None
    due = or_(
        (ReportRun.state == "pending") & (ReportRun.next_attempt_at <= now),
        (ReportRun.state == "sending") & (ReportRun.claimed_at < now - SENDING_LEASE),
    )
    claimed = session.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id, due)
        .values(state="sending", attempts=ReportRun.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    attempts = session.scalar(select(ReportRun.attempts).where(ReportRun.id == run_id))
    return Claim(run_id, int(attempts or 1))


def finish_run(session: Session, claim: Claim, *, error: str | None, now: datetime) -> str:
    """Record the attempt's outcome; returns the run's new state."""
    values: dict[str, Any]
    if error is None:
        state, values = "sent", {"sent_at": now, "last_error": None}
    elif claim.attempt >= MAX_ATTEMPTS:
        state, values = "dead", {"last_error": error[:2000]}
    else:
        wait = min(BACKOFF * 2 ** (claim.attempt - 1), BACKOFF_MAX)
        state, values = "pending", {"last_error": error[:2000], "next_attempt_at": now + wait}
    session.execute(
        update(ReportRun)
        .where(ReportRun.id == claim.run_id, ReportRun.state == "sending")
        .values(state=state, claimed_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return state
