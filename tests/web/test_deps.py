"""Reads in the event loop (SQLite files): the loop's own connection, and a budget after which
a long read moves to a worker thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.requests import Request

from hubbub.settings import Settings
from hubbub.web.app import create_app
from hubbub.web.deps import read

pytestmark = pytest.mark.db

COUNT_TO_A_MILLION = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
    "SELECT count(*) FROM c"
)


def _request(app: FastAPI) -> Request:
    return Request({"type": "http", "app": app, "headers": [], "method": "GET", "path": "/"})


def test_reads_run_in_the_loop_on_its_own_connection_or_move_to_a_thread(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings, engine)
    loop_engine = app.state.loop_engine
    if engine.dialect.name != "sqlite":
        assert loop_engine is None  # every read in the thread pool
        return
    assert loop_engine is not None and loop_engine.pool.size() == 1
    runs: list[tuple[bool, str]] = []  # (on the loop's thread, engine url) per attempt

    def count(session: Session) -> int:
        loop_thread = threading.current_thread() is threading.main_thread()
        runs.append((loop_thread, "loop" if session.get_bind() is loop_engine else "request"))
        return int(session.execute(text(COUNT_TO_A_MILLION)).scalar_one())

    with Session(engine) as request_session:
        request = _request(app)
        assert asyncio.run(read(request, request_session, count)) == 1_000_000
        assert runs == [(True, "loop")]
        runs.clear()
        # Over budget: interrupted in the loop, then read again in a worker thread.
        assert asyncio.run(read(request, request_session, count, budget=0.0)) == 1_000_000
        assert runs == [(True, "loop"), (False, "request")]
        runs.clear()
        assert asyncio.run(read(request, request_session, count, budget=30.0)) == 1_000_000
        assert runs == [(True, "loop")]

        def broken(session: Session) -> int:
            return int(session.execute(text("SELECT * FROM no_such_table")).scalar_one())

        with pytest.raises(OperationalError, match="no_such_table"):  # not an interruption
            asyncio.run(read(request, request_session, broken, budget=30.0))
    loop_engine.dispose()
