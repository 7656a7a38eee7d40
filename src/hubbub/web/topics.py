"""Topic pages: the list with an add form and a rule preview, and each topic's dashboard.

Figures come from the hourly rollups (so a dashboard costs the same whatever the history);
top authors, latest posts and the CSV export read the stored matches.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hubbub.accounts.actions import record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.listening.actions import add_topic, get_topic, remove_topic, update_topic
from hubbub.listening.models import TOPIC_KINDS, Topic
from hubbub.listening.queries import list_topics, match_counts
from hubbub.listening.query import MAX_RULE_CHARS, QueryError, parse
from hubbub.listening.search import search_posts
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.charts import bar_chart
from hubbub.web.deps import SessionDep
from hubbub.web.pages import render
from hubbub.web.queries import (
    hourly_volume,
    matching_posts,
    rollup_split,
    top_authors,
    topic_volumes,
)

router = APIRouter(include_in_schema=False)

ReadTopics = Annotated[Access, Depends(Permit("topics.read"))]
ManageTopics = Annotated[Access, Depends(Permit("topics.manage"))]

PREVIEW_POSTS = 20
DASHBOARD_DAYS = 30
LATEST_POSTS = 20
CSV_MAX_ROWS = 50_000
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def _topics_page(
    request: Request,
    session: SessionDep,
    access: Access,
    *,
    form: dict[str, str] | None = None,
    error: Rejected | None = None,
    status_code: int = 200,
) -> Response:
    workspace_id = access.ws.id
    return render(
        request,
        session,
        access,
        "topics",
        {
            "topics": list_topics(session, workspace_id),
            "counts": match_counts(session, workspace_id),
            "kinds": TOPIC_KINDS,
            "form": form or {"name": "", "kind": "brand", "rule": ""},
            "error": error,
            "query_error": error if isinstance(error, QueryError) else None,
        },
        status_code,
    )


@router.get("/w/{slug}/topics")
def topics(request: Request, session: SessionDep, access: ReadTopics) -> Response:
    return _topics_page(request, session, access)


@router.post("/w/{slug}/topics")
def topics_add(
    request: Request,
    session: SessionDep,
    access: ManageTopics,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=16)] = "other",
    rule: Annotated[str, Form(max_length=MAX_RULE_CHARS)] = "",
) -> Response:
    """Add a topic; a refused one re-renders the form with the user's input and the error."""
    try:
        with transaction(request.app.state.engine) as tx:
            topic = add_topic(tx, access.ws.id, name, rule, kind)
            record_audit(
                tx,
                "topic.add",
                actor=access.principal.actor,
                target=f"topic:{topic.id}",
                workspace_id=access.ws.id,
                detail={"name": topic.name, "kind": topic.kind, "rule": topic.rule},
            )
    except Rejected as exc:
        form = {"name": name, "kind": kind, "rule": rule}
        return _topics_page(request, session, access, form=form, error=exc, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/topics", status_code=303)


@router.post("/w/{slug}/topics/{name}/remove")
def topics_remove(request: Request, access: ManageTopics, name: str) -> Response:
    """Remove a topic; one already gone is not an error (a second click of the same form)."""
    with transaction(request.app.state.engine) as tx:
        try:
            topic = get_topic(tx, access.ws.id, name)
        except Rejected:
            topic = None
        if topic is not None:
            topic_id = topic.id
            remove_topic(tx, access.ws.id, name)
            record_audit(
                tx,
                "topic.remove",
                actor=access.principal.actor,
                target=f"topic:{topic_id}",
                workspace_id=access.ws.id,
                detail={"name": name},
            )
    return RedirectResponse(f"/w/{access.ws.slug}/topics", status_code=303)


def _edit_page(
    request: Request,
    session: SessionDep,
    access: Access,
    topic: Topic,
    form: dict[str, Any],
    *,
    error: Rejected | None = None,
    preview: bool = False,
    status_code: int = 200,
) -> Response:
    """The edit form, and below it the recent stored posts its (unsaved) rule matches."""
    hits: list[Any] = []
    if preview and error is None:
        try:
            with transaction(request.app.state.engine) as tx:
                hits = search_posts(tx, access.ws.id, parse(form["rule"]), limit=PREVIEW_POSTS).hits
        except QueryError as exc:
            error, status_code = exc, 400
    context = {
        "topic": topic,
        "form": form,
        "kinds": TOPIC_KINDS,
        "error": error,
        "query_error": error if isinstance(error, QueryError) else None,
        "preview": preview and error is None,
        "hits": hits,
        "limit": PREVIEW_POSTS,
    }
    return render(request, session, access, "topic_edit", context, status_code)


@router.get("/w/{slug}/topics/{name}/edit")
def topic_edit(request: Request, session: SessionDep, access: ManageTopics, name: str) -> Response:
    topic = _topic(session, access, name)
    form = {"rule": topic.rule, "kind": topic.kind, "active": topic.active}
    return _edit_page(request, session, access, topic, form, preview=True)


@router.post("/w/{slug}/topics/{name}/edit")
def topic_edit_submit(
    request: Request,
    session: SessionDep,
    access: ManageTopics,
    name: str,
    rule: Annotated[str, Form(max_length=MAX_RULE_CHARS)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
    intent: Annotated[str, Form(max_length=8)] = "save",
) -> Response:
    """``intent=preview`` shows what the edited rule would match; ``save`` stores it."""
    topic = _topic(session, access, name)
    form = {"rule": rule, "kind": kind, "active": active == "on"}
    if intent == "preview":
        return _edit_page(request, session, access, topic, form, preview=True)
    try:
        with transaction(request.app.state.engine) as tx:
            before = get_topic(tx, access.ws.id, name)
            was = {"rule": before.rule, "kind": before.kind, "active": before.active}
            changed = update_topic(
                tx, access.ws.id, name, rule=rule, kind=kind, active=active == "on"
            )
            record_audit(
                tx,
                "topic.edit",
                actor=access.principal.actor,
                target=f"topic:{changed.id}",
                workspace_id=access.ws.id,
                detail={"from": was, "to": form},
            )
    except Rejected as exc:
        return _edit_page(request, session, access, topic, form, error=exc, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/topics", status_code=303)


@router.get("/w/{slug}/topics/preview")
def topics_preview(
    request: Request, session: SessionDep, access: ReadTopics, rule: str = ""
) -> Response:
    """Up to 20 recent stored posts matching ``rule``: a plain GET form, so no script."""
    error: QueryError | None = None
    hits: list[Any] = []
    status_code = 200
    if rule:
        try:
            node = parse(rule)
            with transaction(request.app.state.engine) as tx:
                hits = search_posts(tx, access.ws.id, node, limit=PREVIEW_POSTS).hits
        except QueryError as exc:
            error, status_code = exc, 400
    return render(
        request,
        session,
        access,
        "topic_preview",
        {"rule": rule, "query_error": error, "hits": hits, "limit": PREVIEW_POSTS},
        status_code,
    )


def _topic(session: SessionDep, access: Access, name: str) -> Topic:
    try:
        return get_topic(session, access.ws.id, name)
    except Rejected:
        raise HTTPException(404, f"no topic named {name!r} in this workspace") from None


def period(now: datetime, days: int = DASHBOARD_DAYS) -> tuple[datetime, datetime]:
    """[midnight UTC ``days - 1`` days ago, the end of the current hour)."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=days - 1), end


@router.get("/w/{slug}/topics/{name}.csv")
def topic_csv(session: SessionDep, access: ReadTopics, name: str) -> Response:
    """The topic's matching posts, newest first; formula-looking cells are defused."""
    topic = _topic(session, access, name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["created_at", "network", "author", "text", "url", "likes", "reshares"])
    for post, author in matching_posts(session, topic.id, CSV_MAX_ROWS):
        writer.writerow(
            [
                csv_cell(post.created_at.isoformat()),
                csv_cell(post.network),
                csv_cell(author.handle or author.native_id),
                csv_cell(post.text or ""),
                csv_cell(post.url or ""),
                post.likes or 0,
                post.reshares or 0,
            ]
        )
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", topic.name)[:80] or "topic"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a quote."""
    return "'" + value if value.startswith(FORMULA_LEADS) else value


@router.get("/w/{slug}/topics/{name}")
def topic_dashboard(
    request: Request, session: SessionDep, access: ReadTopics, name: str
) -> Response:
    topic = _topic(session, access, name)
    start, end = period(utcnow())
    per_day: dict[str, int] = {
        (start + timedelta(days=i)).date().isoformat(): 0 for i in range(DASHBOARD_DAYS)
    }
    for hour, posts in hourly_volume(session, topic.id, start, end):
        per_day[hour.astimezone(UTC).date().isoformat()] += posts
    volume = sum(per_day.values())
    competitors = [
        t for t in list_topics(session, access.ws.id) if t.kind == "competitor" and t.id != topic.id
    ]
    volumes = topic_volumes(session, [topic.id, *(t.id for t in competitors)], start, end)
    voice_total = sum(volumes.values())
    voice = [
        (t.name, volumes[t.id], 100.0 * volumes[t.id] / voice_total if voice_total else 0.0)
        for t in [topic, *competitors]
    ]
    return render(
        request,
        session,
        access,
        "topic",
        {
            "topic": topic,
            "start": start,
            "end": end,
            "days": DASHBOARD_DAYS,
            "volume": volume,
            "per_day": list(per_day.items()),
            "chart": bar_chart(list(per_day.items()), f"Posts per day about {topic.name}"),
            "sentiment": rollup_split(session, topic.id, start, end, "sentiment"),
            "networks": rollup_split(session, topic.id, start, end, "network"),
            "languages": rollup_split(session, topic.id, start, end, "lang"),
            "authors": top_authors(session, topic.id, start, end),
            "latest": matching_posts(session, topic.id, LATEST_POSTS),
            "voice": voice,
            "has_competitors": bool(competitors),
        },
    )
