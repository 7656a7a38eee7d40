"""Report periods in a time zone, and scheduled sending: once per period to a real SMTP server
(aiosmtpd on 127.0.0.1), retried after the server refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.reports.actions import ReportsError, add_schedule, remove_schedule
from hubbub.reports.mail import send_due
from hubbub.reports.models import ReportRun, ReportSchedule
from hubbub.reports.schedule import (
    PeriodError,
    due_at,
    explicit_period,
    last_complete_period,
    period_containing,
)
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.reports.conftest import WEEK_END, WEEK_START, Loaded, Mailbox

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_weeks_run_monday_to_monday_in_the_zone() -> None:
    # Monday 2026-07-06 00:30 in Berlin is still Sunday 22:30 UTC
    now = _utc(2026, 7, 5, 22, 30)
    assert last_complete_period("week", now, BERLIN) == (
        _utc(2026, 6, 28, 22),
        _utc(2026, 7, 5, 22),
    )
    assert last_complete_period("week", now, UTC_ZONE) == (_utc(2026, 6, 22), _utc(2026, 6, 29))
    # exactly at a week's end, that week is complete
    assert last_complete_period("week", WEEK_END, UTC_ZONE) == (WEEK_START, WEEK_END)


def test_months_follow_the_calendar_and_daylight_saving() -> None:
    # March 2026 in Berlin starts in winter time (UTC+1) and ends in summer time (UTC+2)
    assert period_containing("month", _utc(2026, 3, 15), BERLIN) == (
        _utc(2026, 2, 28, 23),
        _utc(2026, 3, 31, 22),
    )
    assert last_complete_period("month", _utc(2026, 1, 1, 0, 0), UTC_ZONE) == (
        _utc(2025, 12, 1),
        _utc(2026, 1, 1),
    )
    assert last_complete_period("month", _utc(2028, 3, 10), UTC_ZONE) == (
        _utc(2028, 2, 1),
        _utc(2028, 3, 1),
    )
    with pytest.raises(PeriodError):
        period_containing("fortnight", _utc(2026, 3, 15), UTC_ZONE)


def test_explicit_dates_are_whole_local_days() -> None:
    start, end = explicit_period(datetime(2026, 7, 1).date(), datetime(2026, 7, 2).date(), NEW_YORK)
    assert (start, end) == (_utc(2026, 7, 1, 4), _utc(2026, 7, 3, 4))
    with pytest.raises(PeriodError):
        explicit_period(datetime(2026, 7, 2).date(), datetime(2026, 7, 1).date(), NEW_YORK)


def test_due_time_is_the_local_hour_after_the_period() -> None:
    _start, end = last_complete_period("week", _utc(2026, 7, 7), NEW_YORK)
    assert end == _utc(2026, 7, 6, 4)  # Monday 00:00 EDT
    assert due_at(end, 8, NEW_YORK) == _utc(2026, 7, 6, 12)


def _schedule(engine: Engine, workspace_id: int, **kwargs: object) -> int:
    values: dict[str, object] = {
        "sections": ["overview", "alerts"],
        "timezone": "UTC",
        "send_hour": 8,
        "now": WEEK_START,
    }
    values.update(kwargs)
    with transaction(engine) as session:
        return add_schedule(
            session,
            workspace_id,
            "Weekly digest",
            "week",
            ["Boss@Acme.example", "team@acme.example"],
            **values,  # type: ignore[arg-type]
        ).id


def _runs(engine: Engine) -> list[tuple[datetime, str, int]]:
    with Session(engine) as session:
        return [
            (r.period_start, r.state, r.attempts)
            for r in session.scalars(select(ReportRun).order_by(ReportRun.period_start))
        ]


def test_a_due_report_is_mailed_once_with_its_pdf(
    engine: Engine, mail_settings: Settings, loaded: Loaded, mailbox: Mailbox
) -> None:
    _schedule(engine, loaded.workspace_id)
    early = send_due(engine, mail_settings, now=WEEK_END + timedelta(hours=7, minutes=59))
    assert early.sent == 0 and mailbox.messages == [] and _runs(engine) == []

    at = WEEK_END + timedelta(hours=8)
    assert send_due(engine, mail_settings, now=at).sent == 1
    for later in (at, at + timedelta(hours=1), at + timedelta(days=6)):
        assert send_due(engine, mail_settings, now=later).sent == 0
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "boss@acme.example, team@acme.example"
    assert "Weekly digest" in message["Subject"] and "2026-06-29" in message["Subject"]
    parts = {part.get_content_type(): part for part in message.walk()}
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "<script>" not in html
    assert "volume_spike" in html and 'id="section-overview"' in html
    assert 'id="section-inbox"' not in html  # only the chosen sections
    pdf = parts["application/pdf"]
    assert pdf.get_filename().endswith(".pdf")
    assert pdf.get_payload(decode=True).startswith(b"%PDF-")
    assert _runs(engine) == [(WEEK_START, "sent", 1)]

    # the next week is its own period
    assert send_due(engine, mail_settings, now=at + timedelta(days=7)).sent == 1
    assert len(mailbox.messages) == 2
    assert [state for _start, state, _n in _runs(engine)] == ["sent", "sent"]


def test_a_refused_message_is_retried_after_its_backoff(
    engine: Engine, mail_settings: Settings, loaded: Loaded, mailbox: Mailbox
) -> None:
    _schedule(engine, loaded.workspace_id)
    mailbox.refuse = 1
    at = WEEK_END + timedelta(hours=9)
    first = send_due(engine, mail_settings, now=at)
    assert (first.sent, first.retrying) == (0, 1)
    assert "451" in first.errors[0]
    assert _runs(engine) == [(WEEK_START, "pending", 1)]
    assert send_due(engine, mail_settings, now=at + timedelta(minutes=4)).sent == 0  # backoff
    assert send_due(engine, mail_settings, now=at + timedelta(minutes=5)).sent == 1
    assert send_due(engine, mail_settings, now=at + timedelta(minutes=30)).sent == 0
    assert len(mailbox.messages) == 1
    assert _runs(engine) == [(WEEK_START, "sent", 2)]


def test_an_unreachable_server_is_retried_too(
    engine: Engine, settings: Settings, loaded: Loaded, mailbox: Mailbox
) -> None:
    _schedule(engine, loaded.workspace_id)
    closed = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": 1,  # nothing listens there
            "smtp_from": "reports@acme.example",
            "smtp_starttls": False,
        }
    )
    result = send_due(engine, closed, now=WEEK_END + timedelta(hours=9))
    assert result.retrying == 1 and "ConnectionRefused" in result.errors[0]
    assert _runs(engine) == [(WEEK_START, "pending", 1)]


def test_the_schedule_zone_sets_the_sending_time(
    engine: Engine, mail_settings: Settings, loaded: Loaded, mailbox: Mailbox
) -> None:
    _schedule(engine, loaded.workspace_id, timezone="America/New_York")
    # the New York week ends Monday 04:00 UTC; 08:00 local is 12:00 UTC
    assert send_due(engine, mail_settings, now=_utc(2026, 7, 6, 11, 59)).sent == 0
    assert send_due(engine, mail_settings, now=_utc(2026, 7, 6, 12)).sent == 1
    assert _runs(engine) == [(_utc(2026, 6, 29, 4), "sent", 1)]


def test_the_workspace_zone_is_the_default(engine: Engine, loaded: Loaded) -> None:
    from hubbub.inbox.actions import set_business_hours
    from hubbub.inbox.sla import DEFAULT_WEEKLY

    with transaction(engine) as session:
        set_business_hours(
            session,
            loaded.workspace_id,
            "Europe/Berlin",
            DEFAULT_WEEKLY,
            first_response_minutes=60,
            next_response_minutes=120,
        )
    schedule_id = _schedule(engine, loaded.workspace_id, timezone=None)
    with Session(engine) as session:
        found = session.get(ReportSchedule, schedule_id)
        assert found is not None and found.timezone == "Europe/Berlin"


def test_nothing_is_claimed_without_smtp_or_before_the_schedule_existed(
    engine: Engine, settings: Settings, mail_settings: Settings, loaded: Loaded
) -> None:
    _schedule(engine, loaded.workspace_id, now=WEEK_END + timedelta(hours=1))
    assert send_due(engine, settings, now=WEEK_END + timedelta(days=8)).sent == 0
    assert _runs(engine) == []
    # created after the week ended: its first report is of the next week
    assert send_due(engine, mail_settings, now=WEEK_END + timedelta(hours=9)).sent == 0
    assert send_due(engine, mail_settings, now=WEEK_END + timedelta(days=7, hours=9)).sent == 1
    assert _runs(engine) == [(WEEK_END, "sent", 1)]


def test_schedules_are_checked_and_removed_with_their_runs(
    engine: Engine, mail_settings: Settings, loaded: Loaded, workspace_id: int
) -> None:
    with transaction(engine) as session:
        for kwargs, message in (
            ({"recipients": ["not an address"]}, "not an e-mail"),
            ({"recipients": []}, "at least one recipient"),
            ({"cadence": "daily"}, "cadence"),
            ({"sections": ["nope"]}, "nope"),
            ({"timezone": "Mars/Olympus"}, "time zone"),
            ({"topics": ["skates", "nope"]}, "no topic .nope. in this workspace"),
        ):
            values: dict[str, object] = {"cadence": "week", "recipients": ["a@acme.example"]}
            values.update(kwargs)
            with pytest.raises(ReportsError, match=message):
                add_schedule(
                    session,
                    workspace_id,
                    "x",
                    values.pop("cadence"),  # type: ignore[arg-type]
                    values.pop("recipients"),  # type: ignore[arg-type]
                    **values,  # type: ignore[arg-type]
                )
    schedule_id = _schedule(engine, workspace_id)
    with pytest.raises(ReportsError, match="exists already"), transaction(engine) as session:
        add_schedule(session, workspace_id, "Weekly digest", "week", ["a@acme.example"])
    assert send_due(engine, mail_settings, now=WEEK_END + timedelta(hours=9)).sent == 1
    with transaction(engine) as session:
        other = session.scalar(select(func.max(ReportSchedule.workspace_id))) or 0
        with pytest.raises(ReportsError, match="no report schedule"):
            remove_schedule(session, other + 1, schedule_id)
        remove_schedule(session, workspace_id, schedule_id)
    assert _runs(engine) == []


def test_the_worker_tick_sends_due_reports(
    engine: Engine, mail_settings: Settings, loaded: Loaded, mailbox: Mailbox
) -> None:
    from hubbub.core.clock import utcnow
    from hubbub.worker import Pipeline

    _schedule(engine, loaded.workspace_id, send_hour=0, now=utcnow() - timedelta(days=40))
    pipeline = Pipeline(engine, mail_settings)
    first = pipeline.tick()
    assert first.reports_sent == 1, first.errors
    assert pipeline.tick().reports_sent == 0
    assert len(mailbox.messages) == 1


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_the_lease(
    engine: Engine, mail_settings: Settings, loaded: Loaded, mailbox: Mailbox
) -> None:
    from hubbub.reports.actions import SENDING_LEASE, claim_run

    schedule_id = _schedule(engine, loaded.workspace_id)
    at = WEEK_END + timedelta(hours=9)
    with transaction(engine) as session:
        found = session.get(ReportSchedule, schedule_id)
        assert found is not None
        assert claim_run(session, found, WEEK_START, WEEK_END, at) is not None  # then it dies
    assert send_due(engine, mail_settings, now=at + SENDING_LEASE - timedelta(seconds=1)).sent == 0
    assert send_due(engine, mail_settings, now=at + SENDING_LEASE + timedelta(seconds=1)).sent == 1
    assert len(mailbox.messages) == 1
    assert _runs(engine) == [(WEEK_START, "sent", 2)]
