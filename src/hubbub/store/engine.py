"""Engine and session factory for SQLite (embedded, WAL) and PostgreSQL (production)."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from hubbub.settings import Settings


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """The pragmas of every SQLite connection Hubbub opens (also given to the bench baseline)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-65536")
    # Checkpoints run off the write path (see Checkpointer); a writer only checkpoints itself
    # when the WAL grows past this many pages (~400 MB), e.g. if no checkpointer is running.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
    # A reset WAL shrinks back to this, so the checkpointer can tell a big WAL from a used one.
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cursor.close()


class Checkpointer:
    """Copies the WAL back into a SQLite database from a background thread.

    SQLite's automatic checkpoint runs inside the commit that crosses the threshold, so one
    writer transaction in a few pays for copying thousands of pages. Here a daemon thread with
    its own connection runs a PASSIVE checkpoint (it never blocks readers or the writer); the
    sqlite3 module releases the GIL while it runs, so the copy uses another core. One per
    engine; it stops when the engine is disposed.

    It looks at the WAL every ``interval`` seconds and checkpoints when the WAL has reached
    ``wal_bytes`` or has stopped growing (the writer is idle). Checkpointing on a timer instead
    copied the same hot index pages again every half second: under a steady import that cost
    the writer's process ~22 µs of CPU per event, a third of its work.
    """

    def __init__(
        self,
        engine: Engine,
        path: str,
        interval: float = 0.5,
        wal_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._engine = weakref.ref(engine)  # an engine dropped without dispose() stops it too
        self.path = path
        self.interval = interval
        self.wal_bytes = wal_bytes
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        wal = Path(self.path + "-wal")
        last_change = -1
        try:
            while not self._stop.wait(self.interval) and self._engine() is not None:
                try:
                    stat = wal.stat()
                    size, changed = stat.st_size, stat.st_mtime_ns
                except OSError:
                    size, changed = 0, 0
                growing, last_change = changed != last_change, changed
                if size == 0 or (growing and size < self.wal_bytes):
                    continue
                if connection is None:
                    if not Path(self.path).exists():
                        continue
                    connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                    connection.execute("PRAGMA busy_timeout=30000")
                try:
                    busy, frames, _done = connection.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)"
                    ).fetchone()
                except sqlite3.Error:
                    continue  # e.g. the file was removed under us; the writer's fallback holds
                if frames > 0 and not busy:
                    self.checkpoints += 1
        finally:
            if connection is not None:
                connection.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


WRITER_CHECKPOINT_PAGES = 100_000
WAL_SIZE_LIMIT = 4 * 1024 * 1024
_checkpointers: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def checkpointer_of(engine: Engine) -> Checkpointer | None:
    """The background checkpointer of a SQLite file engine (None for other engines)."""
    return _checkpointers.get(engine)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlite_file(url: str | URL) -> str | None:
    """The path of the SQLite file ``url`` names; None for another backend or an in-memory
    database (whose one connection owns it)."""
    parsed = make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:"):
        return None
    return None if "mode=memory" in str(parsed) else path


def make_engine(url: str, *, writer: bool = True, connections: int | None = None) -> Engine:
    """An engine tuned for the backend; SQLite gets WAL so readers never block the writer.

    JSON columns are encoded with orjson: they are on the ingest hot path (five per post).
    ``writer=False`` (a process that only reads, like the ingest prepare worker) starts no
    checkpointer of its own: the writing process's one keeps the WAL in check.
    ``connections`` caps a SQLite file's pool (default: SQLAlchemy's 5 + 10 overflow).
    """
    if url.startswith("sqlite"):
        path = sqlite_file(url) or ""
        on_disk = bool(path)
        if on_disk and writer:  # a reader opens what a writer made
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30},
            # A file's pool hands out the most recently used connection, whose page cache is
            # the warm one (an in-memory database has a single connection).
            **({"pool_use_lifo": True} if on_disk else {}),
            **(
                {"pool_size": connections, "max_overflow": 0}
                if on_disk and connections is not None
                else {}
            ),
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        event.listen(engine, "connect", sqlite_pragmas)
        if writer and on_disk:
            checkpointer = Checkpointer(engine, path)
            _checkpointers[engine] = checkpointer
            event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())
        return engine
    return create_engine(
        url, pool_pre_ping=True, json_serializer=_json_dumps, json_deserializer=orjson.loads
    )


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.effective_database_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
