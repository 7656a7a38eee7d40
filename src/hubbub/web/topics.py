"""Topic pages: the list with an add form and a rule preview, and each topic's dashboard.

Figures come from the hourly and daily term rollups (so a dashboard costs the same whatever
the history); top authors, latest posts, the drill-down list and the CSV export read the stored
matches. Period and filters are query parameters applied to every panel.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.accounts.actions import record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import Rejected
from hubbub.listening.actions import (
    MAX_TERM_CHARS,
    add_topic,
    get_topic,
    remove_topic,
    request_rematch,
    update_topic,
)
from hubbub.listening.dashboard import count_matching_posts, match_details, period
from hubbub.listening.models import TOPIC_KINDS, Topic
from hubbub.listening.queries import list_topics, match_counts
from hubbub.listening.query import MAX_RULE_CHARS, QueryError, parse
from hubbub.listening.search import search_posts
from hubbub.posts.models import Author
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.charts import bar_chart
from hubbub.web.deps import MAX_ROW_ID, SessionDep
from hubbub.web.filters import Unknown, UnknownValue, read_network, refusal
from hubbub.web.pages import render
from hubbub.web.queries import (
    SENTIMENT_CLASSES,
    PostCursor,
    Slice,
    hourly_volume,
    match_sentiments,
    matching_posts,
    own_audit_entry,
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
DRILL_POSTS = 100  # a drill-down page; ``limit`` asks for 1 to MAX_DRILL_POSTS
MAX_DRILL_POSTS = 200
CSV_CHUNK = 1_000  # posts read (and sent) at a time by the streamed CSV export
CSV_COLUMNS = (
    "created_at",
    "id",
    "network",
    "author",
    "author_name",
    "author_url",
    "followers",
    "lang",
    "sentiment",
    "sentiment_score",
    "title",
    "text",
    "url",
    "likes",
    "reshares",
    "replies",
    "quotes",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def _topics_page(
    request: Request,
    session: SessionDep,
    access: Access,
    *,
    form: dict[str, str] | None = None,
    error: Rejected | None = None,
    removed: str = "",
    status_code: int = 200,
) -> Response:
    workspace_id = access.ws.id
    return render(
        request,
        session,
        access,
        "topics",
        {
            "removed": removed,
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
def topics(
    request: Request,
    session: SessionDep,
    access: ReadTopics,
    removed: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """``removed``: the audit entry of a removal this person just made, to say so after the
    redirect (only one's own entry is read, so a crafted link cannot put words on the page)."""
    me = access.principal.actor.user_id
    entry = own_audit_entry(session, access.ws.id, me, removed, "topic.remove")
    name = str(entry.detail.get("name", "")) if entry is not None else ""
    return _topics_page(request, session, access, removed=name)


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
            # The pipeline's re-match job matches the posts stored before the topic existed,
            # as `hubbub topic backfill` does on the command line: nobody here can run that.
            request_rematch(tx, access.ws.id, topic.name)
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
    done = ""
    with transaction(request.app.state.engine) as tx:
        try:
            topic = get_topic(tx, access.ws.id, name)
        except Rejected:
            topic = None
        if topic is not None:
            topic_id = topic.id
            remove_topic(tx, access.ws.id, name)
            entry = record_audit(
                tx,
                "topic.remove",
                actor=access.principal.actor,
                target=f"topic:{topic_id}",
                workspace_id=access.ws.id,
                detail={"name": name},
            )
            done = f"?removed={entry.id}"
    return RedirectResponse(f"/w/{access.ws.slug}/topics{done}", status_code=303)


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


def _period_words(key: str) -> str:
    """``24h`` → "24 hours", ``30d`` → "30 days"."""
    return f"{key[:-1]} {'hours' if key.endswith('h') else 'days'}"


@dataclass(frozen=True)
class Filters:
    """The dashboard's query parameters: a period and a slice, shared by every panel, the CSV
    export and the drill-down list, so each view is a link that can be shared."""

    period: str = DEFAULT_PERIOD
    network: str = ""
    lang: str = ""
    sentiment: str = ""
    #: Values given that mean nothing here: pages say so, the CSV export refuses them.
    unknown: tuple[Unknown, ...] = field(default=(), compare=False)

    @classmethod
    def parse(
        cls,
        period: str | None = None,
        network: str | None = None,
        lang: str | None = None,
        sentiment: str | None = None,
    ) -> Filters:
        """Unknown periods, languages and sentiment classes fall back to "all" (a stale link
        still opens) and are listed in ``unknown``; a language is filed under its primary code
        (``en-US`` and ``EN`` are ``en``), as the API reads it. The network is checked against
        the workspace's by :meth:`checked`."""
        read = Slice.read((network or "")[:32], (lang or "")[:16], None)
        unknown: list[Unknown] = []
        if period and period not in PERIODS:
            known = ", ".join(PERIODS)
            unknown.append(Unknown("period", period, _period_words(DEFAULT_PERIOD), known))
        if lang and lang.strip() and read.lang is None:
            unknown.append(Unknown("language", lang, "every language", "a code such as en"))
        if sentiment and sentiment not in SENTIMENT_CLASSES:
            known = ", ".join(SENTIMENT_CLASSES)
            unknown.append(Unknown("sentiment", sentiment, "every sentiment", known))
        return cls(
            period=period if period in PERIODS else DEFAULT_PERIOD,
            network=read.network or "",
            lang=read.lang or "",
            sentiment=sentiment if sentiment in SENTIMENT_CLASSES else "",
            unknown=tuple(unknown),
        )

    def checked(self, session: Session, workspace_id: int) -> Filters:
        """These filters with the network checked as the APIs check it
        (:func:`hubbub.web.filters.read_network`): an unknown one falls back to every network
        and is listed in ``unknown``, like the other values."""
        try:
            read_network(session, workspace_id, self.network)
        except UnknownValue as exc:
            return replace(self, network="", unknown=(*self.unknown, exc.unknown("every network")))
        return self

    def strict(self) -> Filters:
        """These filters, or a 400 naming the unknown values: for a download, which must not
        silently hold something other than what was asked."""
        if self.unknown:
            raise HTTPException(400, refusal(self.unknown))
        return self

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

    @property
    def period_words(self) -> str:
        return _period_words(self.period)

    def query(self, **changes: str) -> str:
        """The query string of these filters with ``changes``; defaults are left out."""
        values = {
            "period": self.period,
            "network": self.network,
            "lang": self.lang,
            "sentiment": self.sentiment,
        }
        values |= changes
        return urlencode(
            {k: v for k, v in values.items() if v and not (k == "period" and v == DEFAULT_PERIOD)}
        )

    @property
    def active(self) -> bool:
        return bool(self.network or self.lang or self.sentiment)


#: Each route then calls :meth:`Filters.checked` with its workspace (a dependency taking the
#: access too would declare the route's permission twice).
FiltersDep = Annotated[Filters, Depends(Filters.parse)]


@router.get("/w/{slug}/topics/{name}.csv")
def topic_csv(
    request: Request, session: SessionDep, access: ReadTopics, name: str, filters: FiltersDep
) -> Response:
    """Every matching post of the dashboard's period and filters, newest first, streamed; a
    filter value the dashboard does not know is a 400, not a silent "all"."""
    topic = topic_or_404(session, access, name)
    start, end = filters.checked(session, access.ws.id).strict().window(utcnow())
    rows = _csv_rows(request.app.state.engine, topic.id, start, end, filters.slice)
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", topic.name)[:80] or "topic"
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def _csv_rows(
    engine: Engine, topic_id: int, start: datetime, end: datetime, where: Slice
) -> Iterator[str]:
    """The export ``CSV_CHUNK`` posts at a time by keyset, each chunk read in a short session of
    its own: a long period never sits in memory nor holds one read open for the whole download.
    Text cells go through :func:`csv_cell`; the sentiment is the one the post counts under in
    this topic, as the dashboard counts it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    before: tuple[datetime, int] | None = None
    while True:
        with Session(engine) as session:
            rows = matching_posts(session, topic_id, CSV_CHUNK, start, end, where, before=before)
            details = match_details(session, topic_id, [post.id for post, _ in rows])
        for post, author in rows:
            detail = details.get(post.id)
            writer.writerow(
                [
                    csv_cell(post.created_at.isoformat()),
                    post.id,
                    csv_cell(post.network),
                    csv_cell(author.handle or author.native_id),
                    csv_cell(author.display_name or ""),
                    csv_cell(author.url or ""),
                    "" if author.followers is None else author.followers,
                    csv_cell(detail.lang if detail else post.lang or ""),
                    csv_cell(detail.sentiment if detail else ""),
                    "" if detail is None else round(detail.score, 4),
                    csv_cell(post.title or ""),
                    csv_cell(post.text or ""),
                    csv_cell(post.url or ""),
                    post.likes or 0,
                    post.reshares or 0,
                    post.replies or 0,
                    post.quotes or 0,
                ]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < CSV_CHUNK:
            return
        last = rows[-1][0]
        before = (last.created_at, last.id)


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
    limit: Annotated[int, Query(ge=1, le=MAX_DRILL_POSTS)] = DRILL_POSTS,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Drill-down from a dashboard panel: the matching posts of its period and filters, of one
    author or containing one term, a keyset page at a time (``cursor``: after which post)."""
    topic = topic_or_404(session, access, name)
    filters = filters.checked(session, access.ws.id)
    start, end = filters.window(utcnow())
    term = term.strip().lower()
    before = None
    if cursor:
        try:
            position = PostCursor.decode(cursor)
        except ValueError as exc:
            raise HTTPException(
                400, f"This page's cursor {exc}; open the list again from its first page."
            ) from None
        before = (position.created_at, position.post_id)
    where, contains = filters.slice, term or None
    rows = matching_posts(
        session, topic.id, limit + 1, start, end, where, author, contains, before=before
    )
    next_query = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_query = filters.query(
            author=str(author or ""),
            term=term,
            limit="" if limit == DRILL_POSTS else str(limit),
            cursor=PostCursor(last.created_at, last.id).encode(),
        )
    total, ahead = count_matching_posts(
        session, topic.id, start, end, where, author, contains, before=before
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
            "total": total,
            "first": ahead + 1,
            "next_query": next_query,
            "first_query": filters.query(
                author=str(author or ""),
                term=term,
                limit="" if limit == DRILL_POSTS else str(limit),
            )
            if cursor
            else None,
        },
    )


@router.get("/w/{slug}/topics/{name}")
def topic_dashboard(
    request: Request, session: SessionDep, access: ReadTopics, name: str, filters: FiltersDep
) -> Response:
    topic = topic_or_404(session, access, name)
    filters = filters.checked(session, access.ws.id)
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
