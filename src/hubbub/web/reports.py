"""Reports pages: the workspace's schedules (managers add and remove them) and the downloads of
a report as PDF, HTML or XLSX for the last week, the last month or chosen dates.

Downloads are attachments: the HTML report carries its own inline CSS, which the site's
Content-Security-Policy would strip if it were shown as a page of the app.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hubbub.accounts.mail import smtp_ready
from hubbub.core.clock import utcnow
from hubbub.inbox.queries import policy
from hubbub.listening.queries import list_topics
from hubbub.reports import queries
from hubbub.reports.actions import ReportsError, add_schedule, remove_schedule
from hubbub.reports.models import CADENCES
from hubbub.reports.render import MEDIA_TYPES, ReportError, build_report, render
from hubbub.reports.schedule import PeriodError, explicit_period, last_complete_period, zone
from hubbub.reports.sections import DEFAULT_SECTIONS, SECTIONS
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import SessionDep
from hubbub.web.pages import render as render_page

router = APIRouter(include_in_schema=False)

ReadReports = Annotated[Access, Depends(Permit("reports.read"))]
ManageReports = Annotated[Access, Depends(Permit("reports.manage"))]
Names = Annotated[list[str], Query(max_length=200)]


def _section_keys() -> list[str]:
    return [*DEFAULT_SECTIONS, *(k for k in SECTIONS.names() if k not in DEFAULT_SECTIONS)]


def _page(
    request: Request,
    session: Session,
    access: Access,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    dates: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "schedules": queries.schedules(session, access.ws.id),
        "runs": queries.runs(session, access.ws.id),
        "sections": [SECTIONS.get(key) for key in _section_keys()],
        "topics": list_topics(session, access.ws.id),
        "cadences": CADENCES,
        "zone": policy(session, access.ws.id).schedule.zone.key,
        "smtp": smtp_ready(request.app.state.settings),
        "error": error,
        "form": form or {"name": "", "recipients": "", "cadence": "week", "hour": 8},
        "dates": dates or {"since": "", "until": "", "error": ""},
    }
    names = {s.id: s.name for s in context["schedules"]}
    context["run_names"] = names
    return render_page(request, session, access, "reports", context, status_code)


@router.get("/w/{slug}/reports")
def reports_page(request: Request, session: SessionDep, access: ReadReports) -> Response:
    """Download a report; see, and for managers change, the scheduled ones."""
    return _page(request, session, access)


def _period(
    session: Session, workspace_id: int, period: str, since: str, until: str
) -> tuple[datetime, datetime, ZoneInfo]:
    tz = zone(policy(session, workspace_id).schedule.zone.key)
    if since or until:
        try:
            first, last = date.fromisoformat(since), date.fromisoformat(until)
        except ValueError:
            raise HTTPException(400, "since and until are dates: YYYY-MM-DD") from None
        start, end = explicit_period(first, last, tz)
    elif period in CADENCES:
        start, end = last_complete_period(period, utcnow(), tz)
    else:
        raise HTTPException(400, f"period is one of {', '.join(CADENCES)}")
    return start, end, tz


def _download(
    request: Request,
    session: Session,
    access: Access,
    fmt: str,
    period: str,
    since: str,
    until: str,
    sections: list[str],
    topic: list[str],
) -> Response:
    try:
        start, end, tz = _period(session, access.ws.id, period, since, until)
        report = build_report(
            session, access.ws.id, start, end, sections=sections, topics=topic, tz=tz
        )
    except (PeriodError, ReportError, HTTPException) as exc:
        detail = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
        if not (since or until):
            raise HTTPException(400, detail) from None
        # The date form again, with what was typed and why it was refused.
        dates = {"since": since, "until": until, "error": detail}
        return _page(request, session, access, dates=dates, status_code=400)
    name = f"{access.ws.slug}-report-{start.astimezone(tz).date().isoformat()}.{fmt}"
    return Response(
        render(report, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _download_route(fmt: str) -> None:
    @router.get(f"/w/{{slug}}/reports/report.{fmt}", name=f"report_{fmt}")
    def download(
        request: Request,
        session: SessionDep,
        access: ReadReports,
        period: Annotated[str, Query(max_length=8)] = "week",
        since: Annotated[str, Query(max_length=10)] = "",
        until: Annotated[str, Query(max_length=10)] = "",
        sections: Names = [],  # noqa: B006 - FastAPI copies query defaults per request
        topic: Names = [],  # noqa: B006
    ) -> Response:
        """The report of the last complete week or month (or since..until, inclusive)."""
        return _download(request, session, access, fmt, period, since, until, sections, topic)


for _fmt in ("pdf", "html", "xlsx"):
    _download_route(_fmt)


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


@router.post("/w/{slug}/reports/schedules")
def reports_add_schedule(
    request: Request,
    session: SessionDep,
    access: ManageReports,
    name: Annotated[str, Form(max_length=100)] = "",
    cadence: Annotated[str, Form(max_length=8)] = "week",
    recipients: Annotated[str, Form(max_length=20_000)] = "",
    sections: Annotated[list[str] | None, Form()] = None,
    topics: Annotated[list[str] | None, Form()] = None,
    hour: Annotated[int, Form(ge=0, le=23)] = 8,
) -> Response:
    """A new weekly or monthly schedule in the workspace's time zone."""
    try:
        with transaction(request.app.state.engine) as tx:
            add_schedule(
                tx,
                access.ws.id,
                name,
                cadence,
                _lines(recipients),
                sections=sections or [],
                topics=topics or [],
                send_hour=hour,
                actor=access.principal.actor,
            )
    except ReportsError as exc:
        form = {"name": name, "recipients": recipients, "cadence": cadence, "hour": hour}
        return _page(request, session, access, error=exc.detail, form=form, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/reports", status_code=303)


@router.post("/w/{slug}/reports/remove")
def reports_remove_schedule(
    request: Request,
    session: SessionDep,
    access: ManageReports,
    schedule_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Remove a schedule of this workspace (an id of another workspace is not found)."""
    try:
        if not schedule_id.isdecimal() or not 0 < int(schedule_id) < 2**63:
            raise ReportsError("choose a schedule to remove")
        with transaction(request.app.state.engine) as tx:
            remove_schedule(tx, access.ws.id, int(schedule_id), actor=access.principal.actor)
    except ReportsError as exc:
        return _page(request, session, access, error=exc.detail, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/reports", status_code=303)
