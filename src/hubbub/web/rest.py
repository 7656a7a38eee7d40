"""JSON API under ``/api/v1``: cursor pagination, the page's filters, problem+json errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from hubbub.accounts.actions import AccountError, NameTaken, create_token, revoke_token
from hubbub.accounts.models import ApiToken
from hubbub.accounts.permissions import Role
from hubbub.accounts.queries import list_tokens
from hubbub.listening.corrections.queries import Verdict, verdicts
from hubbub.posts.models import Author, Post
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import NO_NUL, RequestBody, RowId, SessionDep
from hubbub.web.filters import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    FilterError,
    PostQuery,
    read_network,
)
from hubbub.web.problems import CONFLICT, PROBLEM_RESPONSES, filter_problem, problem
from hubbub.web.queries import database_ok, page_posts

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

# Query times: RFC 3339 in the schema; a bare date or a time without offset (UTC) is accepted too.
TIME_QUERY: dict[str, Any] = {"json_schema_extra": {"format": "date-time"}}

Public = Annotated[Access, Depends(Permit("public"))]
SignedIn = Annotated[Access, Depends(Permit("signed-in"))]
ReadPosts = Annotated[Access, Depends(Permit("posts.read"))]
ReadTokens = Annotated[Access, Depends(Permit("tokens.read"))]
ManageTokens = Annotated[Access, Depends(Permit("tokens.manage"))]


class AuthorOut(BaseModel):
    native_id: str
    handle: str | None
    display_name: str | None
    url: str | None

    @classmethod
    def of(cls, author: Author) -> AuthorOut:
        return cls(
            native_id=author.native_id,
            handle=author.handle,
            display_name=author.display_name,
            url=author.url,
        )


class TopicSentimentOut(BaseModel):
    topic: str
    sentiment: str


class EnrichmentOut(BaseModel):
    """What a matched post was enriched with: the model's verdict and, where an analyst
    corrected it, the corrected one (``sentiment`` and ``intents`` are what counts)."""

    sentiment: str
    intents: list[str]
    model_sentiment: str
    model_score: float = Field(description="P(positive) - P(negative), in [-1, 1].")
    model_intents: list[str]
    corrections: int
    per_topic: list[TopicSentimentOut] = Field(
        description="Each topic's own verdict where the post names two or more brands, "
        "products or competitors (docs/listening.md, per-topic sentiment)."
    )

    @classmethod
    def of(cls, verdict: Verdict) -> EnrichmentOut:
        return cls(
            sentiment=verdict.shown_label,
            intents=verdict.shown_intents,
            model_sentiment=verdict.model_label,
            model_score=verdict.model_score,
            model_intents=verdict.model_intents,
            corrections=verdict.corrections,
            per_topic=[TopicSentimentOut(topic=t, sentiment=s) for t, s in verdict.per_topic],
        )


class PostOut(BaseModel):
    """A stored post; ``url`` is returned as stored, so clients must not trust its scheme.
    ``enrichment`` is set for posts a topic matched (null for the others)."""

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
    enrichment: EnrichmentOut | None = None

    @classmethod
    def of(cls, post: Post, author: Author, verdict: Verdict | None = None) -> PostOut:
        return cls(
            id=post.id,
            network=post.network,
            native_id=post.native_id,
            kind=post.kind,
            created_at=post.created_at,
            edited_at=post.edited_at,
            author=AuthorOut.of(author),
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
            enrichment=EnrichmentOut.of(verdict) if verdict is not None else None,
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
def health(session: SessionDep, _access: Public) -> Health | JSONResponse:
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
    access: ReadPosts,
    network: Annotated[str | None, Query(max_length=32)] = None,
    author: Annotated[str | None, Query(max_length=512, description="Handle or native id.")] = None,
    contains: Annotated[str | None, Query(max_length=500)] = None,
    since: Annotated[str | None, Query(description="Created at or after.", **TIME_QUERY)] = None,
    until: Annotated[str | None, Query(description="Created before.", **TIME_QUERY)] = None,
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
        read_network(session, access.ws.id, network)  # a mistyped network is said, not empty
        page = page_posts(session, query.post_filter(access.ws.id), query.limit, query.position())
    except FilterError as exc:
        return filter_problem(exc)
    next_cursor = page.next_cursor.encode() if page.next_cursor else None
    next_url = (
        f"{request.url.path}?{query.query_string(page.next_cursor)}" if page.next_cursor else None
    )
    found = verdicts(session, access.ws.id, [post.id for post, _ in page.rows])
    return PostList(
        items=[PostOut.of(post, writer, found.get(post.id)) for post, writer in page.rows],
        next_cursor=next_cursor,
        next=next_url,
    )


class WorkspaceRole(BaseModel):
    slug: str
    name: str
    role: Role


class Me(BaseModel):
    """The principal: a user (``email`` set) or an API token (``token`` set)."""

    email: str | None
    display_name: str | None
    token: str | None
    workspaces: list[WorkspaceRole]


@router.get("/me", response_model=Me)
def me(session: SessionDep, access: SignedIn) -> Me:
    """Who this request acts as, and its role in each workspace it can see."""
    principal = access.principal
    roles = []
    for workspace in principal.workspaces(session):
        role = principal.role_in(session, workspace.id)
        if role is not None:
            roles.append(WorkspaceRole(slug=workspace.slug, name=workspace.name, role=role))
    user = principal.user
    return Me(
        email=user.email if user else None,
        display_name=user.display_name if user else None,
        token=principal.token.name if principal.token else None,
        workspaces=roles,
    )


class TokenOut(BaseModel):
    """A token as listed: never its secret, only the first characters to recognise it by."""

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            role=Role(token.role),
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenIn(RequestBody):
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    role: Role


class TokenCreated(TokenOut):
    """The new token; ``token`` is shown this once and cannot be read again."""

    token: str


@router.get("/w/{slug}/tokens", response_model=list[TokenOut])
def api_tokens(session: SessionDep, access: ReadTokens) -> list[TokenOut]:
    """The workspace's API tokens, revoked ones included."""
    return [TokenOut.of(token) for token in list_tokens(session, access.ws.id)]


@router.post(
    "/w/{slug}/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=CONFLICT,  # the name is taken
)
def api_create_token(
    request: Request, body: TokenIn, access: ManageTokens
) -> TokenCreated | JSONResponse:
    """A new token with a role no higher than the caller's own."""
    try:
        with transaction(request.app.state.engine) as session:
            token, plaintext = create_token(
                session, access.ws.id, body.role, body.name, actor=access.principal.actor
            )
    except NameTaken as exc:
        return problem(409, str(exc))
    except AccountError as exc:
        return problem(403, str(exc))
    return TokenCreated(**TokenOut.of(token).model_dump(), token=plaintext)


@router.delete("/w/{slug}/tokens/{token_id}", status_code=204)
def api_revoke_token(request: Request, token_id: RowId, access: ManageTokens) -> Response:
    """Revoke a token of this workspace; requests with it fail from now on."""
    try:
        with transaction(request.app.state.engine) as session:
            revoke_token(session, access.ws.id, token_id, actor=access.principal.actor)
    except AccountError as exc:
        status = 404 if "no token" in str(exc) else 403
        return problem(status, str(exc))
    return Response(status_code=204)
