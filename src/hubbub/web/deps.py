"""Request dependencies: one read session per request and the workspace named in the path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.web.queries import workspace_by_slug
from hubbub.workspaces.models import Workspace


def get_session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_workspace(slug: str, session: SessionDep) -> Workspace:
    """The workspace of ``/w/{slug}/…``; an unknown slug is a 404, never another workspace."""
    workspace = workspace_by_slug(session, slug)
    if workspace is None:
        raise HTTPException(status_code=404, detail=f"no workspace {slug!r}")
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
