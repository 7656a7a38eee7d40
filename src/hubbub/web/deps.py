"""Request dependencies: one read session per request (access checks: :mod:`hubbub.web.auth`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

#: A row id in a path: beyond 64 bits no row exists, and the database refuses to compare.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
#: A row id to page before, in a query string; bounded for the same reason.
BeforeId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]

#: No NUL characters in text the API stores: PostgreSQL text cannot hold them, so they are
#: refused up front (422) instead of failing in the database (500).
NO_NUL = r"^[^\x00]*$"
