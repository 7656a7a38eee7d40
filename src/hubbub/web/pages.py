"""Server-rendered pages: posts with filters, dead letters (sources: web/sources.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hubbub.accounts.permissions import PERMISSIONS, allows
from hubbub.listening.corrections.queries import correction_form_context
from hubbub.posts.queries import count_posts
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import BeforeId, RowId, SessionDep
from hubbub.web.filters import PAGE_SIZES, FilterError, PostQuery, read_network
from hubbub.web.queries import (
    dead_letter_counts,
    get_dead_letter,
    list_dead_letters,
    page_posts,
)
from hubbub.web.render import payload_text, templates

router = APIRouter(include_in_schema=False)

DEAD_LETTERS_PER_PAGE = 50

SignedIn = Annotated[Access, Depends(Permit("signed-in"))]
ReadPosts = Annotated[Access, Depends(Permit("posts.read"))]
ReadDeadLetters = Annotated[Access, Depends(Permit("deadletters.read"))]


def render(
    request: Request,
    session: SessionDep,
    access: Access,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """A page with the navigation of the principal's own workspaces (never anyone else's)."""
    base = {
        "workspace": access.workspace,
        "workspaces": access.principal.workspaces(session),
        "role": access.role,
        "can": lambda permission: allows(PERMISSIONS[permission], access.role),
        "tab": name,
    }
    return templates.TemplateResponse(
        request, f"{name}.html", {**base, **context}, status_code=status_code
    )


@router.get("/")
def home(request: Request, session: SessionDep, access: SignedIn) -> Response:
    """The first of the principal's workspaces; with none, how to get one."""
    workspaces = access.principal.workspaces(session)
    if workspaces:
        return RedirectResponse(f"/w/{workspaces[0].slug}/posts", status_code=303)
    return render(request, session, access, "empty", {})


@router.get("/w/{slug}")
def workspace_home(access: ReadPosts) -> Response:
    return RedirectResponse(f"/w/{access.ws.slug}/posts", status_code=303)


@router.get("/w/{slug}/posts")
def posts(
    request: Request,
    session: SessionDep,
    access: ReadPosts,
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
    workspace = access.ws
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
        read_network(session, workspace.id, network)  # a mistyped network is said, not empty
        post_filter = query.post_filter(workspace.id)
        page = page_posts(session, post_filter, query.limit, query.position())
    except FilterError as exc:
        return render(
            request,
            session,
            access,
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
    return render(
        request,
        session,
        access,
        "posts",
        {
            "form": form,
            "page_sizes": PAGE_SIZES,
            "error": None,
            "rows": page.rows,
            "total": count_posts(session, post_filter),
            "next_query": query.query_string(page.next_cursor) if page.next_cursor else None,
            "first_query": query.query_string() if query.cursor else None,
            **correction_form_context(session, workspace.id, [p.id for p, _ in page.rows]),
        },
    )


@router.get("/w/{slug}/deadletters")
def deadletters(
    request: Request,
    session: SessionDep,
    access: ReadDeadLetters,
    before: BeforeId = None,
    reason: str | None = None,
) -> Response:
    """Counts by reason, then the newest letters; ``before`` pages back by id."""
    workspace = access.ws
    letters = list_dead_letters(
        session, workspace.id, DEAD_LETTERS_PER_PAGE + 1, before, reason or None
    )
    more = len(letters) > DEAD_LETTERS_PER_PAGE
    letters = letters[:DEAD_LETTERS_PER_PAGE]
    return render(
        request,
        session,
        access,
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
    request: Request, session: SessionDep, access: ReadDeadLetters, letter_id: RowId
) -> Response:
    workspace = access.ws
    letter = get_dead_letter(session, workspace.id, letter_id)
    if letter is None:
        raise HTTPException(404, f"no dead letter {letter_id} in workspace {workspace.slug!r}")
    text, cut = payload_text(letter.payload)
    return render(
        request,
        session,
        access,
        "deadletter",
        {"letter": letter, "payload": text, "preview_cut": cut},
    )
