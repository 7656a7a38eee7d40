"""JSON API under ``/api/v1``: cursor pagination, the page's filters, problem+json errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from hubbub.posts.models import Author, Post
from hubbub.web.deps import SessionDep, WorkspaceDep
from hubbub.web.filters import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, FilterError, PostQuery
from hubbub.web.problems import PROBLEM_RESPONSES, filter_problem, problem
from hubbub.web.queries import database_ok, page_posts

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)


class AuthorOut(BaseModel):
    native_id: str
    handle: str | None
    display_name: str | None
    url: str | None


class PostOut(BaseModel):
    """A stored post; ``url`` is returned as stored, so clients must not trust its scheme."""

    id: int
    network: str
    native_id: str
    kind: str
    created_at: datetime
    edited_at: datetime | None
    author: AuthorOut
    text: str
    title: str | None
    lang: str | None
    url: str | None
    reply_to: str | None
    thread_root: str | None
    quote_of: str | None
    reshare_of: str | None
    hashtags: list[str]
    mentions: list[str]
    links: list[str]
    likes: int | None
    reshares: int | None
    replies: int | None
    quotes: int | None
    deleted: bool
    near_dup_of: int | None

    @classmethod
    def of(cls, post: Post, author: Author) -> PostOut:
        return cls(
            id=post.id,
            network=post.network,
            native_id=post.native_id,
            kind=post.kind,
            created_at=post.created_at,
            edited_at=post.edited_at,
            author=AuthorOut(
                native_id=author.native_id,
                handle=author.handle,
                display_name=author.display_name,
                url=author.url,
            ),
            text=post.text,
            title=post.title,
            lang=post.lang,
            url=post.url,
            reply_to=post.reply_to,
            thread_root=post.thread_root,
            quote_of=post.quote_of,
            reshare_of=post.reshare_of,
            hashtags=list(post.hashtags or []),
            mentions=list(post.mentions or []),
            links=list(post.links or []),
            likes=post.likes,
            reshares=post.reshares,
            replies=post.replies,
            quotes=post.quotes,
            deleted=post.deleted,
            near_dup_of=post.near_dup_of,
        )


class PostList(BaseModel):
    """One page; pass ``next_cursor`` back as ``cursor`` (same filters) for the next one."""

    items: list[PostOut]
    next_cursor: str | None
    next: str | None


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health | JSONResponse:
    """Liveness plus one round trip to the database."""
    try:
        ok = database_ok(session)
    except SQLAlchemyError:
        ok = False
    if not ok:
        return problem(503, "the database does not answer")
    return Health(status="ok", database="ok")


@router.get("/w/{slug}/posts", response_model=PostList)
def api_posts(
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    network: Annotated[str | None, Query(max_length=32)] = None,
    author: Annotated[str | None, Query(max_length=512, description="Handle or native id.")] = None,
    contains: Annotated[str | None, Query(max_length=500)] = None,
    since: Annotated[str | None, Query(description="Created at or after (ISO 8601, UTC).")] = None,
    until: Annotated[str | None, Query(description="Created before (ISO 8601, UTC).")] = None,
    deleted: bool = False,
    unique: Annotated[bool, Query(description="Leave out linked near-duplicates.")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PostList | JSONResponse:
    """Posts newest first."""
    try:
        query = PostQuery.build(
            network=network,
            author=author,
            contains=contains,
            since=since,
            until=until,
            deleted=deleted,
            unique=unique,
            limit=limit,
            cursor=cursor,
        )
        page = page_posts(session, query.post_filter(workspace.id), query.limit, query.position())
    except FilterError as exc:
        return filter_problem(exc)
    next_cursor = page.next_cursor.encode() if page.next_cursor else None
    next_url = (
        f"{request.url.path}?{query.query_string(page.next_cursor)}" if page.next_cursor else None
    )
    return PostList(
        items=[PostOut.of(post, writer) for post, writer in page.rows],
        next_cursor=next_cursor,
        next=next_url,
    )
