"""Request dependencies: one read session per request (access checks: :mod:`hubbub.web.auth`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hubbub.store.engine import make_engine, sqlite_file

T = TypeVar("T")


def loop_engine(engine: Engine) -> Engine | None:
    """The event loop's own engine, for reads run in the loop; ``None`` where reads stay in the
    thread pool.

    On a SQLite file a read is a C call in this process that costs less than the hop to a
    worker thread and back (and under load those hops queue for the GIL); WAL readers never
    wait for the writer. The loop gets a one-connection engine that only its thread uses, one
    read at a time, so it never waits for a connection: the shared pool's connections are
    handed back when requests end, on the loop, so a loop waiting for one could wait forever.
    A server database's round trips would stall the loop, and an in-memory database is one
    connection's own, so both keep their reads in the thread pool.
    """
    if sqlite_file(engine.url) is None:
        return None
    return make_engine(
        engine.url.render_as_string(hide_password=False), writer=False, connections=1
    )


async def read(
    request: Request,
    session: Session,
    work: Callable[[Session], T],
    *,
    budget: float | None = None,
) -> T:
    """``work(session)``, a database *read* (never a write: a write may wait for SQLite's
    lock): in the loop with a session of :func:`loop_engine`, closed before this returns (what
    it loaded stays readable, detached), else in a worker thread with the request's
    ``session``.

    With a ``budget`` (seconds of CPU) a read that may be long starts in the loop anyway:
    SQLite interrupts it when the budget is spent, and it runs again in a worker thread. Most such
    reads end in a few ms; the loop never waits longer than the budget for one that does not.
    """
    engine: Engine | None = request.app.state.loop_engine
    if engine is not None:
        with Session(engine, expire_on_commit=False) as own:
            if budget is None:
                return work(own)
            driver = own.connection().connection.dbapi_connection
            assert isinstance(driver, sqlite3.Connection)
            # CPU time of this thread, not wall time: waiting for the GIL (a worker thread's
            # turn) must not count, or each thread a read moved to would push more past budget.
            deadline = time.thread_time() + budget
            driver.set_progress_handler(lambda: time.thread_time() > deadline, PROGRESS_STEPS)
            try:
                return work(own)
            except OperationalError as exc:
                if "interrupted" not in str(exc.orig):
                    raise
            finally:
                driver.set_progress_handler(None, 0)
    return await run_in_threadpool(work, session)


#: SQLite virtual-machine steps between looks at a read's budget (tens of µs of work).
PROGRESS_STEPS = 20_000


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session a request, opened lazily; closed (its connection back to the pool) after
    the route: in the loop on SQLite, where closing never waits, else in a worker thread."""
    engine: Engine = request.app.state.engine
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if request.app.state.loop_engine is not None:
            session.close()
        else:
            await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]

#: The largest row id: beyond 64 bits no row exists, and SQLite refuses to compare.
MAX_ROW_ID = 2**63 - 1
#: A row id in a path.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
#: A row id to page before, in a query string.
BeforeId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]

#: No NUL characters in text the API stores: PostgreSQL text cannot hold them, so they are
#: refused up front (422) instead of failing in the database (500).
NO_NUL = r"^[^\x00]*$"


class RequestBody(BaseModel):
    """A JSON request body: a field it does not know is refused (422), not ignored, so a typo
    such as ``assignee`` for ``assignee_user_id`` cannot pass as "field left out"."""

    model_config = ConfigDict(extra="forbid")
