"""Topic pages: the list with an add form and a rule preview, and each topic's dashboard.

Figures come from the hourly and daily term rollups (so a dashboard costs the same whatever
the history); top authors, latest posts, the drill-down list and the CSV export read the stored
matches. Period and filters are query parameters applied to every panel.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from hubbub.accounts.actions import record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.listening.actions import (
    MAX_TERM_CHARS,
    add_topic,
    get_topic,
    remove_topic,
    update_topic,
)
from hubbub.listening.dashboard import period
from hubbub.listening.models import TOPIC_KINDS, Topic
from hubbub.listening.queries import list_topics, match_counts
from hubbub.listening.query import MAX_RULE_CHARS, QueryError, parse
from hubbub.listening.search import search_posts
from hubbub.posts.models import Author
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.charts import bar_chart
from hubbub.web.deps import MAX_ROW_ID, SessionDep
from hubbub.web.pages import render
from hubbub.web.queries import (
    SENTIMENT_CLASSES,
    Slice,
    hourly_volume,
    match_sentiments,
    matching_posts,
    rollup_splits,
    share_of_voice,
    top_authors,
    top_terms,
)

router = APIRouter(include_in_schema=False)

ReadTopics = Annotated[Access, Depends(Permit("topics.read"))]
ManageTopics = Annotated[Access, Depends(Permit("topics.manage"))]

PREVIEW_POSTS = 20
PERIODS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}  # query value -> days
DEFAULT_PERIOD = "30d"
LATEST_POSTS = 20
TOP_TERMS = 20
DRILL_POSTS = 100
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
    topic = topic_or_404(session, access, name)
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
    topic = topic_or_404(session, access, name)
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


def topic_or_404(session: SessionDep, access: Access, name: str) -> Topic:
    """The workspace's topic called ``name``; 404 for another workspace's or none."""
    try:
        return get_topic(session, access.ws.id, name)
    except Rejected:
        raise HTTPException(404, f"no topic named {name!r} in this workspace") from None


@dataclass(frozen=True)
class Filters:
    """The dashboard's query parameters: a period and a slice, shared by every panel, the CSV
    export and the drill-down list, so each view is a link that can be shared."""

    period: str = DEFAULT_PERIOD
    network: str = ""
    lang: str = ""
    sentiment: str = ""

    @classmethod
    def parse(
        cls,
        period: str | None = None,
        network: str | None = None,
        lang: str | None = None,
        sentiment: str | None = None,
    ) -> Filters:
        """Unknown periods and sentiment classes fall back to "all" rather than failing; a
        language is filed under its primary code (``en-US`` and ``EN`` are ``en``), as the API
        reads it."""
        read = Slice.read((network or "")[:32], (lang or "")[:16], None)
        return cls(
            period=period if period in PERIODS else DEFAULT_PERIOD,
            network=read.network or "",
            lang=read.lang or "",
            sentiment=sentiment if sentiment in SENTIMENT_CLASSES else "",
        )

    @property
    def slice(self) -> Slice:
        return Slice(self.network or None, self.lang or None, self.sentiment or None)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """24 h is the last 24 whole hours; longer periods start at a UTC midnight."""
        days = PERIODS[self.period]
        if days == 1:
            _, end = period(now, 1)
            return end - timedelta(hours=24), end
        return period(now, days)

    def query(self, **changes: str) -> str:
        """The query string of these filters with ``changes``; defaults are left out."""
        values = asdict(self) | changes
        return urlencode(
            {k: v for k, v in values.items() if v and not (k == "period" and v == DEFAULT_PERIOD)}
        )

    @property
    def active(self) -> bool:
        return bool(self.network or self.lang or self.sentiment)


FiltersDep = Annotated[Filters, Depends(Filters.parse)]


@router.get("/w/{slug}/topics/{name}.csv")
def topic_csv(session: SessionDep, access: ReadTopics, name: str, filters: FiltersDep) -> Response:
    """The topic's matching posts of the dashboard's period and filters, newest first;
    formula-looking cells are defused."""
    topic = topic_or_404(session, access, name)
    start, end = filters.window(utcnow())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["created_at", "network", "author", "text", "url", "likes", "reshares"])
    rows = matching_posts(session, topic.id, CSV_MAX_ROWS, start, end, filters.slice)
    for post, author in rows:
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


@router.get("/w/{slug}/topics/{name}/posts")
def topic_posts(
    request: Request,
    session: SessionDep,
    access: ReadTopics,
    name: str,
    filters: FiltersDep,
    author: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    term: Annotated[str, Query(max_length=MAX_TERM_CHARS)] = "",
) -> Response:
    """Drill-down from a dashboard panel: the matching posts of its period and filters, of one
    author or containing one term."""
    topic = topic_or_404(session, access, name)
    start, end = filters.window(utcnow())
    term = term.strip().lower()
    rows = matching_posts(
        session,
        topic.id,
        DRILL_POSTS,
        start,
        end,
        filters.slice,
        author_id=author,
        term=term or None,
    )
    handle = None
    if author is not None:
        found = session.get(Author, author)
        # ids are global: show nothing of an author of another workspace
        if found is not None and found.workspace_id == access.ws.id:
            handle = found.handle or found.native_id
    return render(
        request,
        session,
        access,
        "topic_posts",
        {
            "topic": topic,
            "filters": filters,
            "start": start,
            "end": end,
            "rows": rows,
            "sentiments": match_sentiments(session, topic.id, [post.id for post, _ in rows]),
            "term": term,
            "author": handle,
            "limit": DRILL_POSTS,
        },
    )


@router.get("/w/{slug}/topics/{name}")
def topic_dashboard(
    request: Request, session: SessionDep, access: ReadTopics, name: str, filters: FiltersDep
) -> Response:
    topic = topic_or_404(session, access, name)
    where = filters.slice
    start, end = filters.window(utcnow())
    hours = PERIODS[filters.period] == 1
    buckets: dict[str, int] = {}
    step = timedelta(hours=1) if hours else timedelta(days=1)
    moment = start
    while moment < end:
        buckets[_bucket(moment, hours)] = 0
        moment += step
    for hour, posts in hourly_volume(session, topic.id, start, end, where):
        buckets[_bucket(hour.astimezone(UTC), hours)] += posts
    volume = sum(buckets.values())
    voice = share_of_voice(session, topic, start, end, where)
    unit = "hour" if hours else "day"
    splits = rollup_splits(session, topic.id, start, end, where)
    # A live feed: the newest posts of the filters, whatever the period.
    latest = matching_posts(session, topic.id, LATEST_POSTS, where=where)
    return render(
        request,
        session,
        access,
        "topic",
        {
            "topic": topic,
            "filters": filters,
            "periods": PERIODS,
            "sentiment_classes": SENTIMENT_CLASSES,
            "start": start,
            "end": end,
            "volume": volume,
            "unit": unit,
            "per_bucket": list(buckets.items()),
            "chart": bar_chart(list(buckets.items()), f"Posts per {unit} about {topic.name}"),
            "sentiment": splits["sentiment"],
            "networks": splits["network"],
            "languages": splits["lang"],
            "authors": top_authors(session, topic.id, start, end, where),
            "terms": top_terms(session, topic.id, start, end, where, TOP_TERMS),
            "terms_since": start.date(),
            "latest": latest,
            "sentiments": match_sentiments(session, topic.id, [post.id for post, _ in latest]),
            "voice": voice,
            "has_competitors": len(voice) > 1,
        },
    )


def _bucket(moment: datetime, hours: bool) -> str:
    return moment.strftime("%Y-%m-%d %H:00") if hours else moment.date().isoformat()
