"""Topics over the API: the workspace's topics, and each one's matched posts with the sentiment
they count under in it (what the dashboard's splits and filter count), one keyset page at a
time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hubbub.core.clock import utcnow
from hubbub.listening.corrections.queries import verdicts
from hubbub.listening.dashboard import (
    Slice,
    hourly_volume,
    match_sentiments,
    matching_posts,
    period,
    rollup_splits,
    share_of_voice,
    top_authors,
    top_terms,
)
from hubbub.listening.queries import list_topics
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import NO_NUL, SessionDep
from hubbub.web.filters import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    FilterError,
    PostQuery,
    query_time,
    read_network,
)
from hubbub.web.problems import PROBLEM_RESPONSES, filter_problem
from hubbub.web.queries import PostCursor
from hubbub.web.rest import TIME_QUERY, AuthorOut, PostOut
from hubbub.web.topics import topic_or_404

api = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["topics"])

ReadTopics = Annotated[Access, Depends(Permit("topics.read"))]


class TopicOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str = Field(description="brand, product, competitor, campaign or other.")
    rule: str = Field(description="The boolean rule (docs/query-language.md).")
    active: bool
    created_at: datetime
    updated_at: datetime


class TopicPostOut(BaseModel):
    sentiment: str | None = Field(
        description="What the post counts as in this topic: its own verdict for the topic "
        "where it names two or more brands, products or competitors, else the post's."
    )
    post: PostOut


class TopicPostList(BaseModel):
    """One page, newest first; pass ``next_cursor`` back as ``cursor`` (same filters)."""

    items: list[TopicPostOut]
    next_cursor: str | None
    next: str | None


class CountOut(BaseModel):
    value: str
    posts: int


class HourOut(BaseModel):
    hour: datetime
    posts: int


class VoiceOut(BaseModel):
    topic: str
    kind: str
    posts: int
    percent: float = Field(description="Of the posts of all the topics listed.")


class TopAuthorOut(BaseModel):
    network: str
    author: AuthorOut
    posts: int
    own: bool = Field(
        description="One of this workspace's own accounts (kept in the list, so the brand's "
        "share of the volume shows)."
    )


class TermOut(BaseModel):
    term: str
    posts: int


class TopicSummary(BaseModel):
    """The dashboard's figures as data, read from the rollups."""

    topic: str
    since: datetime = Field(description="The window used: ``since`` rounded down to the hour.")
    until: datetime = Field(description="``until`` rounded up to the hour.")
    posts: int
    sentiment: list[CountOut] = Field(description="As each post counts in this topic.")
    networks: list[CountOut]
    languages: list[CountOut]
    hourly: list[HourOut] = Field(description="Hours with posts, oldest first.")
    share_of_voice: list[VoiceOut] = Field(
        description="This topic, then the workspace's competitor topics by name, over the "
        "same window and filters."
    )
    top_authors: list[TopAuthorOut] = Field(
        description="Authors with the most matching posts in the window (deleted posts left "
        "out), most first."
    )
    top_terms: list[TermOut] = Field(
        description="Terms in the most posts, most first. Terms are counted per UTC day, so "
        "they cover whole days from ``terms_since``."
    )
    terms_since: date = Field(description="The UTC day the term counts start on.")


HOUR = timedelta(hours=1)
#: The longest window a summary reads (a year of hourly rollups).
SUMMARY_MAX = timedelta(days=366)


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _hour_ceiling(moment: datetime) -> datetime:
    floor = _hour_floor(moment)
    return floor if floor == moment else floor + HOUR


#: A language tag: ISO 639 code, optionally with subtags (``en``, ``pt-BR``, ``und``).
LANGUAGE_TAG = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"


def topic_slice(
    network: Annotated[str | None, Query(min_length=1, max_length=32, pattern=NO_NUL)] = None,
    lang: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=LANGUAGE_TAG,
            description="ISO 639 code; posts are filed under the primary one (en-US is en), "
            "und where none was declared or detected.",
        ),
    ] = None,
    sentiment: Literal["negative", "neutral", "positive"] | None = None,
) -> Slice:
    """The slice filters both topic reads take; ``sentiment`` is as posts count in the topic.
    Each route checks the network against the workspace's (a 400 for an unknown one)."""
    return Slice.read(network, lang, sentiment)


SliceDep = Annotated[Slice, Depends(topic_slice)]


@api.get("/w/{slug}/topics", response_model=list[TopicOut])
def api_topics(session: SessionDep, access: ReadTopics) -> list[TopicOut]:
    """The workspace's topics, by name."""
    return [TopicOut.model_validate(topic) for topic in list_topics(session, access.ws.id)]


