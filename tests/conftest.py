"""Fixtures shared by the whole suite.

Database tests run against the backend named by ``HUBBUB_TEST_DATABASE`` (``sqlite``, the
default, or ``postgresql``); the test command runs the ``db``-marked tests on both.
"""

from __future__ import annotations

import graphlib
import os

# Rich reads the terminal width once, when a console is made; tables in CLI tests must not wrap.
os.environ.setdefault("COLUMNS", "250")
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from hubbub.migrations import upgrade
from hubbub.runtime import load_connectors
from hubbub.settings import Settings
from hubbub.store.engine import make_engine, transaction
from hubbub.workspaces.actions import ensure_workspace

BACKEND = os.environ.get("HUBBUB_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "HUBBUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

load_connectors()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"engine", "db_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """Settings that may reach this machine's own test servers (127.0.0.1 only)."""
    return Settings(home=tmp_path / "home", allowed_private_hosts=["127.0.0.1", "localhost"])


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database created once per test process."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"HUBBUB_TEST_DATABASE={BACKEND!r} is neither sqlite nor postgresql")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"hubbub_test_{worker}_{os.getpid()}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(_database_template: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated database of the backend under test."""
    if BACKEND == "sqlite":
        path = tmp_path / "hubbub.db"
        shutil.copyfile(_database_template, path)
        yield f"sqlite:///{path}"
        return
    engine = create_engine(_database_template)
    with engine.begin() as conn:
        _empty_postgres(conn)
    engine.dispose()
    yield _database_template


#: Rows left by a test above which emptying the tables with TRUNCATE is the cheaper way.
FEW_ROWS = 2_000


def _empty_postgres(conn: Connection) -> None:
    """Empty every table and restart every sequence, as ``TRUNCATE … RESTART IDENTITY`` would.

    TRUNCATE costs a few milliseconds a table even when the table is empty (new files for it
    and its indexes), and most tests leave a few rows in a few of the ~60 tables: those rows
    are deleted instead, children before parents, unless there are many of them.
    """
    order = _children_first(conn)
    probe = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM (SELECT FROM {table} LIMIT {FEW_ROWS + 1}) AS held"
        for table in order
    )
    rows: dict[str, int] = dict(conn.execute(text(probe)).all())
    if sum(rows.values()) > FEW_ROWS:
        conn.execute(text(f"TRUNCATE {', '.join(order)} RESTART IDENTITY"))
        return
    for table in order:
        if rows[table]:
            conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(
        text(
            "SELECT setval(c.oid, s.seqstart, false) FROM pg_class c"
            " JOIN pg_sequence s ON s.seqrelid = c.oid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        )
    )


def _children_first(conn: Connection) -> list[str]:
    """The store's tables, each one before the tables its foreign keys point to."""
    tables = conn.scalars(
        text(
            "SELECT quote_ident(tablename) FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename != 'alembic_version'"
        )
    ).all()
    parents_of: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in conn.execute(
        text(
            "SELECT quote_ident(c.relname), quote_ident(p.relname) FROM pg_constraint k"
            " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
            " WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace"
        )
    ):
        if child != parent:
            parents_of[parent].add(child)  # a parent waits for its children
    return list(graphlib.TopologicalSorter(parents_of).static_order())


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        allowed_private_hosts=["127.0.0.1", "localhost"],
        # A local stand-in server answers in ~0.1 s, but a loaded CI machine once took over the
        # 3 s default; tests of the timeout itself set their own.
        mastodon_limits_timeout_seconds=30.0,
    )


@pytest.fixture
def workspace_id(engine: Engine) -> int:
    with transaction(engine) as session:
        return ensure_workspace(session, "acme", "Acme Inc.").id
