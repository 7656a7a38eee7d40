"""SQLite's WAL is copied back into the database by a background thread, not by commits."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from hubbub.store.engine import (
    WRITER_CHECKPOINT_PAGES,
    Checkpointer,
    checkpointer_of,
    make_engine,
    sqlite_pragmas,
)


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


def _writing(path: Path, seconds: float) -> sqlite3.Connection:
    """Commit small transactions for ``seconds``: a WAL that keeps growing.

    The connection stays open: closing the last one would checkpoint and remove the WAL.
    """
    connection = sqlite3.connect(path)
    sqlite_pragmas(connection)
    connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.execute("INSERT INTO t (body) VALUES (?)", ("x" * 2000,))
        connection.commit()
        time.sleep(0.002)
    return connection


def test_a_growing_wal_waits_for_its_size_or_for_the_writer_to_pause(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    engine = create_engine(f"sqlite:///{path}")  # no checkpointer of its own
    patient = Checkpointer(engine, str(path), interval=0.05, wal_bytes=1 << 40)
    writer = _writing(path, 1.0)
    assert patient.checkpoints == 0  # never while the writer is busy and the WAL is small
    deadline = time.monotonic() + 5
    while patient.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert patient.checkpoints > 0  # the writer paused
    patient.stop()

    eager = Checkpointer(engine, str(path), interval=0.05, wal_bytes=64 * 1024)
    _writing(path, 1.0).close()
    assert eager.checkpoints > 0  # past its size, even while the writer is busy
    eager.stop()
    writer.close()
    engine.dispose()


def test_a_reading_process_starts_no_checkpointer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}", writer=False)
    assert checkpointer_of(engine) is None
    engine.dispose()
