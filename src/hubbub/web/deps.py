"""Request dependencies: one read session per request (access checks: :mod:`hubbub.web.auth`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


def reads_inline(engine: Engine) -> bool:
    """Whether short reads run in the event loop: on SQLite a query is a C call in this process
    that costs less than the hop to a worker thread and back (and under load those hops queue
    for the GIL); a server database's round trips would stall the loop, so they stay in the
    thread pool. WAL readers never wait for the writer, so an inline read cannot block."""
    return engine.dialect.name == "sqlite"


async def read(request: Request, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a short database *read* (never a write: a write may wait for SQLite's lock) where
    :func:`reads_inline` says."""
    if request.app.state.reads_inline:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session a request, opened lazily; closed (its connection back to the pool) after
    the route, where :func:`read` says."""
    engine: Engine = request.app.state.engine
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        await read(request, session.close)


SessionDep = Annotated[Session, Depends(get_session)]

#: A row id in a path: beyond 64 bits no row exists, and the database refuses to compare.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
#: A row id to page before, in a query string; bounded for the same reason.
BeforeId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]

#: No NUL characters in text the API stores: PostgreSQL text cannot hold them, so they are
#: refused up front (422) instead of failing in the database (500).
NO_NUL = r"^[^\x00]*$"
