"""SQLite's WAL is copied back into the database by a background thread, not by commits."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from hubbub.store.engine import WRITER_CHECKPOINT_PAGES, checkpointer_of, make_engine


def test_background_checkpoint_moves_committed_pages_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == WRITER_CHECKPOINT_PAGES
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (body) VALUES (:body)"), [{"body": "x" * 500}] * 2000)
    checkpointer = checkpointer_of(engine)
    assert checkpointer is not None
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert checkpointer.checkpoints > 0
    assert path.stat().st_size > 2000 * 500  # the rows are in the database file itself
    engine.dispose()
    assert not checkpointer.running


def test_memory_databases_have_no_checkpointer() -> None:
    assert checkpointer_of(make_engine("sqlite:///:memory:")) is None