@api.get("/w/{slug}/topics/{name}/posts", response_model=TopicPostList)
def api_topic_posts(
    request: Request,
    session: SessionDep,
    access: ReadTopics,
    name: Annotated[str, Path(max_length=200, pattern=NO_NUL)],
    where: SliceDep,
    since: Annotated[
        str | None, Query(description="Matched posts created at or after.", **TIME_QUERY)
    ] = None,
    until: Annotated[str | None, Query(description="Created before.", **TIME_QUERY)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TopicPostList | JSONResponse:
    """The topic's matched posts, newest first, deleted ones left out; ``sentiment`` filters
    on the sentiment each post counts under in this topic."""
    topic = topic_or_404(session, access, name)
    try:  # the network as the dashboard checks it; the Posts API's window and cursor checks
        read_network(session, access.ws.id, where.network)
        query = PostQuery.build(since=since, until=until, cursor=cursor)
        window, after = query.post_filter(access.ws.id), query.position()
    except FilterError as exc:
        return filter_problem(exc)
    start, end = window.since, window.until
    before = (after.created_at, after.post_id) if after else None
    rows = matching_posts(session, topic.id, limit + 1, start, end, where, before=before)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = PostCursor(last.created_at, last.id).encode()
    post_ids = [post.id for post, _ in rows]
    counted = match_sentiments(session, topic.id, post_ids)
    found = verdicts(session, access.ws.id, post_ids)
    return TopicPostList(
        items=[
            TopicPostOut(
                sentiment=counted.get(post.id), post=PostOut.of(post, author, found.get(post.id))
            )
            for post, author in rows
        ],
        next_cursor=next_cursor,
        next=(
            f"{request.url.path}?{request.url.include_query_params(cursor=next_cursor).query}"
            if next_cursor
            else None
        ),
    )


@api.get("/w/{slug}/topics/{name}/summary", response_model=TopicSummary)
def api_topic_summary(
    session: SessionDep,
    access: ReadTopics,
    name: Annotated[str, Path(max_length=200, pattern=NO_NUL)],
    where: SliceDep,
    since: Annotated[
        str | None,
        Query(
            description="Default: 30 days before ``until``; with neither given, the "
            "dashboard's last 30 days (from midnight UTC 29 days ago to the end of this hour).",
            **TIME_QUERY,
        ),
    ] = None,
    until: Annotated[str | None, Query(description="Default: now.", **TIME_QUERY)] = None,
    top: Annotated[int, Query(ge=1, le=50, description="Length of the top lists.")] = 10,
) -> TopicSummary | JSONResponse:
    """The topic's dashboard as data over a window of whole hours (rollups are hourly), at
    most 366 days: volume, sentiment, network and language splits, posts per hour, share of
    voice against competitor topics, top authors and top terms."""
    topic = topic_or_404(session, access, name)
    try:
        read_network(session, access.ws.id, where.network)
        given_start, given_end = query_time("since", since or ""), query_time("until", until or "")
        if given_end is None and given_start is None:  # the dashboard's "last 30 days"
            start, end = period(utcnow(), 30)
        else:
            end = _hour_ceiling(given_end or utcnow())
            start = _hour_floor(given_start) if given_start else end - timedelta(days=30)
        if start >= end:
            raise FilterError("until", "must be later than since")
        if end - start > SUMMARY_MAX:
            raise FilterError("since", "is more than 366 days before until")
    except FilterError as exc:
        return filter_problem(exc)
    splits = rollup_splits(session, topic.id, start, end, where)

    def counts(by: str) -> list[CountOut]:
        return [CountOut(value=value, posts=posts) for value, posts in splits[by]]

    return TopicSummary(
        topic=topic.name,
        since=start,
        until=end,
        posts=sum(posts for _, posts in splits["sentiment"]),
        sentiment=counts("sentiment"),
        networks=counts("network"),
        languages=counts("lang"),
        hourly=[
            HourOut(hour=hour, posts=posts)
            for hour, posts in hourly_volume(session, topic.id, start, end, where)
        ],
        share_of_voice=[
            VoiceOut(topic=v.topic.name, kind=v.topic.kind, posts=v.posts, percent=v.percent)
            for v in share_of_voice(session, topic, start, end, where)
        ],
        top_authors=[
            TopAuthorOut(network=author.network, author=AuthorOut.of(author), posts=posts, own=own)
            for author, posts, own in top_authors(session, topic.id, start, end, where, top)
        ],
        top_terms=[
            TermOut(term=term, posts=posts)
            for term, posts in top_terms(session, topic.id, start, end, where, top)
        ],
        terms_since=start.astimezone(UTC).date(),
    )
