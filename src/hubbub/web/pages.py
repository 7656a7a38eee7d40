"""Server-rendered pages: posts with filters, sources with their health, dead letters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hubbub.posts.queries import count_posts
from hubbub.web.deps import SessionDep, WorkspaceDep
from hubbub.web.filters import PAGE_SIZES, FilterError, PostQuery
from hubbub.web.queries import (
    dead_letter_counts,
    get_dead_letter,
    list_dead_letters,
    list_sources,
    list_workspaces,
    page_posts,
)
from hubbub.web.render import payload_text, templates
from hubbub.workspaces.models import Workspace

router = APIRouter(include_in_schema=False)

DEAD_LETTERS_PER_PAGE = 50


def _page(
    request: Request,
    session: SessionDep,
    workspace: Workspace | None,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    base = {"workspace": workspace, "workspaces": list_workspaces(session), "tab": name}
    return templates.TemplateResponse(
        request, f"{name}.html", {**base, **context}, status_code=status_code
    )


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    """The first workspace's posts; with no workspace yet, how to make one."""
    workspaces = list_workspaces(session)
    if workspaces:
        return RedirectResponse(f"/w/{workspaces[0].slug}/posts", status_code=303)
    return _page(request, session, None, "empty", {})


@router.get("/w/{slug}")
def workspace_home(workspace: WorkspaceDep) -> Response:
    return RedirectResponse(f"/w/{workspace.slug}/posts", status_code=303)


@router.get("/w/{slug}/posts")
def posts(
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    network: str | None = None,
    author: str | None = None,
    contains: str | None = None,
    since: str | None = None,
    until: str | None = None,
    deleted: str | None = None,
    unique: str | None = None,
    limit: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Newest posts first; filters are a GET form so every view is a link that can be shared."""
    form = {
        "network": network or "",
        "author": author or "",
        "contains": contains or "",
        "since": since or "",
        "until": until or "",
        "deleted": bool(deleted),
        "unique": bool(unique),
        "limit": limit or "",
    }
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
        post_filter = query.post_filter(workspace.id)
        page = page_posts(session, post_filter, query.limit, query.position())
    except FilterError as exc:
        return _page(
            request,
            session,
            workspace,
            "posts",
            {
                "form": form,
                "page_sizes": PAGE_SIZES,
                "error": exc,
                "rows": [],
                "total": 0,
                "next_query": None,
                "first_query": None,
            },
            status_code=400,
        )
    form.update(limit=str(query.limit), deleted=query.deleted, unique=query.unique)
    return _page(
        request,
        session,
        workspace,
        "posts",
        {
            "form": form,
            "page_sizes": PAGE_SIZES,
            "error": None,
            "rows": page.rows,
            "total": count_posts(session, post_filter),
            "next_query": query.query_string(page.next_cursor) if page.next_cursor else None,
            "first_query": query.query_string() if query.cursor else None,
        },
    )


@router.get("/w/{slug}/sources")
def sources(request: Request, session: SessionDep, workspace: WorkspaceDep) -> Response:
    return _page(
        request, session, workspace, "sources", {"sources": list_sources(session, workspace.id)}
    )


@router.get("/w/{slug}/deadletters")
def deadletters(
    request: Request,
    session: SessionDep,
    workspace: WorkspaceDep,
    before: int | None = None,
    reason: str | None = None,
) -> Response:
    """Counts by reason, then the newest letters; ``before`` pages back by id."""
    letters = list_dead_letters(
        session, workspace.id, DEAD_LETTERS_PER_PAGE + 1, before, reason or None
    )
    more = len(letters) > DEAD_LETTERS_PER_PAGE
    letters = letters[:DEAD_LETTERS_PER_PAGE]
    return _page(
        request,
        session,
        workspace,
        "deadletters",
        {
            "counts": dead_letter_counts(session, workspace.id),
            "letters": letters,
            "reason": reason or "",
            "paged": before is not None,
            "older": letters[-1].id if more else None,
        },
    )


@router.get("/w/{slug}/deadletters/{letter_id}")
def deadletter(
    request: Request, session: SessionDep, workspace: WorkspaceDep, letter_id: int
) -> Response:
    letter = get_dead_letter(session, workspace.id, letter_id)
    if letter is None:
        raise HTTPException(404, f"no dead letter {letter_id} in workspace {workspace.slug!r}")
    text, cut = payload_text(letter.payload)
    return _page(
        request,
        session,
        workspace,
        "deadletter",
        {"letter": letter, "payload": text, "preview_cut": cut},
    )
