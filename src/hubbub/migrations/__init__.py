"""Alembic migrations: one linear, named history; `hubbub init` applies them."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from hubbub.store.engine import sqlite_file

HERE = Path(__file__).resolve().parent
#: Any fixed 64-bit key: the PostgreSQL advisory lock that one migrating process holds.
MIGRATION_LOCK_KEY = 0x6875_6262_7562_6D31  # "hubbubm1"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to ``engine``; no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``; processes starting together take turns, and the later ones
    find the schema already there (without the lock, two ``serve`` workers on an empty store
    both ran the first migration and one died on "table already exists")."""
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """An advisory lock on PostgreSQL; on a SQLite file, an flock on a file beside it (SQLite
    runs DDL outside a transaction here, so its own locks do not serialise a migration)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()  # the lock belongs to the session, not to this transaction
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                conn.commit()
        return
    database = sqlite_file(engine.url)
    if database is None:
        yield
        return
    lock_path = Path(f"{database}-migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
